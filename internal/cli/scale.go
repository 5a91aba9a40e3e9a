package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newScaleCmd is a placeholder until the command is implemented.
func newScaleCmd() *cobra.Command {
	return &cobra.Command{Use: "scale", Short: "(not implemented yet)", RunE: func(*cobra.Command, []string) error {
		return errors.New("scale: not implemented yet")
	}}
}
