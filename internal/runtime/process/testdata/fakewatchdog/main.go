// Command fakewatchdog is a minimal classic watchdog for the process runtime's
// tests: it honours fjord_listen_fd and fjord_ready_fd, serves /_/health and
// forks fprocess per call with the body on stdin. With fake_direct=1 it
// reports its own address as the function's upstream on the ready pipe; with
// fake_unhealthy=1 it fails every health check after becoming ready.
package main

import (
	"context"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
)

func main() {
	argv := strings.Split(os.Getenv("fprocess"), " ")
	if argv[0] == "" {
		log.Fatal("fprocess is required")
	}
	ln, err := listener()
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/_/health", func(w http.ResponseWriter, _ *http.Request) {
		if os.Getenv("fake_unhealthy") == "1" { // ready once, then failing every health check
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		fmt.Fprint(w, "OK")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		log.Print("Forking fprocess.")
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Stdin = r.Body
		out, err := cmd.CombinedOutput()
		if err != nil {
			w.WriteHeader(http.StatusInternalServerError)
		}
		w.Write(out)
	})
	srv := &http.Server{Handler: mux}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		srv.Shutdown(context.Background())
	}()
	if fd, err := strconv.Atoi(os.Getenv("fjord_ready_fd")); err == nil {
		f := os.NewFile(uintptr(fd), "ready")
		msg := "\n"
		if os.Getenv("fake_direct") == "1" { // claim to be its own function server
			addr := ln.Addr().String()
			if ln.Addr().Network() == "unix" {
				addr = "unix:" + addr
			}
			msg = "upstream=" + addr + "\n"
		}
		f.Write([]byte(msg))
		f.Close()
	}
	fmt.Println("fake watchdog serving on", ln.Addr())
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		log.Fatal(err)
	}
}

func listener() (net.Listener, error) {
	if fd, err := strconv.Atoi(os.Getenv("fjord_listen_fd")); err == nil {
		return net.FileListener(os.NewFile(uintptr(fd), "listener"))
	}
	return net.Listen("tcp", "127.0.0.1:"+os.Getenv("port"))
}
