package router

import (
	"net"
	"testing"
	"time"

	"github.com/fjord-faas/fjord/internal/sockaddr"
)

func TestNewSpinPolicy(t *testing.T) {
	tests := []struct {
		budget   time.Duration
		procs    int
		want     time.Duration
		inflight int64
	}{
		{budget: 50 * time.Microsecond, procs: 2, want: 50 * time.Microsecond, inflight: 1},
		{budget: 50 * time.Microsecond, procs: 8, want: 50 * time.Microsecond, inflight: 4},
		{budget: 50 * time.Microsecond, procs: 1}, // a spinning call would hold the only CPU
		{budget: 0, procs: 8},
		{budget: -time.Second, procs: 8},
	}
	for _, tt := range tests {
		p := newSpinPolicy(tt.budget, tt.procs)
		if p.budget != tt.want || p.maxInflight != tt.inflight {
			t.Errorf("newSpinPolicy(%s, %d) = %+v, want budget %s, maxInflight %d", tt.budget, tt.procs, p, tt.want, tt.inflight)
		}
	}
}

// spinConn returns a pooled connection to a server on an abstract socket and
// the server's side of it.
func spinConn(t *testing.T) (*upConn, net.Conn) {
	t.Helper()
	addr, err := sockaddr.NewAbstract("fjord-test")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := sockaddr.Listen(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	var p connPool
	up, _, err := p.get(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { up.nc.Close() })
	srv := <-accepted
	t.Cleanup(func() { srv.Close() })
	if up.raw == nil {
		t.Fatal("a Unix connection has no raw conn: spinning would never happen")
	}
	return up, srv
}

func TestSpinWait(t *testing.T) {
	const budget = 3 * time.Second // far longer than any answer here
	p := newSpinPolicy(budget, 2)

	t.Run("returns when the answer lands", func(t *testing.T) {
		up, srv := spinConn(t)
		go func() {
			time.Sleep(20 * time.Millisecond)
			srv.Write([]byte("HTTP/1.1 200 OK\r\n"))
		}()
		start := time.Now()
		p.wait(up, &spinState{}, 1)
		if d := time.Since(start); d < 20*time.Millisecond || d > budget/2 {
			t.Errorf("wait took %s, want about 20ms (the answer's delay)", d)
		}
		if line, err := up.br.ReadString('\n'); err != nil || line != "HTTP/1.1 200 OK\r\n" {
			t.Errorf("after the wait read %q, %v: the peek must leave the answer in place", line, err)
		}
	})
	t.Run("returns when the replica closes", func(t *testing.T) {
		up, srv := spinConn(t)
		time.AfterFunc(10*time.Millisecond, func() { srv.Close() })
		start := time.Now()
		p.wait(up, &spinState{}, 1)
		if d := time.Since(start); d > budget/2 {
			t.Errorf("wait took %s after the replica closed", d)
		}
	})
	// Where the policy says no, wait returns at once although nothing came.
	recentlyBusy := newSpinPolicy(budget, 2)
	recentlyBusy.started(1) // one call alone is not load
	if recentlyBusy.busyUntil.Load() != 0 {
		t.Error("a lone call marked the router busy")
	}
	before := time.Now()
	recentlyBusy.started(2) // then two at once: busy for busyWindow
	if until := time.Unix(0, recentlyBusy.busyUntil.Load()); until.Before(before.Add(busyWindow)) || until.After(time.Now().Add(busyWindow)) {
		t.Errorf("busy until %s after two calls at once, want %s from then", until.Sub(before), busyWindow)
	}
	recentlyBusy.busyUntil.Store(time.Now().Add(time.Hour).UnixNano()) // still busy whatever the test's pace
	for _, tt := range []struct {
		name     string
		p        *spinPolicy
		inflight int64
	}{
		{"busy daemon", p, 2},
		{"spinning off", newSpinPolicy(0, 2), 1},
		{"busy a moment ago", recentlyBusy, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			up, _ := spinConn(t)
			start := time.Now()
			tt.p.wait(up, &spinState{}, tt.inflight)
			if d := time.Since(start); d > budget/2 {
				t.Errorf("wait spun for %s", d)
			}
		})
	}
}

// TestSpinSkipsSlowReplica: after spinMissMax polls that timed out, the next
// spinSkip calls to that replica do not poll, then polling resumes.
func TestSpinSkipsSlowReplica(t *testing.T) {
	const budget = 20 * time.Millisecond
	p := newSpinPolicy(budget, 2)
	up, _ := spinConn(t) // the replica never answers
	st := &spinState{}
	spun := func() bool {
		start := time.Now()
		p.wait(up, st, 1)
		return time.Since(start) >= budget
	}
	for i := 0; i < spinMissMax; i++ {
		if !spun() {
			t.Fatalf("poll %d did not wait out its budget", i+1)
		}
	}
	for i := 0; i < spinSkip; i++ {
		if spun() {
			t.Fatalf("call %d after %d misses polled again", i+1, spinMissMax)
		}
	}
	if !spun() {
		t.Error("polling did not resume after the skipped calls")
	}
}

// TestSpinCap: no more waits spin at once than maxInflight, whatever the
// in-flight count says.
func TestSpinCap(t *testing.T) {
	const budget = 300 * time.Millisecond
	p := newSpinPolicy(budget, 2) // one spinner at most
	busy, _ := spinConn(t)
	done := make(chan struct{})
	go func() { p.wait(busy, &spinState{}, 1); close(done) }()
	deadline := time.Now().Add(budget / 2)
	for p.spinning.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if p.spinning.Load() != 1 {
		t.Fatal("the first wait did not start spinning")
	}
	other, _ := spinConn(t)
	start := time.Now()
	p.wait(other, &spinState{}, 1)
	if d := time.Since(start); d > budget/3 {
		t.Errorf("a second wait spun for %s beside the first", d)
	}
	<-done
	if p.spinning.Load() != 0 {
		t.Errorf("%d spinners left after both waits ended", p.spinning.Load())
	}
}

// TestBeginRequest: the gateway's other requests count with the calls in
// flight, so two at once mark the router busy.
func TestBeginRequest(t *testing.T) {
	r := New(Config{Functions: &fakeFunctions{}, SpinWait: time.Millisecond})
	r.spin = newSpinPolicy(time.Millisecond, 2) // whatever GOMAXPROCS the test runs with
	r.BeginRequest()
	if r.spin.busyUntil.Load() != 0 {
		t.Fatal("one request alone marked the router busy")
	}
	r.inflight.Add(1) // and a function call
	r.BeginRequest()
	if time.Unix(0, r.spin.busyUntil.Load()).Before(time.Now()) {
		t.Error("a request beside another and a call did not mark the router busy")
	}
	r.EndRequest()
	r.EndRequest()
	r.inflight.Add(-1)
	if n := r.others.Load(); n != 0 {
		t.Errorf("%d requests left after both ended", n)
	}
}
