// Package cli holds fjord's cobra commands, one file per command.
package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
)

// ExitError carries a process exit code out of a command without printing again.
type ExitError struct{ Code int }

func (e ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// Run executes the fjord command line.
func Run(ctx context.Context, args []string) error {
	// Installed as "fwatchdog" (e.g. in a container image), fjord is the watchdog.
	if filepath.Base(os.Args[0]) == "fwatchdog" {
		args = append([]string{"watchdog"}, args...)
	}
	root := newRootCmd()
	root.SetArgs(args)
	return root.ExecuteContext(ctx)
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "fjord",
		Short: "fjord: a private serverless platform in one binary",
		Long: `fjord runs functions on your own machines and speaks the OpenFaaS gateway API.

Start the platform:     fjord serve --example
Create a function:      fjord new hello --lang python3
Build, ship and deploy: fjord up -f stack.yml
Call it:                curl -d 'hi' http://127.0.0.1:8080/function/hello`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		newServeCmd(),
		newWatchdogCmd(),
		newNewCmd(),
		newBuildCmd(),
		newPushCmd(),
		newDeployCmd(),
		newUpCmd(),
		newInvokeCmd(),
		newListCmd(),
		newDescribeCmd(),
		newRemoveCmd(),
		newScaleCmd(),
		newLogsCmd(),
		newLoginCmd(),
		newNamespaceCmd(),
		newSecretCmd(),
		newAsyncCmd(),
		newVersionCmd(),
	)
	for _, c := range hiddenCmds() {
		root.AddCommand(c)
	}
	return root
}
