package cli

import (
	"github.com/spf13/cobra"
)

type upOpts struct {
	pushOpts
	buildFlags
	deployFlags
	skipPush, skipDeploy bool
}

// newUpCmd builds, pushes and deploys the functions of a stack.
func newUpCmd() *cobra.Command {
	o := &upOpts{}
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Build, push and deploy the functions of a stack file",
		Long:  "Run build, push and deploy in turn for every function of the stack file.",
		Example: `  fjord up
  fjord up -f stack.yml --filter hello
  fjord up --skip-push --env LOG=debug`,
		Args: cobra.NoArgs,
		RunE: o.run,
	}
	o.addGatewayFlags(cmd)
	o.addFilterFlags(cmd)
	o.buildFlags.add(cmd)
	o.deployFlags.add(cmd, false)
	cmd.Flags().BoolVar(&o.skipPush, "skip-push", false, "do not push the images")
	cmd.Flags().BoolVar(&o.skipDeploy, "skip-deploy", false, "do not deploy the functions")
	return cmd
}

func (o *upOpts) run(cmd *cobra.Command, _ []string) error {
	st, err := o.loadStack(true)
	if err != nil {
		return err
	}
	fns, err := st.Select(o.filter, o.regex)
	if err != nil {
		return err
	}
	if err := buildFunctions(cmd, st, fns, o.buildFlags); err != nil {
		return err
	}
	if !o.skipPush {
		if err := o.pushFunctions(cmd, st, fns); err != nil {
			return err
		}
	}
	if o.skipDeploy {
		return nil
	}
	specs, err := o.deployFlags.stackSpecs(cmd, fns, o.namespace)
	if err != nil {
		return err
	}
	c, err := o.client(cmd, st)
	if err != nil {
		return err
	}
	return deploySpecs(cmd, c, specs, o.deployFlags)
}
