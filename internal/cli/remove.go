package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newRemoveCmd is a placeholder until the command is implemented.
func newRemoveCmd() *cobra.Command {
	return &cobra.Command{Use: "remove", Short: "(not implemented yet)", RunE: func(*cobra.Command, []string) error {
		return errors.New("remove: not implemented yet")
	}}
}
