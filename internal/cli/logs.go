package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newLogsCmd is a placeholder until the command is implemented.
func newLogsCmd() *cobra.Command {
	return &cobra.Command{Use: "logs", Short: "(not implemented yet)", RunE: func(*cobra.Command, []string) error {
		return errors.New("logs: not implemented yet")
	}}
}
