package queue

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// startEmbedded runs a JetStream server in this process, without a TCP
// listener, storing under c.Dir.
func startEmbedded(c Config, log *slog.Logger) (*server.Server, *nats.Conn, error) {
	interval := c.SyncInterval
	if interval == 0 {
		interval = DefaultSyncInterval
	}
	opts := &server.Options{
		ServerName:   "fjord",
		DontListen:   true,
		JetStream:    true,
		StoreDir:     c.Dir,
		NoSigs:       true,
		MaxPayload:   maxPayload(c.MaxBody),
		SyncAlways:   c.SyncAlways,
		SyncInterval: interval,
		// Memory storage is unused; keep the server from reserving a share of RAM.
		JetStreamMaxMemory: 8 << 20,
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, nil, fmt.Errorf("create embedded nats server: %w", err)
	}
	ns.SetLoggerV2(natsLogger{log}, false, false, false)
	ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		ns.Shutdown()
		return nil, nil, fmt.Errorf("embedded nats server did not start")
	}
	nc, err := nats.Connect("", nats.InProcessServer(ns), nats.Name("fjord"))
	if err != nil {
		ns.Shutdown()
		return nil, nil, fmt.Errorf("connect to embedded nats server: %w", err)
	}
	return ns, nc, nil
}

// connectExternal connects to a NATS server with JetStream at url, and keeps
// reconnecting when it goes away.
func connectExternal(url string, log *slog.Logger) (*nats.Conn, error) {
	nc, err := nats.Connect(url, nats.Name("fjord"), nats.MaxReconnects(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			log.Warn("nats disconnected", "err", err)
		}),
		nats.ReconnectHandler(func(*nats.Conn) { log.Info("nats reconnected") }),
	)
	if err != nil {
		return nil, fmt.Errorf("connect to nats at %s: %w", url, err)
	}
	return nc, nil
}

// maxPayload fits a message whose body is maxBody bytes, base64-encoded,
// plus headers and metadata.
func maxPayload(maxBody int64) int32 {
	return int32(max(maxBody*4/3+256<<10, 1<<20))
}

// natsLogger sends the embedded server's logs to slog.
type natsLogger struct{ log *slog.Logger }

func (l natsLogger) Noticef(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l natsLogger) Warnf(format string, v ...any)   { l.log.Warn(fmt.Sprintf(format, v...)) }
func (l natsLogger) Fatalf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l natsLogger) Errorf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l natsLogger) Debugf(format string, v ...any)  { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l natsLogger) Tracef(format string, v ...any)  {}
