package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/fjord-faas/fjord/internal/api"
)

// newSecretCmd groups the secret subcommands.
func newSecretCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "secret",
		Aliases: []string{"secrets"},
		Short:   "Manage function secrets",
		Long: `Create, list, update and remove secrets. A function lists the secrets it
needs under "secrets:" in the stack and reads them from /var/openfaas/secrets/NAME.`,
		Example: `  fjord secret create db-pass --from-literal 's3cret'
  fjord secret create tls-key --from-file ./key.pem --replace
  echo -n token | fjord secret create api-token
  fjord secret list -n staging
  fjord secret apply            # every file in ./.secrets/`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newSecretWriteCmd("create"), newSecretWriteCmd("update"),
		newSecretListCmd(), newSecretRemoveCmd(), newSecretApplyCmd())
	return cmd
}

type secretSource struct {
	literal, file string
	trim          bool
}

func (s *secretSource) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&s.literal, "from-literal", "", "the secret's value")
	cmd.Flags().StringVar(&s.file, "from-file", "", "read the value from this file")
	cmd.Flags().BoolVar(&s.trim, "trim", true, "trim leading and trailing whitespace from the value")
}

// read returns the value from --from-literal, --from-file or stdin.
func (s *secretSource) read(cmd *cobra.Command) ([]byte, error) {
	var data []byte
	switch {
	case s.literal != "" && s.file != "":
		return nil, errors.New("give only one of --from-literal and --from-file")
	case s.literal != "":
		data = []byte(s.literal)
	case s.file != "":
		b, err := os.ReadFile(s.file)
		if err != nil {
			return nil, fmt.Errorf("read secret: %w", err)
		}
		data = b
	default:
		if isTTY(cmd.InOrStdin()) {
			fmt.Fprintln(cmd.ErrOrStderr(), "Reading the secret from stdin; end with Ctrl-D.")
		}
		b, err := io.ReadAll(cmd.InOrStdin())
		if err != nil {
			return nil, fmt.Errorf("read secret from stdin: %w", err)
		}
		data = b
	}
	if s.trim {
		data = bytes.TrimSpace(data)
	}
	if len(data) == 0 {
		return nil, errors.New("the secret's value is empty")
	}
	return data, nil
}

func newSecretWriteCmd(verb string) *cobra.Command {
	o := &gatewayOpts{}
	src := &secretSource{}
	var replace bool
	cmd := &cobra.Command{
		Use:   verb + " NAME",
		Short: map[string]string{"create": "Create a secret", "update": "Change a secret's value"}[verb],
		Example: fmt.Sprintf(`  fjord secret %[1]s db-pass --from-literal 's3cret'
  fjord secret %[1]s tls-key --from-file ./key.pem
  cat token.txt | fjord secret %[1]s api-token`, verb),
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := api.ValidateSecretName(args[0]); err != nil {
				return err
			}
			data, err := src.read(cmd)
			if err != nil {
				return err
			}
			c, err := o.clientFromOptionalStack(cmd)
			if err != nil {
				return err
			}
			s := api.Secret{Name: args[0], Namespace: o.namespace, RawValue: data}
			if verb == "create" {
				err = c.CreateSecret(cmd.Context(), s, replace)
			} else {
				err = c.UpdateSecret(cmd.Context(), s)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Secret %s %sd.\n", args[0], verb)
			return nil
		},
	}
	o.addGatewayFlags(cmd)
	src.addFlags(cmd)
	if verb == "create" {
		cmd.Flags().BoolVar(&replace, "replace", false, "update the secret if it already exists")
	}
	return cmd
}

func newSecretListCmd() *cobra.Command {
	o := &gatewayOpts{}
	cmd := &cobra.Command{
		Use: "list", Aliases: []string{"ls"}, Short: "List secret names (never values)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := o.clientFromOptionalStack(cmd)
			if err != nil {
				return err
			}
			list, err := c.ListSecrets(cmd.Context(), o.namespace)
			if err != nil {
				return err
			}
			if len(list) == 0 {
				fmt.Fprintln(cmd.ErrOrStderr(), "No secrets found.")
				return nil
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 3, ' ', 0)
			fmt.Fprintln(tw, "NAME\tNAMESPACE")
			for _, s := range list {
				fmt.Fprintf(tw, "%s\t%s\n", s.Name, s.Namespace)
			}
			return tw.Flush()
		},
	}
	o.addGatewayFlags(cmd)
	return cmd
}

func newSecretRemoveCmd() *cobra.Command {
	o := &gatewayOpts{}
	cmd := &cobra.Command{
		Use: "remove NAME", Aliases: []string{"rm", "delete"}, Short: "Remove a secret", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.clientFromOptionalStack(cmd)
			if err != nil {
				return err
			}
			if err := c.RemoveSecret(cmd.Context(), args[0], o.namespace); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Secret %s removed.\n", args[0])
			return nil
		},
	}
	o.addGatewayFlags(cmd)
	return cmd
}
