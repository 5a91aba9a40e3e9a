package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newInvokeCmd is a placeholder until the command is implemented.
func newInvokeCmd() *cobra.Command {
	return &cobra.Command{Use: "invoke", Short: "(not implemented yet)", RunE: func(*cobra.Command, []string) error {
		return errors.New("invoke: not implemented yet")
	}}
}
