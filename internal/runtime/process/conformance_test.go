package process

import (
	"testing"

	"github.com/fjord-faas/fjord/internal/runtime"
	"github.com/fjord-faas/fjord/internal/runtime/runtimetest"
	"github.com/fjord-faas/fjord/internal/testenv"
)

func fixtures() runtimetest.Fixtures {
	return runtimetest.Fixtures{
		Echo:  runtimetest.Fixture{Image: "fixtures/echo:latest", Env: map[string]string{"fprocess": "cat"}},
		Crash: runtimetest.Fixture{Image: "fixtures/crash:latest", Env: map[string]string{}},
	}
}

func TestConformanceFakeWatchdog(t *testing.T) {
	runtimetest.Run(t, func(t *testing.T) (runtime.Runtime, runtimetest.Fixtures) {
		rt, _ := newTestRuntime(t, []string{bins.fake})
		return rt, fixtures()
	})
}

func TestConformanceFjordWatchdog(t *testing.T) {
	testenv.Need(t, bins.fjord != "", bins.fjordSkip)
	if bins.fjordSkip != "" {
		t.Log(bins.fjordSkip + "; using ./testdata/watchdog")
	}
	runtimetest.Run(t, func(t *testing.T) (runtime.Runtime, runtimetest.Fixtures) {
		rt, _ := newTestRuntime(t, bins.fjordArgs)
		return rt, fixtures()
	})
}
