package clienttest

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/fjord-faas/fjord/internal/api"
)

// system serves /system/*; g.mu is held.
func (g *Gateway) system(w http.ResponseWriter, r *http.Request, body []byte) {
	p := r.URL.Path
	switch {
	case p == "/system/functions":
		g.functionsRoute(w, r, body)
	case strings.HasPrefix(p, "/system/function/"):
		name := strings.TrimPrefix(p, "/system/function/")
		f, ok := g.functions[name+"."+ns(r, "")]
		if !ok {
			http.Error(w, "", http.StatusNotFound)
			return
		}
		if r.URL.Query().Get("usage") == "1" {
			f.Usage = &api.FunctionUsage{CPU: 1.5, TotalMemoryBytes: 10 << 20}
		}
		f.InvocationCount = 0
		writeJSON(w, f)
	case strings.HasPrefix(p, "/system/scale-function/"):
		var req api.ScaleServiceRequest
		_ = json.Unmarshal(body, &req)
		key := strings.TrimPrefix(p, "/system/scale-function/") + "." + ns(r, req.Namespace)
		f, ok := g.functions[key]
		if !ok {
			http.Error(w, "function not found", http.StatusNotFound)
			return
		}
		f.Replicas = req.Replicas
		g.functions[key] = f
		w.WriteHeader(http.StatusAccepted)
	case p == "/system/secrets":
		g.secretsRoute(w, r, body)
	case p == "/system/namespaces":
		writeJSON(w, sortedKeys(g.namespaces))
	case strings.HasPrefix(p, "/system/namespace/"):
		g.namespaceRoute(w, r, body, strings.TrimPrefix(p, "/system/namespace/"))
	case p == "/system/info":
		v := &api.VersionInfo{SHA: "abc1234", Release: "0.4.0"}
		writeJSON(w, api.GatewayInfo{Provider: &api.ProviderInfo{Name: "fjord", Orchestration: "process", Version: v}, Version: v, Arch: "amd64"})
	case strings.HasPrefix(p, "/system/async/dead-letters"):
		g.deadLettersRoute(w, r)
	case p == "/system/logs":
		w.Header().Set("Content-Type", "application/x-ndjson")
		enc := json.NewEncoder(w)
		for _, m := range g.Logs {
			_ = enc.Encode(m)
		}
	default:
		http.NotFound(w, r)
	}
}

func (g *Gateway) functionsRoute(w http.ResponseWriter, r *http.Request, body []byte) {
	switch r.Method {
	case http.MethodGet:
		out := []api.FunctionStatus{}
		want := ns(r, "")
		for _, k := range sortedKeys(g.functions) {
			if f := g.functions[k]; f.Namespace == want {
				out = append(out, f)
			}
		}
		writeJSON(w, out)
	case http.MethodPost, http.MethodPut:
		var d api.FunctionDeployment
		if err := json.Unmarshal(body, &d); err != nil {
			http.Error(w, "bad json", http.StatusBadRequest)
			return
		}
		key := d.Service + "." + ns(r, d.Namespace)
		_, exists := g.functions[key]
		if r.Method == http.MethodPut && !exists {
			http.Error(w, "function "+d.Service+" not found", http.StatusNotFound)
			return
		}
		if r.Method == http.MethodPost && exists {
			http.Error(w, "function "+d.Service+" already exists", http.StatusBadRequest)
			return
		}
		g.functions[key] = statusOf(d, ns(r, d.Namespace))
		w.WriteHeader(http.StatusAccepted)
	case http.MethodDelete:
		var d api.DeleteFunctionRequest
		_ = json.Unmarshal(body, &d)
		key := d.FunctionName + "." + ns(r, d.Namespace)
		if _, ok := g.functions[key]; !ok {
			http.Error(w, "function "+d.FunctionName+" not found", http.StatusNotFound)
			return
		}
		delete(g.functions, key)
		w.WriteHeader(http.StatusAccepted)
	}
}

func statusOf(d api.FunctionDeployment, namespace string) api.FunctionStatus {
	return api.FunctionStatus{
		Name: d.Service, Image: d.Image, Namespace: namespace, EnvProcess: d.EnvProcess,
		EnvVars: d.EnvVars, Secrets: d.Secrets, Labels: d.LabelMap(), Annotations: d.AnnotationMap(),
		Constraints: d.Constraints, Limits: d.Limits, Requests: d.Requests,
		Replicas: 1, AvailableReplicas: 1, CreatedAt: epoch,
	}
}

func (g *Gateway) secretsRoute(w http.ResponseWriter, r *http.Request, body []byte) {
	var s api.Secret
	if r.Method != http.MethodGet {
		if err := json.Unmarshal(body, &s); err != nil || s.Name == "" {
			http.Error(w, "bad secret", http.StatusBadRequest)
			return
		}
	}
	key := s.Name + "." + ns(r, s.Namespace)
	_, exists := g.secrets[key]
	switch {
	case r.Method == http.MethodGet:
		out := []api.Secret{}
		for _, k := range sortedKeys(g.secrets) {
			name, space, _ := strings.Cut(k, ".")
			if space == ns(r, "") {
				out = append(out, api.Secret{Name: name, Namespace: space})
			}
		}
		writeJSON(w, out)
	case r.Method == http.MethodPost && exists:
		http.Error(w, "secret "+s.Name+" already exists", http.StatusConflict)
	case r.Method != http.MethodPost && !exists:
		http.Error(w, "secret "+s.Name+" not found", http.StatusNotFound)
	case r.Method == http.MethodDelete:
		delete(g.secrets, key)
		w.WriteHeader(http.StatusAccepted)
	default:
		g.secrets[key] = append([]byte(nil), s.Bytes()...)
		w.WriteHeader(http.StatusAccepted)
	}
}

func (g *Gateway) namespaceRoute(w http.ResponseWriter, r *http.Request, body []byte, name string) {
	var fn api.FunctionNamespace
	if r.Method != http.MethodGet {
		_ = json.Unmarshal(body, &fn)
		if fn.Labels["openfaas"] != "1" {
			http.Error(w, "label openfaas=1 is required", http.StatusBadRequest)
			return
		}
		if name == "" {
			name = fn.Name
		}
	}
	_, exists := g.namespaces[name]
	switch {
	case r.Method == http.MethodPost && exists:
		http.Error(w, "namespace "+name+" already exists", http.StatusConflict)
	case r.Method != http.MethodPost && !exists:
		http.Error(w, "namespace "+name+" not found", http.StatusNotFound)
	case r.Method == http.MethodGet:
		writeJSON(w, g.namespaces[name])
	case r.Method == http.MethodDelete:
		delete(g.namespaces, name)
		w.WriteHeader(http.StatusAccepted)
	default:
		fn.Name = name
		g.namespaces[name] = fn
		w.WriteHeader(http.StatusAccepted)
	}
}
