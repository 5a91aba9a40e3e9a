package gateway

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/fjord-faas/fjord/internal/api"
	"github.com/fjord-faas/fjord/internal/runtime"
)

// logQuery parses the /system/logs parameters; errors are answered with 422.
func logQuery(r *http.Request) (runtime.LogQuery, error) {
	v := r.URL.Query()
	q := runtime.LogQuery{
		Ref:      runtime.Ref{Name: v.Get("name"), Namespace: namespaceOf("", r)},
		Instance: v.Get("instance"),
	}
	if q.Name == "" {
		return q, fmt.Errorf("name is required")
	}
	var err error
	if s := v.Get("tail"); s != "" {
		if q.Tail, err = strconv.Atoi(s); err != nil {
			return q, fmt.Errorf("tail %q is not an integer", s)
		}
	}
	if s := v.Get("follow"); s != "" {
		if q.Follow, err = strconv.ParseBool(s); err != nil {
			return q, fmt.Errorf("follow %q is not a boolean", s)
		}
	}
	if s := v.Get("since"); s != "" {
		if q.Since, err = time.Parse(time.RFC3339, s); err != nil {
			return q, fmt.Errorf("since %q is not an RFC3339 time", s)
		}
	}
	return q, nil
}

// logs streams a function's log lines as NDJSON, one flushed line per entry.
func (s *Server) logs(w http.ResponseWriter, r *http.Request) {
	q, err := logQuery(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusUnprocessableEntity)
		return
	}
	ch, err := s.cfg.Control.Logs(r.Context(), q)
	if err != nil {
		s.fail(w, r, err, opLogs)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	enc := json.NewEncoder(w)
	for {
		select {
		case <-r.Context().Done():
			return
		case e, ok := <-ch:
			if !ok {
				return
			}
			msg := api.LogMessage{Name: q.Name, Namespace: q.Namespace, Instance: e.Instance, Timestamp: e.Time, Text: e.Text}
			if enc.Encode(msg) != nil || rc.Flush() != nil {
				return
			}
		}
	}
}
