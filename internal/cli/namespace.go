package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newNamespaceCmd is a placeholder until the command is implemented.
func newNamespaceCmd() *cobra.Command {
	return &cobra.Command{Use: "namespace", Short: "(not implemented yet)", RunE: func(*cobra.Command, []string) error {
		return errors.New("namespace: not implemented yet")
	}}
}
