package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newServeCmd is a placeholder until the command is implemented.
func newServeCmd() *cobra.Command {
	return &cobra.Command{Use: "serve", Short: "(not implemented yet)", RunE: func(*cobra.Command, []string) error {
		return errors.New("serve: not implemented yet")
	}}
}
