package queue

import (
	"context"
	"net/http"
	"time"

	"github.com/fjord-faas/fjord/internal/runtime"
)

// Message is one accepted async call. It carries what upstream's QueueRequest
// carries (same field names; byte compatibility is not required) plus the
// call's id and start time.
type Message struct {
	// CallID is the call's X-Call-Id (the caller's, else generated).
	CallID string `json:"CallId"`
	// StartTime is the call's X-Start-Time: Unix nanoseconds when accepted.
	StartTime int64 `json:"StartTime"`
	// Header holds the original request headers (with X-Call-Id and X-Start-Time).
	Header http.Header `json:"Header"`
	// Host is the original request's Host.
	Host string `json:"Host"`
	// Body is the request body (base64 in JSON).
	Body []byte `json:"Body"`
	// Method is the original method, always POST.
	Method string `json:"Method"`
	// Path is the escaped remainder after /async-function/NAME; may be "".
	Path string `json:"Path"`
	// QueryString is the raw query.
	QueryString string `json:"QueryString"`
	// Function is the name as in the path: "fn" or "fn.ns".
	Function string `json:"Function"`
	// CallbackURL receives the outcome; "" for none.
	CallbackURL string `json:"CallbackUrl,omitempty"`
}

// FunctionSettings is what a worker needs to know about a function.
type FunctionSettings struct {
	// Timeout is the function's own timeout.
	Timeout time.Duration
	// Annotations carry the retry settings (com.openfaas.retry.*).
	Annotations map[string]string
}

// Functions looks up the functions the workers call.
type Functions interface {
	// Settings returns a function's settings; an error wrapping
	// api.ErrNotFound for an unknown function.
	Settings(ctx context.Context, ref runtime.Ref) (FunctionSettings, error)
}
