package cli

import (
	"github.com/fjord-faas/fjord/internal/sandbox"
	"github.com/spf13/cobra"
)

// hiddenCmds are internal entry points the daemon re-executes itself with
// (e.g. the sandbox init). Each package that needs one adds it here.
func hiddenCmds() []*cobra.Command {
	return []*cobra.Command{newSandboxInitCmd()}
}

// newSandboxInitCmd is the first program inside a replica's namespaces: it
// builds the replica's root and execs the function (see sandbox.Init).
func newSandboxInitCmd() *cobra.Command {
	return &cobra.Command{
		Use:                sandbox.InitCommand + " SPEC_FD ERR_FD",
		Short:              "internal: set up a sandboxed replica and exec it",
		Hidden:             true,
		DisableFlagParsing: true,
		SilenceUsage:       true,
		Args:               cobra.ExactArgs(2),
		RunE: func(_ *cobra.Command, args []string) error {
			return sandbox.Init(args)
		},
	}
}
