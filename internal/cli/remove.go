package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fjord-faas/fjord/internal/client"
)

type removeOpts struct {
	stackOpts
}

// newRemoveCmd deletes functions named on the command line or listed in the stack.
func newRemoveCmd() *cobra.Command {
	o := &removeOpts{}
	cmd := &cobra.Command{
		Use:     "remove [NAME...]",
		Aliases: []string{"rm", "delete"},
		Short:   "Remove functions",
		Long:    "Remove the named functions, or, without names, every function of the stack file.",
		Example: `  fjord remove hello
  fjord rm -f stack.yml
  fjord rm -f stack.yml --filter 'api-*'`,
		RunE: o.run,
	}
	o.addGatewayFlags(cmd)
	o.addFilterFlags(cmd)
	return cmd
}

type target struct{ name, namespace string }

func (o *removeOpts) run(cmd *cobra.Command, args []string) error {
	st, err := o.loadStack(len(args) == 0 || o.yaml != "")
	if err != nil {
		return err
	}
	var targets []target
	if len(args) > 0 {
		for _, a := range args {
			targets = append(targets, target{a, o.namespace})
		}
	} else {
		fns, err := st.Select(o.filter, o.regex)
		if err != nil {
			return err
		}
		for _, f := range fns {
			ns := f.Namespace
			if o.namespace != "" {
				ns = o.namespace
			}
			targets = append(targets, target{f.Name, ns})
		}
	}
	c, err := o.client(cmd, st)
	if err != nil {
		return err
	}
	var errs []error
	for _, t := range targets {
		fmt.Fprintf(cmd.ErrOrStderr(), "Deleting: %s.\n", t.name)
		err := c.Remove(cmd.Context(), t.name, t.namespace)
		switch {
		case client.StatusCode(err) == 404:
			errs = append(errs, fmt.Errorf("function %s not found", t.name))
		case err != nil:
			errs = append(errs, err)
		default:
			fmt.Fprintf(cmd.OutOrStdout(), "Removed: %s\n", t.name)
		}
	}
	return errors.Join(errs...)
}
