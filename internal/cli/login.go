package cli

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fjord-faas/fjord/internal/client"
	"github.com/fjord-faas/fjord/internal/stack"
)

type loginOpts struct {
	gatewayOpts
	passwordStdin bool
}

// newLoginCmd checks credentials against a gateway and stores them (faas-cli format).
func newLoginCmd() *cobra.Command {
	o := &loginOpts{}
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Store the gateway's credentials",
		Long: `Check a user and password against the gateway (GET /system/functions) and
store them in ~/.openfaas/config.yml (the faas-cli file; $OPENFAAS_CONFIG
names another directory). Later commands use them for that gateway.
The password of "fjord serve" is printed at start-up and kept in its secrets dir.`,
		Example: `  cat password.txt | fjord login -u admin --password-stdin
  fjord login --gateway http://10.0.0.5:8080 -u admin -p "$PASSWORD"`,
		Args: cobra.NoArgs,
		RunE: o.run,
	}
	f := cmd.Flags()
	f.StringVarP(&o.gateway, "gateway", "g", stack.DefaultGateway, "gateway URL (else provider.gateway of the stack, else $OPENFAAS_URL)")
	f.StringVarP(&o.username, "username", "u", "admin", "gateway user")
	f.StringVarP(&o.password, "password", "p", "", "gateway password (prefer --password-stdin)")
	f.BoolVarP(&o.passwordStdin, "password-stdin", "s", false, "read the password from stdin")
	o.addStackFlags(cmd)
	return cmd
}

func (o *loginOpts) run(cmd *cobra.Command, _ []string) error {
	if o.passwordStdin {
		if o.password != "" {
			return errors.New("--password and --password-stdin are mutually exclusive")
		}
		data, err := io.ReadAll(cmd.InOrStdin())
		if err != nil {
			return fmt.Errorf("read password: %w", err)
		}
		o.password = strings.TrimSpace(string(data))
	} else if o.password != "" {
		fmt.Fprintln(cmd.ErrOrStderr(), "WARNING! Using --password is insecure, consider using: --password-stdin")
	}
	if o.password == "" {
		return errors.New("a password is required: use --password-stdin or -p")
	}
	st, err := o.loadStack(o.yaml != "")
	if err != nil {
		return err
	}
	gw := o.gatewayURL(cmd, st)
	c := client.New(gw, client.Options{Username: o.username, Password: o.password})
	fmt.Fprintf(cmd.ErrOrStderr(), "Calling the gateway to validate the credentials at %s\n", gw)
	if _, err := c.List(cmd.Context(), ""); err != nil {
		if client.StatusCode(err) == http.StatusUnauthorized {
			return errors.New("unable to login: invalid credentials")
		}
		return fmt.Errorf("unable to login: %w", err)
	}
	if err := client.SaveAuth(gw, o.username, o.password); err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "credentials saved for %s %s\n", o.username, gw)
	return nil
}
