package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newDeployCmd is a placeholder until the command is implemented.
func newDeployCmd() *cobra.Command {
	return &cobra.Command{Use: "deploy", Short: "(not implemented yet)", RunE: func(*cobra.Command, []string) error {
		return errors.New("deploy: not implemented yet")
	}}
}
