package gateway

import (
	"net/http"
	goruntime "runtime"

	"github.com/fjord-faas/fjord/internal/api"
	"github.com/fjord-faas/fjord/internal/runtime"
	"github.com/fjord-faas/fjord/internal/version"
)

// ProviderName is reported as provider.provider by /system/info.
const ProviderName = "fjord"

// gatewayInfo builds the /system/info body; every required field is non-empty.
func gatewayInfo(orchestration string, caps runtime.Capabilities) api.GatewayInfo {
	v := version.Get()
	return api.GatewayInfo{
		Provider: &api.ProviderInfo{
			Name:          ProviderName,
			Orchestration: orchestration,
			Version:       &api.VersionInfo{SHA: v.SHA, Release: v.Release},
		},
		Version: &api.VersionInfo{CommitMessage: v.CommitMessage, SHA: v.SHA, Release: v.Release},
		Arch:    goruntime.GOARCH,
		Runtime: &api.RuntimeInfo{Isolation: caps.Isolation, LimitsEnforced: caps.LimitsEnforced, LimitsReason: caps.LimitsReason},
	}
}

func (s *Server) info(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, gatewayInfo(s.cfg.Control.Orchestration(), s.cfg.Control.Capabilities()))
}
