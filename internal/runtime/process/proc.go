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
	ppid      int
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
	ppid, _ := strconv.Atoi(string(f[4-3]))
	pgrp, _ := strconv.Atoi(string(f[5-3]))
	return procStat{
		ppid:      ppid,
		pgrp:      pgrp,
		cpuTicks:  num(14) + num(15) + num(16) + num(17),
		startTime: num(22),
		rssPages:  int64(num(24)),
	}, nil
}

// treeUsage sums CPU seconds and resident bytes over pid and its descendants
// (the watchdog puts the processes it forks into their own groups).
func treeUsage(pid int) (float64, int64, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, 0, fmt.Errorf("list processes: %w", err)
	}
	stats := map[int]procStat{}
	children := map[int][]int{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := readProcStat(p); err == nil {
			stats[p] = st
			children[st.ppid] = append(children[st.ppid], p)
		}
	}
	if _, ok := stats[pid]; !ok {
		return 0, 0, fmt.Errorf("read usage of %d: %w", pid, os.ErrNotExist)
	}
	var ticks uint64
	var pages int64
	for queue := []int{pid}; len(queue) > 0; queue = queue[1:] {
		st := stats[queue[0]]
		ticks += st.cpuTicks
		pages += st.rssPages
		queue = append(queue, children[queue[0]]...)
	}
	return float64(ticks) / clockTicks, pages * int64(os.Getpagesize()), nil
}
