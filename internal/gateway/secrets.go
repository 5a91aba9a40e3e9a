package gateway

import (
	"context"
	"net/http"

	"github.com/fjord-faas/fjord/internal/api"
)

func (s *Server) listSecrets(w http.ResponseWriter, r *http.Request) {
	list, err := s.cfg.Control.ListSecrets(r.Context(), namespaceOf("", r))
	if err != nil {
		s.fail(w, r, err, opOther)
		return
	}
	out := make([]api.Secret, 0, len(list))
	for _, sec := range list {
		// Never values, whatever the control plane returned.
		out = append(out, api.Secret{Name: sec.Name, Namespace: sec.Namespace})
	}
	s.writeJSON(w, out)
}

func (s *Server) createSecret(w http.ResponseWriter, r *http.Request) {
	s.writeSecret(w, r, s.cfg.Control.CreateSecret)
}

func (s *Server) updateSecret(w http.ResponseWriter, r *http.Request) {
	s.writeSecret(w, r, s.cfg.Control.UpdateSecret)
}

func (s *Server) writeSecret(w http.ResponseWriter, r *http.Request, apply func(context.Context, api.Secret) error) {
	var sec api.Secret
	if err := s.decode(w, r, &sec); err != nil {
		s.fail(w, r, err, opOther)
		return
	}
	sec.Namespace = namespaceOf(sec.Namespace, r)
	if err := api.ValidateSecretName(sec.Name); err != nil {
		s.fail(w, r, err, opOther)
		return
	}
	if err := apply(r.Context(), sec); err != nil {
		s.fail(w, r, err, opOther)
		return
	}
	accepted(w)
}

func (s *Server) deleteSecret(w http.ResponseWriter, r *http.Request) {
	var sec api.Secret
	if err := s.decode(w, r, &sec); err != nil {
		s.fail(w, r, err, opOther)
		return
	}
	if err := api.ValidateSecretName(sec.Name); err != nil {
		s.fail(w, r, err, opOther)
		return
	}
	if err := s.cfg.Control.DeleteSecret(r.Context(), namespaceOf(sec.Namespace, r), sec.Name); err != nil {
		s.fail(w, r, err, opOther)
		return
	}
	accepted(w)
}
