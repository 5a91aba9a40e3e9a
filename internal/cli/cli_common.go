package cli

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fjord-faas/fjord/internal/client"
	"github.com/fjord-faas/fjord/internal/stack"
)

// gatewayOpts are the flags shared by every command that talks to a gateway.
type gatewayOpts struct {
	gateway   string
	namespace string
	username  string
	password  string
	token     string
	yaml      string
	envsubst  bool
}

// addGatewayFlags registers -g, -n, -f, --envsubst and the credential flags.
func (o *gatewayOpts) addGatewayFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVarP(&o.gateway, "gateway", "g", stack.DefaultGateway, "gateway URL (else provider.gateway of the stack, else $OPENFAAS_URL)")
	f.StringVarP(&o.namespace, "namespace", "n", "", "namespace of the function (default: the gateway's, openfaas-fn)")
	f.StringVarP(&o.token, "token", "k", "", "bearer token instead of the stored credentials")
	f.StringVar(&o.username, "username", "", "basic-auth user instead of the stored credentials")
	f.StringVar(&o.password, "password", "", "basic-auth password instead of the stored credentials")
	o.addStackFlags(cmd)
}

// addStackFlags registers -f/--yaml and --envsubst.
func (o *gatewayOpts) addStackFlags(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&o.yaml, "yaml", "f", "", "stack file (default: stack.yaml, else stack.yml)")
	cmd.Flags().BoolVar(&o.envsubst, "envsubst", true, "substitute ${VAR} and ${VAR:-default} in the stack file")
}

// loadStack parses the stack file. With required=false a missing default file
// is not an error (the result is nil), but a named file must exist.
func (o *gatewayOpts) loadStack(required bool) (*stack.Stack, error) {
	path := o.yaml
	if path == "" {
		p, err := stack.FindFile(".")
		if errors.Is(err, stack.ErrNoStackFile) && !required {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w; name one with -f", err)
		}
		path = p
	}
	return stack.ParseFile(path, stack.ParseOptions{EnvSubst: o.envsubst})
}

// gatewayURL resolves the gateway in faas-cli's order.
func (o *gatewayOpts) gatewayURL(cmd *cobra.Command, st *stack.Stack) string {
	return stack.GatewayURL(o.gateway, cmd.Flags().Changed("gateway"), st)
}

// credentials returns the client options for gw: the flags when given, else
// the stored credentials.
func (o *gatewayOpts) credentials(gw string) (client.Options, error) {
	if o.token != "" || o.username != "" || o.password != "" {
		user := o.username
		if user == "" && o.token == "" {
			user = "admin"
		}
		return client.Options{Username: user, Password: o.password, Token: o.token}, nil
	}
	creds, err := client.LoadAuth(gw)
	if err != nil {
		return client.Options{}, err
	}
	return creds.Options(), nil
}

// client builds a gateway client; flags win over the stored credentials.
func (o *gatewayOpts) client(cmd *cobra.Command, st *stack.Stack) (*client.Client, error) {
	gw := o.gatewayURL(cmd, st)
	opts, err := o.credentials(gw)
	if err != nil {
		return nil, err
	}
	return client.New(gw, opts), nil
}

// clientFromOptionalStack loads the default stack (if any) for its gateway, then a client.
func (o *gatewayOpts) clientFromOptionalStack(cmd *cobra.Command) (*client.Client, error) {
	st, err := o.loadStack(o.yaml != "")
	if err != nil {
		return nil, err
	}
	return o.client(cmd, st)
}

// functionURL is what deploy prints: <gw>/function/NAME[.NS].
func functionURL(gw, name, namespace string) string {
	if namespace != "" {
		name += "." + namespace
	}
	return gw + "/function/" + name
}

// isTTY reports whether stream (a reader or writer) is a terminal.
func isTTY(stream any) bool {
	f, ok := stream.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// parseKV turns ["k=v", ...] into a map; flag names the option in errors.
func parseKV(flag string, items []string) (map[string]string, error) {
	out := map[string]string{}
	for _, it := range items {
		k, v, ok := strings.Cut(it, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--%s %q: want key=value", flag, it)
		}
		out[k] = v
	}
	return out, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
