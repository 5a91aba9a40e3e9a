package cli

import "github.com/spf13/cobra"

// hiddenCmds are internal entry points the daemon re-executes itself with
// (e.g. the sandbox init). Each package that needs one adds it here.
func hiddenCmds() []*cobra.Command { return nil }
