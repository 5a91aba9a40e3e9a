package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fjord-faas/fjord/internal/version"
)

// newVersionCmd prints the client's version and, if reachable, the gateway's.
func newVersionCmd() *cobra.Command {
	o := &gatewayOpts{}
	var short bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the client and gateway versions",
		Example: `  fjord version
  fjord version --short-version
  fjord version -g http://10.0.0.5:8080`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := version.Get()
			out := cmd.OutOrStdout()
			if short {
				fmt.Fprintln(out, v.Release)
				return nil
			}
			fmt.Fprintf(out, "CLI:\n commit:  %s\n version: %s\n", v.SHA, v.Release)
			c, err := o.clientFromOptionalStack(cmd)
			if err != nil {
				return err
			}
			info, err := c.Info(cmd.Context())
			if err != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "gateway %s: %v\n", c.Gateway(), err)
				return nil
			}
			fmt.Fprintf(out, "\nGateway\n uri:     %s\n", c.Gateway())
			if info.Version != nil {
				fmt.Fprintf(out, " version: %s\n sha:     %s\n", info.Version.Release, info.Version.SHA)
			}
			if p := info.Provider; p != nil {
				fmt.Fprintf(out, "\nProvider\n name:          %s\n orchestration: %s\n", p.Name, p.Orchestration)
				if p.Version != nil {
					fmt.Fprintf(out, " version:       %s\n sha:           %s\n", p.Version.Release, p.Version.SHA)
				}
			}
			if info.Arch != "" {
				fmt.Fprintf(out, " arch:          %s\n", info.Arch)
			}
			return nil
		},
	}
	o.addGatewayFlags(cmd)
	cmd.Flags().BoolVar(&short, "short-version", false, "only print the client's release")
	return cmd
}
