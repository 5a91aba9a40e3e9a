package stack

import (
	"os"
	"strings"
)

// DefaultGateway is used when no flag, stack or environment names a gateway.
const DefaultGateway = "http://127.0.0.1:8080"

// GatewayURL picks the gateway as faas-cli does: the flag when set (or not the
// default), then provider.gateway (when not the default), then $OPENFAAS_URL,
// then DefaultGateway. The result is normalised by NormalizeGateway.
func GatewayURL(flag string, flagChanged bool, st *Stack) string {
	return gatewayURL(flag, flagChanged, st, os.Getenv("OPENFAAS_URL"))
}

func gatewayURL(flag string, flagChanged bool, st *Stack, env string) string {
	yamlURL := ""
	if st != nil {
		yamlURL = st.Provider.Gateway
	}
	switch {
	case flag != "" && (flagChanged || NormalizeGateway(flag) != DefaultGateway):
		return NormalizeGateway(flag)
	case yamlURL != "" && NormalizeGateway(yamlURL) != DefaultGateway:
		return NormalizeGateway(yamlURL)
	case env != "":
		return NormalizeGateway(env)
	default:
		return DefaultGateway
	}
}

// NormalizeGateway lower-cases a gateway URL, trims trailing slashes and adds
// "http://" when no scheme is given. Credentials are keyed by this form.
func NormalizeGateway(u string) string {
	u = strings.ToLower(strings.TrimSpace(u))
	u = strings.TrimRight(u, "/")
	if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		u = "http://" + u
	}
	return u
}
