package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/fjord-faas/fjord/internal/api"
)

func (s *Server) listFunctions(w http.ResponseWriter, r *http.Request) {
	ns := namespaceOf("", r)
	list, err := s.cfg.Control.List(r.Context(), ns)
	if err != nil {
		s.fail(w, r, err, opOther)
		return
	}
	if list == nil {
		list = []api.FunctionStatus{}
	}
	for i := range list {
		st := &list[i]
		normalize(st, ns)
		if st.InvocationCount == 0 && s.cfg.Metrics != nil {
			st.InvocationCount = s.cfg.Metrics.Invocations(st.Name + "." + st.Namespace)
		}
	}
	s.writeJSON(w, list)
}

func (s *Server) deployFunction(w http.ResponseWriter, r *http.Request) {
	s.deploy(w, r, false)
}

func (s *Server) updateFunction(w http.ResponseWriter, r *http.Request) {
	s.deploy(w, r, true)
}

func (s *Server) deploy(w http.ResponseWriter, r *http.Request, update bool) {
	o := opCreateFunction
	if update {
		o = opUpdateFunction
	}
	var d api.FunctionDeployment
	if err := s.decode(w, r, &d); err != nil {
		s.fail(w, r, err, o)
		return
	}
	d.Namespace = namespaceOf(d.Namespace, r)
	if err := d.Validate(); err != nil {
		s.fail(w, r, err, o)
		return
	}
	if err := s.cfg.Control.Deploy(r.Context(), d, update); err != nil {
		if !update && errors.Is(err, api.ErrExists) {
			msg := fmt.Sprintf("function %s already exists in namespace %s, use PUT to update", d.Service, d.Namespace)
			http.Error(w, msg, http.StatusBadRequest)
			return
		}
		s.fail(w, r, err, o)
		return
	}
	accepted(w)
}

func (s *Server) deleteFunction(w http.ResponseWriter, r *http.Request) {
	var req api.DeleteFunctionRequest
	if err := s.decode(w, r, &req); err != nil {
		s.fail(w, r, err, opOther)
		return
	}
	if req.FunctionName == "" {
		http.Error(w, "functionName is required", http.StatusBadRequest)
		return
	}
	if err := s.cfg.Control.Remove(r.Context(), namespaceOf(req.Namespace, r), req.FunctionName); err != nil {
		s.fail(w, r, err, opOther)
		return
	}
	accepted(w)
}

func (s *Server) getFunction(w http.ResponseWriter, r *http.Request) {
	usage, _ := strconv.ParseBool(r.URL.Query().Get("usage"))
	ns := namespaceOf("", r)
	st, err := s.cfg.Control.Get(r.Context(), ns, r.PathValue("name"), usage)
	if err != nil {
		s.fail(w, r, err, opOther)
		return
	}
	normalize(&st, ns)
	if !usage {
		st.Usage = nil
	}
	s.writeJSON(w, st)
}

func (s *Server) scaleFunction(w http.ResponseWriter, r *http.Request) {
	var req api.ScaleServiceRequest
	if err := s.decode(w, r, &req); err != nil {
		s.fail(w, r, err, opOther)
		return
	}
	ns := namespaceOf(req.Namespace, r)
	if err := s.cfg.Control.Scale(r.Context(), ns, r.PathValue("name"), req.Replicas); err != nil {
		s.fail(w, r, err, opOther)
		return
	}
	accepted(w)
}

// normalize enforces the serialisation rules clients rely on: namespace set,
// labels and annotations always objects.
func normalize(st *api.FunctionStatus, ns string) {
	if st.Namespace == "" {
		st.Namespace = ns
	}
	if st.Labels == nil {
		st.Labels = map[string]string{}
	}
	if st.Annotations == nil {
		st.Annotations = map[string]string{}
	}
}
