package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newSecretCmd is a placeholder until the command is implemented.
func newSecretCmd() *cobra.Command {
	return &cobra.Command{Use: "secret", Short: "(not implemented yet)", RunE: func(*cobra.Command, []string) error {
		return errors.New("secret: not implemented yet")
	}}
}
