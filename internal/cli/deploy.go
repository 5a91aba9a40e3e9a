package cli

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/spf13/cobra"

	"github.com/fjord-faas/fjord/internal/api"
	"github.com/fjord-faas/fjord/internal/client"
)

// stackOpts are the flags of commands that work on the functions of a stack.
type stackOpts struct {
	gatewayOpts
	filter, regex string
}

func (o *stackOpts) addFilterFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.filter, "filter", "", "only functions whose name matches this glob")
	cmd.Flags().StringVar(&o.regex, "regex", "", "only functions whose name matches this regular expression")
}

type deployOpts struct {
	stackOpts
	deployFlags
}

// newDeployCmd deploys the functions of a stack, or one image given by flags.
func newDeployCmd() *cobra.Command {
	o := &deployOpts{}
	cmd := &cobra.Command{
		Use:   "deploy",
		Short: "Deploy functions from a stack file or an image",
		Long: `Deploy every function of the stack file (PUT, then POST when the function is
new), or a single image with --image and --name. Environment merges as
environment < environment_file < --env; --label, --annotation and --secret add to
the stack's; -n overrides the stack's namespace.`,
		Example: `  fjord deploy
  fjord deploy -f stack.yml --filter 'api-*' --env LOG=debug
  fjord deploy --image ghcr.io/acme/hello:1.2 --name hello --fprocess 'python3 index.py'
  fjord deploy --replace -n staging`,
		Args: cobra.NoArgs,
		RunE: o.run,
	}
	o.addGatewayFlags(cmd)
	o.addFilterFlags(cmd)
	o.deployFlags.add(cmd, true)
	return cmd
}

func (o *deployOpts) run(cmd *cobra.Command, _ []string) error {
	st, err := o.loadStack(o.image == "" || o.yaml != "")
	if err != nil {
		return err
	}
	var specs []api.FunctionDeployment
	if o.image != "" {
		spec, err := o.deployFlags.imageSpec(o.namespace)
		if err != nil {
			return err
		}
		specs = append(specs, spec)
	} else {
		fns, err := st.Select(o.filter, o.regex)
		if err != nil {
			return err
		}
		if specs, err = o.deployFlags.stackSpecs(cmd, fns, o.namespace); err != nil {
			return err
		}
	}
	c, err := o.client(cmd, st)
	if err != nil {
		return err
	}
	return deploySpecs(cmd, c, specs, o.deployFlags)
}

// deploySpecs deploys each spec, printing faas-cli's lines, and joins the failures.
func deploySpecs(cmd *cobra.Command, c *client.Client, specs []api.FunctionDeployment, f deployFlags) error {
	if len(specs) == 0 {
		return errors.New("no functions to deploy")
	}
	out := cmd.OutOrStdout()
	var errs []error
	for _, spec := range specs {
		fmt.Fprintf(cmd.ErrOrStderr(), "Deploying: %s.\n", spec.Service)
		code, err := c.Deploy(cmd.Context(), spec, client.DeployOptions{Replace: f.replace, NoUpdate: !f.update})
		if err != nil {
			errs = append(errs, err)
			fmt.Fprintf(cmd.ErrOrStderr(), "Failed: %s.\n", spec.Service)
			continue
		}
		fmt.Fprintf(out, "Deployed. %d %s.\n", code, http.StatusText(code))
		fmt.Fprintf(out, "URL: %s\n\n", functionURL(c.Gateway(), spec.Service, spec.Namespace))
	}
	if len(errs) > 0 {
		return fmt.Errorf("deploy: %d of %d function(s) failed: %w", len(errs), len(specs), errors.Join(errs...))
	}
	return nil
}
