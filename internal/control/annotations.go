package control

import (
	"context"
	"fmt"
	"maps"

	"github.com/fjord-faas/fjord/internal/runtime"
)

// Annotations returns a copy of a deployed function's annotations as stored
// (the async worker reads its retry settings from them). An unknown function
// is api.ErrNotFound.
func (s *Service) Annotations(ctx context.Context, ref runtime.Ref) (map[string]string, error) {
	ref.Namespace = orDefault(ref.Namespace)
	rec, err := s.store.GetFunction(ctx, ref.Namespace, ref.Name)
	if err != nil {
		return nil, fmt.Errorf("read function %s: %w", ref, err)
	}
	return maps.Clone(rec.Deployment.AnnotationMap()), nil
}
