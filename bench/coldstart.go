package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"time"
)

// coldResult is the scale-from-zero latency of one template.
type coldResult struct {
	template string
	samples  []time.Duration // sorted
	failures int
}

func (c coldResult) quantile(q float64) time.Duration {
	if len(c.samples) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(c.samples)))) - 1
	return c.samples[max(0, min(i, len(c.samples)-1))]
}

// runCold deploys "cold-<lang>" at zero replicas from the warm function's image
// and measures, n times, one request through the gateway from send to a 200,
// scaling back to zero (and waiting until the replica has stopped) between the samples.
func runCold(ctx context.Context, d *daemon, lang string, n int) (coldResult, error) {
	res := coldResult{template: lang}
	src, err := d.status(ctx, "bench-"+lang)
	if err != nil {
		return res, err
	}
	name := "cold-" + lang
	if err := d.deployZero(ctx, name, src.Image); err != nil {
		return res, err
	}
	defer func() {
		_ = d.api(context.Background(), http.MethodDelete, "/system/functions", map[string]string{"functionName": name}, nil)
	}()
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for i := 0; i < n; i++ {
		if err := d.waitReplicas(ctx, name, 0, 60*time.Second); err != nil {
			return res, err
		}
		dur, err := coldOnce(ctx, client, d.url("/function/"+name))
		if err != nil {
			res.failures++
		} else {
			res.samples = append(res.samples, dur)
		}
		if err := d.scale(ctx, name, 0); err != nil {
			return res, err
		}
	}
	slices.Sort(res.samples)
	if len(res.samples) == 0 {
		return res, fmt.Errorf("cold start %s: all %d attempts failed", lang, n)
	}
	return res, nil
}

// coldOnce times one request from send to the end of a 200 response.
func coldOnce(ctx context.Context, client *http.Client, url string) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, fmt.Errorf("cold call: %w", err)
	}
	t0 := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("cold call: %w", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	dur := time.Since(t0)
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("cold call: %s", resp.Status)
	}
	return dur, nil
}
