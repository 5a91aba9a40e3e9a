package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newWatchdogCmd is a placeholder until the command is implemented.
func newWatchdogCmd() *cobra.Command {
	return &cobra.Command{Use: "watchdog", Short: "(not implemented yet)", RunE: func(*cobra.Command, []string) error {
		return errors.New("watchdog: not implemented yet")
	}}
}
