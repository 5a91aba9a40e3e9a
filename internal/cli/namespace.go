package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fjord-faas/fjord/internal/api"
)

// newNamespaceCmd manages namespaces; with no subcommand it lists them.
func newNamespaceCmd() *cobra.Command {
	o := &gatewayOpts{}
	cmd := &cobra.Command{
		Use:     "namespace",
		Aliases: []string{"namespaces", "ns"},
		Short:   "Manage namespaces",
		Long:    "List, show, create, update and remove namespaces. openfaas-fn always exists.",
		Example: `  fjord namespaces
  fjord namespace create team-a --label env=dev
  fjord namespace get team-a
  fjord namespace remove team-a`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return listNamespaces(cmd, o) },
	}
	o.addGatewayFlags(cmd)
	cmd.AddCommand(newNamespaceListCmd(), newNamespaceGetCmd(),
		newNamespaceWriteCmd("create", "Create a namespace"),
		newNamespaceWriteCmd("update", "Replace a namespace's labels and annotations"),
		newNamespaceRemoveCmd())
	return cmd
}

func listNamespaces(cmd *cobra.Command, o *gatewayOpts) error {
	c, err := o.clientFromOptionalStack(cmd)
	if err != nil {
		return err
	}
	list, err := c.Namespaces(cmd.Context())
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	fmt.Fprintln(out, "Namespaces:")
	for _, n := range list {
		fmt.Fprintf(out, " - %s\n", n)
	}
	return nil
}

func newNamespaceListCmd() *cobra.Command {
	o := &gatewayOpts{}
	cmd := &cobra.Command{
		Use: "list", Aliases: []string{"ls"}, Short: "List namespaces", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return listNamespaces(cmd, o) },
	}
	o.addGatewayFlags(cmd)
	return cmd
}

func newNamespaceGetCmd() *cobra.Command {
	o := &gatewayOpts{}
	cmd := &cobra.Command{
		Use: "get NAME", Aliases: []string{"describe"}, Short: "Show a namespace as JSON", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.clientFromOptionalStack(cmd)
			if err != nil {
				return err
			}
			ns, err := c.GetNamespace(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(ns)
		},
	}
	o.addGatewayFlags(cmd)
	return cmd
}

func newNamespaceWriteCmd(verb, short string) *cobra.Command {
	o := &gatewayOpts{}
	var labels, annotations []string
	cmd := &cobra.Command{
		Use: verb + " NAME", Short: short, Args: cobra.ExactArgs(1),
		Example: fmt.Sprintf("  fjord namespace %s team-a --label env=dev --annotation owner=ana", verb),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := api.ValidateName("namespace", args[0]); err != nil {
				return err
			}
			ns := api.FunctionNamespace{Name: args[0]}
			var err error
			if ns.Labels, err = parseKV("label", labels); err != nil {
				return err
			}
			if ns.Annotations, err = parseKV("annotation", annotations); err != nil {
				return err
			}
			c, err := o.clientFromOptionalStack(cmd)
			if err != nil {
				return err
			}
			if verb == "create" {
				err = c.CreateNamespace(cmd.Context(), ns)
			} else {
				err = c.UpdateNamespace(cmd.Context(), ns)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Namespace %s %sd.\n", args[0], verb)
			return nil
		},
	}
	o.addGatewayFlags(cmd)
	cmd.Flags().StringArrayVarP(&labels, "label", "l", nil, "label key=value (repeatable)")
	cmd.Flags().StringArrayVar(&annotations, "annotation", nil, "annotation key=value (repeatable)")
	return cmd
}

func newNamespaceRemoveCmd() *cobra.Command {
	o := &gatewayOpts{}
	cmd := &cobra.Command{
		Use: "remove NAME", Aliases: []string{"rm", "delete"}, Short: "Remove an empty namespace", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.clientFromOptionalStack(cmd)
			if err != nil {
				return err
			}
			if err := c.RemoveNamespace(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Namespace %s removed.\n", args[0])
			return nil
		},
	}
	o.addGatewayFlags(cmd)
	return cmd
}
