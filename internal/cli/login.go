package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newLoginCmd is a placeholder until the command is implemented.
func newLoginCmd() *cobra.Command {
	return &cobra.Command{Use: "login", Short: "(not implemented yet)", RunE: func(*cobra.Command, []string) error {
		return errors.New("login: not implemented yet")
	}}
}
