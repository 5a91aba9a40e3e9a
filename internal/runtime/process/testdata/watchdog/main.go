// Command watchdog runs fjord's real watchdog package without the rest of the
// CLI, for the process runtime's tests while ./cmd/fjord is being assembled.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/fjord-faas/fjord/internal/watchdog"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	cfg, err := watchdog.ConfigFromEnv(os.Environ())
	if err == nil {
		var w *watchdog.Watchdog
		if w, err = watchdog.New(cfg, slog.Default()); err == nil {
			err = w.Run(ctx)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}
