package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newNewCmd is a placeholder until the command is implemented.
func newNewCmd() *cobra.Command {
	return &cobra.Command{Use: "new", Short: "(not implemented yet)", RunE: func(*cobra.Command, []string) error {
		return errors.New("new: not implemented yet")
	}}
}
