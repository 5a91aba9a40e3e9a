package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newUpCmd is a placeholder until the command is implemented.
func newUpCmd() *cobra.Command {
	return &cobra.Command{Use: "up", Short: "(not implemented yet)", RunE: func(*cobra.Command, []string) error {
		return errors.New("up: not implemented yet")
	}}
}
