package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newPushCmd is a placeholder until the command is implemented.
func newPushCmd() *cobra.Command {
	return &cobra.Command{Use: "push", Short: "(not implemented yet)", RunE: func(*cobra.Command, []string) error {
		return errors.New("push: not implemented yet")
	}}
}
