package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newDescribeCmd is a placeholder until the command is implemented.
func newDescribeCmd() *cobra.Command {
	return &cobra.Command{Use: "describe", Short: "(not implemented yet)", RunE: func(*cobra.Command, []string) error {
		return errors.New("describe: not implemented yet")
	}}
}
