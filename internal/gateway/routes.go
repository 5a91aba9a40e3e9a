package gateway

import (
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/fjord-faas/fjord/internal/api"
	"github.com/fjord-faas/fjord/internal/runtime"
)

// routes builds the handler tree: /function/ is dispatched before the mux (hot
// path, and no path cleaning or redirects of the function's own path); the rest
// goes through auth and a method-aware ServeMux.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /system/functions", s.listFunctions)
	mux.HandleFunc("POST /system/functions", s.deployFunction)
	mux.HandleFunc("PUT /system/functions", s.updateFunction)
	mux.HandleFunc("DELETE /system/functions", s.deleteFunction)
	mux.HandleFunc("GET /system/function/{name}", s.getFunction)
	mux.HandleFunc("POST /system/scale-function/{name}", s.scaleFunction)

	mux.HandleFunc("GET /system/secrets", s.listSecrets)
	mux.HandleFunc("POST /system/secrets", s.createSecret)
	mux.HandleFunc("PUT /system/secrets", s.updateSecret)
	mux.HandleFunc("DELETE /system/secrets", s.deleteSecret)

	mux.HandleFunc("GET /system/namespaces", s.listNamespaces)
	mux.HandleFunc("POST /system/namespace/{$}", s.createNamespace)
	mux.HandleFunc("POST /system/namespace", s.createNamespace)
	mux.HandleFunc("GET /system/namespace/{name}", s.getNamespace)
	mux.HandleFunc("PUT /system/namespace/{name}", s.updateNamespace)
	mux.HandleFunc("DELETE /system/namespace/{name}", s.deleteNamespace)

	mux.HandleFunc("GET /system/logs", s.logs)
	mux.HandleFunc("GET /system/info", s.info)
	mux.Handle("POST /system/alert", orNotImplemented(s.cfg.Alert, "alerts are not enabled"))

	mux.Handle("POST /async-function/{rest...}", orNotImplemented(s.cfg.Async, "async calls are not enabled"))
	mux.Handle("/system/async/", orNotImplemented(s.cfg.Async, "async calls are not enabled"))
	mux.HandleFunc("GET /healthz", healthz)
	if s.cfg.Registry != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{}))
	}
	if s.cfg.OCI != nil {
		mux.Handle("/v2/", s.cfg.OCI)
	}
	mux.Handle("GET /ui/", uiHandler())
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ui/", http.StatusTemporaryRedirect)
	})
	system := s.withAuth(mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/function/") {
			s.invoke(w, r)
			return
		}
		system.ServeHTTP(w, r)
	})
}

// invokeMethods are the methods forwarded to functions.
const invokeMethods = "GET, POST, PUT, PATCH, DELETE, OPTIONS, HEAD"

// invoke serves /function/NAME[.NS][/path].
func (s *Server) invoke(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodHead:
	default:
		w.Header().Set("Allow", invokeMethods)
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	rest := strings.TrimPrefix(r.URL.EscapedPath(), "/function/")
	qualified, path := rest, ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		qualified, path = rest[:i], rest[i:]
	}
	name, ns := api.SplitQualified(qualified)
	if name == "" || ns == "" {
		http.Error(w, "error finding function "+qualified+": not found", http.StatusNotFound)
		return
	}
	s.router.ServeFunction(w, r, runtime.Ref{Name: name, Namespace: ns}, path)
}

func orNotImplemented(h http.Handler, msg string) http.Handler {
	if h != nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, msg, http.StatusNotImplemented)
	})
}

func healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("OK"))
}
