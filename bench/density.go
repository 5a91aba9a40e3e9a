package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/fjord-faas/fjord/internal/api"
)

// densityResult is the cost of many functions deployed at zero replicas.
type densityResult struct {
	n                   int
	deploy, list, del   time.Duration
	listed              int
	rssBefore, rssAfter int // kB
}

// runDensity deploys n functions at zero replicas from one already pushed
// image, one request at a time, lists them once and removes them again.
func runDensity(ctx context.Context, d *daemon, n int, image string) (densityResult, error) {
	res := densityResult{n: n}
	var err error
	if res.rssBefore, err = d.rssKB(); err != nil {
		return res, err
	}
	name := func(i int) string { return fmt.Sprintf("dense-%04d", i) }
	t0 := time.Now()
	for i := 0; i < n; i++ {
		if err := d.deployZero(ctx, name(i), image); err != nil {
			return res, err
		}
	}
	res.deploy = time.Since(t0)
	t0 = time.Now()
	var list []api.FunctionStatus
	if err := d.api(ctx, http.MethodGet, "/system/functions", nil, &list); err != nil {
		return res, err
	}
	res.list = time.Since(t0)
	res.listed = len(list)
	if res.rssAfter, err = d.rssKB(); err != nil {
		return res, err
	}
	t0 = time.Now()
	for i := 0; i < n; i++ {
		req := api.DeleteFunctionRequest{FunctionName: name(i)}
		if err := d.api(ctx, http.MethodDelete, "/system/functions", req, nil); err != nil {
			return res, err
		}
	}
	res.del = time.Since(t0)
	return res, nil
}
