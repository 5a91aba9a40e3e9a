package cli

import (
	"encoding/json"
	"fmt"
	"sort"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/fjord-faas/fjord/internal/api"
)

type listOpts struct {
	gatewayOpts
	verbose, quiet, json bool
	sort                 string
}

// newListCmd lists the deployed functions of a namespace.
func newListCmd() *cobra.Command {
	o := &listOpts{}
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List deployed functions",
		Long:    "List the functions deployed in a namespace, with their invocation counts and replicas.",
		Example: `  fjord list
  fjord ls -v -n staging
  fjord list -q | xargs -n1 fjord describe
  fjord list --json --gateway http://10.0.0.5:8080`,
		Args: cobra.NoArgs,
		RunE: o.run,
	}
	o.addGatewayFlags(cmd)
	f := cmd.Flags()
	f.BoolVarP(&o.verbose, "verbose", "v", false, "also show the image and available replicas")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "only print the function names")
	f.BoolVar(&o.json, "json", false, "print the gateway's JSON")
	f.StringVar(&o.sort, "sort", "name", "sort by name, invocations or creation")
	return cmd
}

func (o *listOpts) run(cmd *cobra.Command, _ []string) error {
	c, err := o.clientFromOptionalStack(cmd)
	if err != nil {
		return err
	}
	fns, err := c.List(cmd.Context(), o.namespace)
	if err != nil {
		return err
	}
	if err := sortFunctions(fns, o.sort); err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	switch {
	case o.json:
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(fns)
	case o.quiet:
		for _, f := range fns {
			fmt.Fprintln(out, f.Name)
		}
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 0, 3, ' ', 0)
	if o.verbose {
		fmt.Fprintln(tw, "Function\tImage\tInvocations\tReplicas\tAvailable\tCreated")
		for _, f := range fns {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\n", f.Name, f.Image, int64(f.InvocationCount),
				f.Replicas, f.AvailableReplicas, f.CreatedAt.Format("2006-01-02 15:04:05"))
		}
	} else {
		fmt.Fprintln(tw, "Function\tInvocations\tReplicas")
		for _, f := range fns {
			fmt.Fprintf(tw, "%s\t%d\t%d\n", f.Name, int64(f.InvocationCount), f.Replicas)
		}
	}
	return tw.Flush()
}

func sortFunctions(fns []api.FunctionStatus, by string) error {
	var less func(a, b api.FunctionStatus) bool
	switch by {
	case "", "name":
		less = func(a, b api.FunctionStatus) bool { return a.Name < b.Name }
	case "invocations":
		less = func(a, b api.FunctionStatus) bool { return a.InvocationCount > b.InvocationCount }
	case "creation":
		less = func(a, b api.FunctionStatus) bool { return a.CreatedAt.Before(b.CreatedAt) }
	default:
		return fmt.Errorf("--sort %q: want name, invocations or creation", by)
	}
	sort.SliceStable(fns, func(i, j int) bool { return less(fns[i], fns[j]) })
	return nil
}
