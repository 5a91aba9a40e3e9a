package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// cpuTimes is what /proc/PID/stat says a process has used so far, in clock ticks.
type cpuTimes struct {
	self     uint64 // utime + stime
	children uint64 // cutime + cstime: children it has waited for
	ppid     int
}

// readCPU parses /proc/PID/stat. The command name in field 2 may hold
// spaces and parentheses, so the fields are counted after its last ')'.
func readCPU(pid int) (cpuTimes, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return cpuTimes{}, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return cpuTimes{}, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	// After ')': state(3) ppid(4) … utime(14) stime(15) cutime(16) cstime(17).
	f := strings.Fields(s[i+1:])
	if len(f) < 15 {
		return cpuTimes{}, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	num := func(k int) uint64 { v, _ := strconv.ParseUint(f[k-3], 10, 64); return v }
	ppid, _ := strconv.Atoi(f[1])
	return cpuTimes{self: num(14) + num(15), children: num(16) + num(17), ppid: ppid}, nil
}

// clockTick is one tick of /proc/PID/stat's times: AT_CLKTCK from the
// auxiliary vector (USER_HZ, 100 on every common Linux build).
var clockTick = func() time.Duration {
	const atClkTck = 17
	b, err := os.ReadFile("/proc/self/auxv")
	for i := 0; err == nil && i+16 <= len(b); i += 16 {
		k, v := binary.NativeEndian.Uint64(b[i:]), binary.NativeEndian.Uint64(b[i+8:])
		if k == atClkTck && v > 0 {
			return time.Second / time.Duration(v)
		}
	}
	return 10 * time.Millisecond
}()

// treeCPU reads the CPU times of root and all its descendants.
func treeCPU(root int) map[int]cpuTimes {
	all := map[int]cpuTimes{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if t, err := readCPU(pid); err == nil {
			all[pid] = t
		}
	}
	tree := map[int]cpuTimes{}
	for pid, t := range all {
		for p := pid; p > 1; p = all[p].ppid {
			if p == root {
				tree[pid] = t
				break
			}
			if _, ok := all[p]; !ok {
				break
			}
		}
	}
	return tree
}

// socketInodes lists the inodes of the sockets pid has open.
func socketInodes(pid int) map[string]bool {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, _ := os.ReadDir(dir)
	in := map[string]bool{}
	for _, e := range ents {
		l, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err == nil && strings.HasPrefix(l, "socket:[") {
			in[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	return in
}

// tcpSocket is one line of /proc/net/tcp{,6}.
type tcpSocket struct {
	local, remote int // ports
	listen        bool
	inode         string
}

func tcpSockets() []tcpSocket {
	var out []tcpSocket
	for _, p := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // header
		for sc.Scan() {
			fs := strings.Fields(sc.Text())
			if len(fs) < 10 {
				continue
			}
			out = append(out, tcpSocket{local: hexPort(fs[1]), remote: hexPort(fs[2]),
				listen: fs[3] == "0A", inode: fs[9]})
		}
		f.Close()
	}
	return out
}

func hexPort(addr string) int {
	_, p, _ := strings.Cut(addr, ":")
	v, _ := strconv.ParseUint(p, 16, 16)
	return int(v)
}

// fjordUnixListeners returns the inodes of listening abstract Unix sockets
// named by fjord ("@fjord-…": replicas' watchdogs and template servers).
// /proc/net/unix does not say who is connected to whom, so any descendant of
// the daemon listening on one is a candidate server.
func fjordUnixListeners() map[string]bool {
	out := map[string]bool{}
	f, err := os.Open("/proc/net/unix")
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // header: Num RefCount Protocol Flags Type St Inode Path
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) >= 8 && fs[3] == "00010000" && strings.HasPrefix(fs[7], "@fjord-") {
			out[fs[6]] = true
		}
	}
	return out
}

// servers are the descendants of client (in tree) that listen on a TCP port
// client holds a connection to, or on one of fjord's Unix sockets: the
// processes client forwards calls to.
func servers(client int, tree map[int]cpuTimes) []int {
	unixLn := fjordUnixListeners()
	socks := tcpSockets()
	mine := socketInodes(client)
	dialed := map[int]bool{}
	for _, s := range socks {
		if mine[s.inode] && !s.listen {
			dialed[s.remote] = true
		}
	}
	var out []int
	for pid := range tree {
		if pid != client && serves(socketInodes(pid), unixLn, socks, dialed) {
			out = append(out, pid)
		}
	}
	return out
}

// serves reports whether the sockets in holds include a fjord Unix listener
// or a TCP listener on a dialed port.
func serves(in, unixLn map[string]bool, socks []tcpSocket, dialed map[int]bool) bool {
	for ino := range in {
		if unixLn[ino] {
			return true
		}
	}
	for _, s := range socks {
		if s.listen && in[s.inode] && dialed[s.local] {
			return true
		}
	}
	return false
}

// cpuCost is CPU time per call of one process over one cell; ok is false
// when the process could not be found or the cell had no calls.
type cpuCost struct {
	perCall time.Duration
	ok      bool
}

func (c cpuCost) String() string {
	if !c.ok {
		return "–"
	}
	return fmt.Sprintf("%.0f µs", float64(c.perCall)/float64(time.Microsecond))
}

func costOf(ticks, calls uint64) cpuCost {
	if calls == 0 {
		return cpuCost{}
	}
	return cpuCost{perCall: time.Duration(ticks) * clockTick / time.Duration(calls), ok: true}
}

// cellCPU measures one cell's CPU: hop is the process in front of the
// function (the daemon, a watchdog or the relay; 0 for none) and fn the
// function's process, or 0 to find it among hop's descendants afterwards.
type cellCPU struct {
	hop, fn int
	before  map[int]cpuTimes
}

func startCellCPU(hop, fn int) *cellCPU {
	c := &cellCPU{hop: hop, fn: fn, before: map[int]cpuTimes{}}
	if hop != 0 {
		c.before = treeCPU(hop)
	}
	if fn != 0 {
		if t, err := readCPU(fn); err == nil {
			c.before[fn] = t
		}
	}
	return c
}

// cellTicks is the CPU one cell used: the hop's own ticks, and the
// function's with its waited-for children (classic watchdogs fork one handler
// per call); ok is false where the process was not found.
type cellTicks struct {
	hop, fn     uint64
	hopOK, fnOK bool
}

// finish returns the CPU since startCellCPU. When fn was not given, the
// function is the server the hop is connected to that used the most CPU
// during the cell.
func (c *cellCPU) finish() (t cellTicks) {
	after := map[int]cpuTimes{}
	if c.hop != 0 {
		after = treeCPU(c.hop)
		if b, ok := c.before[c.hop]; ok {
			if a, ok := after[c.hop]; ok {
				t.hop, t.hopOK = a.self-b.self, true
			}
		}
	}
	cands := []int{c.fn}
	if c.fn == 0 && c.hop != 0 {
		cands = servers(c.hop, after)
	} else if ct, err := readCPU(c.fn); err == nil {
		after[c.fn] = ct
	}
	for _, pid := range cands {
		b, ok1 := c.before[pid]
		a, ok2 := after[pid]
		if !ok1 || !ok2 {
			continue
		}
		if d := (a.self + a.children) - (b.self + b.children); !t.fnOK || d > t.fn {
			t.fn, t.fnOK = d, true
		}
	}
	return t
}
