package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

// newScaleCmd sets a function's desired replicas.
func newScaleCmd() *cobra.Command {
	o := &gatewayOpts{}
	var replicas int
	cmd := &cobra.Command{
		Use:   "scale NAME --replicas N",
		Short: "Set the number of replicas of a function",
		Long: `Set a function's desired replicas. 0 is valid: the function then scales up
again on its next call. Values above com.openfaas.scale.max are clamped by the gateway.`,
		Example: `  fjord scale hello --replicas 3
  fjord scale hello --replicas 0 -n staging`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("replicas") || replicas < 0 {
				return fmt.Errorf("--replicas N (N >= 0) is required")
			}
			c, err := o.clientFromOptionalStack(cmd)
			if err != nil {
				return err
			}
			if err := c.Scale(cmd.Context(), args[0], o.namespace, uint64(replicas)); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Scaled %s to %d replica(s).\n", args[0], replicas)
			return nil
		},
	}
	o.addGatewayFlags(cmd)
	cmd.Flags().IntVarP(&replicas, "replicas", "r", 0, "desired number of replicas")
	return cmd
}
