// Command probe runs inside a sandboxed replica in the sandbox tests and
// reports what it can see and do.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// report is what "probe" prints as JSON.
type report struct {
	UID, GID int
	Pid      int
	Procs    []int
	Hostname string
	CapEff   string
	// Caps holds the other capability sets: CapInh, CapPrm, CapBnd, CapAmb.
	Caps       map[string]string
	NoNewPrivs string
	Cwd        string
	FDs        map[int]bool // fd -> open, checked first thing
	Writes     map[string]string
	Reads      map[string]string
	KillParent string
	DevNull    string
}

func main() {
	// The Go runtime may hold an epoll fd and an event fd of its own, so an
	// fd counts as open only when it is a pipe (what the sandbox passes).
	fds := map[int]bool{}
	for fd := 3; fd <= 8; fd++ {
		link, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
		fds[fd] = err == nil && strings.HasPrefix(link, "pipe:")
	}
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: probe probe|hog|spin|sleep ...")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "probe":
		probe(fds, os.Args[2:])
	case "hog":
		hog()
	case "spin":
		for {
		}
	case "sleep":
		time.Sleep(time.Hour)
	}
}

// probe args: parent pid, then paths to write, then "--", then paths to read.
func probe(fds map[int]bool, args []string) {
	if fds[3] {
		_, _ = os.NewFile(3, "ready").Write([]byte("ready"))
	}
	r := report{UID: os.Getuid(), GID: os.Getgid(), Pid: os.Getpid(), FDs: fds,
		Writes: map[string]string{}, Reads: map[string]string{}}
	r.Hostname, _ = os.Hostname()
	r.Cwd, _ = os.Getwd()
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if n, err := strconv.Atoi(e.Name()); err == nil {
			r.Procs = append(r.Procs, n)
		}
	}
	status, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(status), "\n") {
		k, v, _ := strings.Cut(line, ":")
		switch k {
		case "CapEff":
			r.CapEff = strings.TrimSpace(v)
		case "CapInh", "CapPrm", "CapBnd", "CapAmb":
			if r.Caps == nil {
				r.Caps = map[string]string{}
			}
			r.Caps[k] = strings.TrimSpace(v)
		case "NoNewPrivs":
			r.NoNewPrivs = strings.TrimSpace(v)
		}
	}
	parent, _ := strconv.Atoi(args[0])
	r.KillParent = errString(syscall.Kill(parent, 0))
	reading := false
	for _, p := range args[1:] {
		if p == "--" {
			reading = true
			continue
		}
		if reading {
			b, err := os.ReadFile(p)
			r.Reads[p] = orValue(string(b), err)
			continue
		}
		r.Writes[p] = errString(os.WriteFile(p, []byte("x"), 0o644))
	}
	r.DevNull = errString(os.WriteFile("/dev/null", []byte("x"), 0))
	_ = json.NewEncoder(os.Stdout).Encode(r)
}

// hog touches memory in 8 MiB steps up to 1 GiB; under a lower limit it is OOM-killed.
func hog() {
	var keep [][]byte
	for i := 0; i < 128; i++ {
		b := make([]byte, 8<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = 1
		}
		keep = append(keep, b)
	}
	fmt.Println("survived", len(keep))
}

func errString(err error) string {
	if err == nil {
		return "ok"
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	return err.Error()
}

func orValue(v string, err error) string {
	if err != nil {
		return "error: " + errString(err)
	}
	return v
}
