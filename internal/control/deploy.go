package control

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/fjord-faas/fjord/internal/api"
	"github.com/fjord-faas/fjord/internal/runtime"
	"github.com/fjord-faas/fjord/internal/store"
)

// Deploy creates (update=false) or updates (update=true) a function and applies
// it to the runtime. Every call raises the revision, so the runtime rolls the
// replicas onto re-read secrets and a re-resolved image. If the runtime rejects
// the spec, the stored state is rolled back.
func (s *Service) Deploy(ctx context.Context, d api.FunctionDeployment, update bool) error {
	if err := d.Validate(); err != nil {
		return err
	}
	if err := s.checkNamespace(ctx, d.Namespace); err != nil {
		return err
	}
	secrets, err := s.resolveSecrets(ctx, d.Namespace, d.Secrets, true)
	if err != nil {
		return err
	}
	d = normalise(d)
	ref := runtime.Ref{Name: d.Service, Namespace: d.Namespace}
	unlock := s.lock(ref)
	defer unlock()

	var rec, prev store.FunctionRecord
	if update {
		rec, prev, err = s.updateRecord(ctx, d)
	} else {
		rec, err = s.createRecord(ctx, d)
	}
	if err != nil {
		return err
	}
	if err := s.rt.Apply(ctx, specFor(rec, secrets)); err != nil {
		s.rollback(ctx, ref, prev, update)
		return fmt.Errorf("apply function %s: %w", ref, err)
	}
	s.setEntry(ref, &rec)
	s.log.Info("function deployed", "function", ref.String(), "image", d.Image,
		"revision", rec.Revision, "replicas", rec.Replicas, "update", update)
	return nil
}

// normalise copies the caller's maps and adds the faas_function label.
func normalise(d api.FunctionDeployment) api.FunctionDeployment {
	labels := maps.Clone(d.LabelMap())
	labels[api.LabelFaasFunction] = d.Service
	d.Labels = &labels
	if d.Annotations != nil {
		a := maps.Clone(d.AnnotationMap())
		d.Annotations = &a
	}
	if len(d.EnvVars) == 0 {
		d.EnvVars = nil
	} else {
		d.EnvVars = maps.Clone(d.EnvVars)
	}
	return d
}

func (s *Service) createRecord(ctx context.Context, d api.FunctionDeployment) (store.FunctionRecord, error) {
	now := s.now()
	rec := store.FunctionRecord{
		Deployment: d,
		Replicas:   api.ParseScale(d.LabelMap()).InitialReplicas(),
		Revision:   1,
		CreatedAt:  now,
		UpdatedAt:  now,
	}
	err := s.store.CreateFunction(ctx, rec)
	if errors.Is(err, api.ErrExists) {
		return rec, fmt.Errorf("%w: function %s already exists in namespace %s, use PUT to update",
			api.ErrExists, d.Service, d.Namespace)
	}
	if err != nil {
		return rec, fmt.Errorf("store function %s: %w", d.Service, err)
	}
	return rec, nil
}

// updateRecord replaces the deployment, keeping the replica count within
// [min, max] of the new labels; it returns the new and the previous record.
func (s *Service) updateRecord(ctx context.Context, d api.FunctionDeployment) (store.FunctionRecord, store.FunctionRecord, error) {
	var prev store.FunctionRecord
	rec, err := s.store.UpdateFunction(ctx, d.Namespace, d.Service, func(r *store.FunctionRecord) error {
		prev = *r
		sc := api.ParseScale(d.LabelMap())
		r.Deployment = d
		r.Replicas = min(max(r.Replicas, sc.Min), sc.Max)
		r.Revision++
		r.UpdatedAt = s.now()
		return nil
	})
	if err != nil {
		return rec, prev, fmt.Errorf("update function %s: %w", d.Service, err)
	}
	return rec, prev, nil
}

// rollback undoes the store change of a deploy the runtime rejected.
func (s *Service) rollback(ctx context.Context, ref runtime.Ref, prev store.FunctionRecord, update bool) {
	ctx = context.WithoutCancel(ctx)
	var err error
	if update {
		err = s.store.PutFunction(ctx, prev)
	} else {
		err = s.store.DeleteFunction(ctx, ref.Namespace, ref.Name)
	}
	if err != nil {
		s.log.Error("roll back rejected deploy failed", "function", ref.String(), "error", err)
	}
}

// Remove deletes a function from the runtime, then from the store.
func (s *Service) Remove(ctx context.Context, namespace, name string) error {
	ref := runtime.Ref{Name: name, Namespace: orDefault(namespace)}
	if err := s.checkNamespace(ctx, ref.Namespace); err != nil {
		return err
	}
	unlock := s.lock(ref)
	defer unlock()
	if _, err := s.store.GetFunction(ctx, ref.Namespace, ref.Name); err != nil {
		return err
	}
	if err := s.rt.Remove(ctx, ref); err != nil && !errors.Is(err, runtime.ErrNotFound) {
		return fmt.Errorf("remove function %s: %w", ref, err)
	}
	if err := s.store.DeleteFunction(ctx, ref.Namespace, ref.Name); err != nil {
		return fmt.Errorf("remove function %s: %w", ref, err)
	}
	s.setEntry(ref, nil)
	s.log.Info("function removed", "function", ref.String())
	return nil
}

// Scale sets the desired replicas, clamped to the function's max.
func (s *Service) Scale(ctx context.Context, namespace, name string, replicas uint64) error {
	ref := runtime.Ref{Name: name, Namespace: orDefault(namespace)}
	if err := s.checkNamespace(ctx, ref.Namespace); err != nil {
		return err
	}
	unlock := s.lock(ref)
	defer unlock()
	rec, err := s.store.UpdateFunction(ctx, ref.Namespace, ref.Name, func(r *store.FunctionRecord) error {
		n := api.ParseScale(r.Deployment.LabelMap()).ClampReplicas(replicas)
		if n == r.Replicas {
			return errNoChange
		}
		r.Replicas = n
		r.UpdatedAt = s.now()
		return nil
	})
	if errors.Is(err, errNoChange) {
		rec, err = s.store.GetFunction(ctx, ref.Namespace, ref.Name)
	}
	if err != nil {
		return fmt.Errorf("scale function %s: %w", ref, err)
	}
	s.setEntry(ref, &rec)
	return s.scaleRuntime(ctx, rec)
}

// scaleRuntime hands the stored replica count to the runtime; a runtime that
// lost the function (e.g. its restore failed) gets the whole spec again.
func (s *Service) scaleRuntime(ctx context.Context, rec store.FunctionRecord) error {
	ref := refOf(rec)
	err := s.rt.Scale(ctx, ref, rec.Replicas)
	if errors.Is(err, runtime.ErrNotFound) {
		err = s.apply(ctx, rec)
	}
	if err != nil {
		return fmt.Errorf("scale function %s: %w", ref, err)
	}
	return nil
}

// apply sends a stored function to the runtime; a secret deleted since the
// deploy is left out (and logged) rather than keeping the function down.
func (s *Service) apply(ctx context.Context, rec store.FunctionRecord) error {
	d := rec.Deployment
	secrets, err := s.resolveSecrets(ctx, d.Namespace, d.Secrets, false)
	if err != nil {
		return err
	}
	return s.rt.Apply(ctx, specFor(rec, secrets))
}
