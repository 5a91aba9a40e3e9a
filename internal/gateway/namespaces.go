package gateway

import (
	"fmt"
	"net/http"

	"github.com/fjord-faas/fjord/internal/api"
)

// errNoOpenFaaSLabel: faas-cli always sends the label; other clients must too.
var errNoOpenFaaSLabel = fmt.Errorf(`%w: namespace needs the label openfaas: "1"`, api.ErrInvalid)

func (s *Server) listNamespaces(w http.ResponseWriter, r *http.Request) {
	list, err := s.cfg.Control.ListNamespaces(r.Context())
	if err != nil {
		s.fail(w, r, err, opOther)
		return
	}
	if list == nil {
		list = []string{}
	}
	s.writeJSON(w, list)
}

func (s *Server) getNamespace(w http.ResponseWriter, r *http.Request) {
	ns, err := s.cfg.Control.GetNamespace(r.Context(), r.PathValue("name"))
	if err != nil {
		s.fail(w, r, err, opOther)
		return
	}
	s.writeJSON(w, ns)
}

func (s *Server) createNamespace(w http.ResponseWriter, r *http.Request) {
	var ns api.FunctionNamespace
	if err := s.decode(w, r, &ns); err != nil {
		s.fail(w, r, err, opOther)
		return
	}
	if err := checkNamespace(ns); err != nil {
		s.fail(w, r, err, opOther)
		return
	}
	if err := s.cfg.Control.CreateNamespace(r.Context(), ns); err != nil {
		s.fail(w, r, err, opOther)
		return
	}
	accepted(w)
}

func (s *Server) updateNamespace(w http.ResponseWriter, r *http.Request) {
	var ns api.FunctionNamespace
	if err := s.decode(w, r, &ns); err != nil {
		s.fail(w, r, err, opOther)
		return
	}
	name := r.PathValue("name")
	if ns.Name == "" {
		ns.Name = name
	}
	if ns.Name != name {
		http.Error(w, fmt.Sprintf("namespace %q in the body differs from %q in the path", ns.Name, name), http.StatusBadRequest)
		return
	}
	if err := checkNamespace(ns); err != nil {
		s.fail(w, r, err, opOther)
		return
	}
	if err := s.cfg.Control.UpdateNamespace(r.Context(), ns); err != nil {
		s.fail(w, r, err, opOther)
		return
	}
	accepted(w)
}

// deleteNamespace ignores the body (faas-cli sends the name and label).
func (s *Server) deleteNamespace(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if name == api.DefaultNamespace {
		http.Error(w, "the namespace "+api.DefaultNamespace+" cannot be deleted", http.StatusBadRequest)
		return
	}
	if err := s.cfg.Control.DeleteNamespace(r.Context(), name); err != nil {
		s.fail(w, r, err, opOther)
		return
	}
	accepted(w)
}

func checkNamespace(ns api.FunctionNamespace) error {
	if err := api.ValidateName("namespace", ns.Name); err != nil {
		return err
	}
	if ns.Labels["openfaas"] != "1" {
		return errNoOpenFaaSLabel
	}
	return nil
}
