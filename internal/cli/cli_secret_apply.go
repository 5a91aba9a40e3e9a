package cli

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/fjord-faas/fjord/internal/api"
)

// newSecretApplyCmd creates or updates one secret per file of a directory.
func newSecretApplyCmd() *cobra.Command {
	o := &gatewayOpts{}
	var dir string
	var trim bool
	cmd := &cobra.Command{
		Use:   "apply",
		Short: "Create or update a secret for each file in ./.secrets/",
		Long:  "Each regular file of the directory becomes a secret named after the file; existing secrets are updated.",
		Example: `  fjord secret apply
  fjord secret apply --dir ./prod-secrets -n prod`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			entries, err := os.ReadDir(dir)
			if err != nil {
				return fmt.Errorf("read secrets dir: %w", err)
			}
			c, err := o.clientFromOptionalStack(cmd)
			if err != nil {
				return err
			}
			var errs []error
			for _, e := range entries {
				if !e.Type().IsRegular() {
					continue
				}
				data, err := os.ReadFile(filepath.Join(dir, e.Name()))
				if err != nil {
					errs = append(errs, fmt.Errorf("read secret %s: %w", e.Name(), err))
					continue
				}
				if trim {
					data = bytes.TrimSpace(data)
				}
				s := api.Secret{Name: e.Name(), Namespace: o.namespace, RawValue: data}
				if err := c.CreateSecret(cmd.Context(), s, true); err != nil {
					errs = append(errs, err)
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Secret %s applied.\n", e.Name())
			}
			return errors.Join(errs...)
		},
	}
	o.addGatewayFlags(cmd)
	cmd.Flags().StringVar(&dir, "dir", ".secrets", "directory of secret files")
	cmd.Flags().BoolVar(&trim, "trim", true, "trim leading and trailing whitespace from each value")
	return cmd
}
