package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newVersionCmd is a placeholder until the command is implemented.
func newVersionCmd() *cobra.Command {
	return &cobra.Command{Use: "version", Short: "(not implemented yet)", RunE: func(*cobra.Command, []string) error {
		return errors.New("version: not implemented yet")
	}}
}
