package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newListCmd is a placeholder until the command is implemented.
func newListCmd() *cobra.Command {
	return &cobra.Command{Use: "list", Short: "(not implemented yet)", RunE: func(*cobra.Command, []string) error {
		return errors.New("list: not implemented yet")
	}}
}
