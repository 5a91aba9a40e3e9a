package daemon

import (
	"os"
	"strconv"
	"syscall"
)

// closeInheritedFDs marks every descriptor above stderr close-on-exec, so that
// whatever the daemon inherited from the process that started it (a shell, a
// job runner) never reaches function replicas. Descriptors Go opens itself are
// close-on-exec already; replicas get theirs explicitly through ExtraFiles.
func closeInheritedFDs() {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range entries {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			syscall.CloseOnExec(fd)
		}
	}
}
