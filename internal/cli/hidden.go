package cli

import (
	"context"
	"log/slog"

	"github.com/fjord-faas/fjord/internal/sandbox"
	"github.com/fjord-faas/fjord/internal/watchdog"
	"github.com/spf13/cobra"
)

// hiddenCmds are internal entry points the daemon re-executes itself with
// (e.g. the sandbox init). Each package that needs one adds it here.
func hiddenCmds() []*cobra.Command {
	return []*cobra.Command{newSandboxInitCmd()}
}

// newSandboxInitCmd is the first program inside a replica's namespaces: it
// builds the replica's root and execs the function (see sandbox.Init). A
// replica of a host-runtime image runs "fjord watchdog": the init runs the
// watchdog itself instead of starting the binary a second time.
func newSandboxInitCmd() *cobra.Command {
	return &cobra.Command{
		Use:                sandbox.InitCommand + " SPEC_FD ERR_FD",
		Short:              "internal: set up a sandboxed replica and exec it",
		Hidden:             true,
		DisableFlagParsing: true,
		SilenceUsage:       true,
		Args:               cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return sandbox.Init(cmd.Context(), args, runWatchdog)
		},
	}
}

// runWatchdog is the sandbox's in-process runner for "fjord watchdog": the
// same configuration and logger as newWatchdogCmd, read from env.
func runWatchdog(_, env []string) (func(context.Context) error, error) {
	cfg, err := watchdog.ConfigFromEnv(env)
	if err != nil {
		return nil, err
	}
	w, err := watchdog.New(cfg, slog.Default())
	if err != nil {
		return nil, err
	}
	return w.Run, nil
}
