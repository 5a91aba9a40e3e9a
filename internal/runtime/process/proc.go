package process

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// clockTicks is USER_HZ, fixed at 100 on every Linux architecture Go supports.
const clockTicks = 100

// procStat holds the fields of /proc/<pid>/stat the runtime reads.
type procStat struct {
	pgrp      int
	cpuTicks  uint64 // utime + stime + cutime + cstime
	startTime uint64 // in clock ticks after boot
	rssPages  int64
}

// readProcStat parses /proc/<pid>/stat.
func readProcStat(pid int) (procStat, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return procStat{}, fmt.Errorf("read stat of %d: %w", pid, err)
	}
	return parseProcStat(b)
}

func parseProcStat(b []byte) (procStat, error) {
	// The command name may hold spaces and parentheses: split after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, errors.New("parse stat: no command name")
	}
	f := bytes.Fields(b[i+1:])
	// f[0] is field 3 (state); field N is f[N-3].
	if len(f) < 22 {
		return procStat{}, errors.New("parse stat: too few fields")
	}
	num := func(field int) uint64 {
		v, _ := strconv.ParseUint(string(f[field-3]), 10, 64)
		return v
	}
	pgrp, _ := strconv.Atoi(string(f[5-3]))
	return procStat{
		pgrp:      pgrp,
		cpuTicks:  num(14) + num(15) + num(16) + num(17),
		startTime: num(22),
		rssPages:  int64(num(24)),
	}, nil
}

// groupUsage sums CPU seconds and resident bytes over process group pgid.
func groupUsage(pgid int) (float64, int64, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, 0, fmt.Errorf("list processes: %w", err)
	}
	var ticks uint64
	var pages int64
	found := false
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := readProcStat(pid)
		if err != nil || st.pgrp != pgid {
			continue
		}
		found = true
		ticks += st.cpuTicks
		pages += st.rssPages
	}
	if !found {
		return 0, 0, fmt.Errorf("read usage of %d: %w", pgid, os.ErrNotExist)
	}
	return float64(ticks) / clockTicks, pages * int64(os.Getpagesize()), nil
}
