package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/fjord-faas/fjord/internal/api"
)

// newDescribeCmd shows one function's status.
func newDescribeCmd() *cobra.Command {
	o := &gatewayOpts{}
	cmd := &cobra.Command{
		Use:   "describe NAME",
		Short: "Show the status of a function",
		Long:  "Show a function's status, replicas, invocations, image, URL and, when the runtime reports it, its CPU and memory usage.",
		Example: `  fjord describe hello
  fjord describe hello -n staging`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.clientFromOptionalStack(cmd)
			if err != nil {
				return err
			}
			fn, err := c.Get(cmd.Context(), args[0], o.namespace)
			if err != nil {
				return err
			}
			// The invocation count is only reported by the list endpoint.
			if list, err := c.List(cmd.Context(), o.namespace); err == nil {
				for _, f := range list {
					if f.Name == fn.Name {
						fn.InvocationCount = f.InvocationCount
					}
				}
			}
			return printDescription(cmd.OutOrStdout(), fn, functionURL(c.Gateway(), fn.Name, o.namespace))
		},
	}
	o.addGatewayFlags(cmd)
	return cmd
}

func printDescription(w io.Writer, fn api.FunctionStatus, url string) error {
	status := "Not Ready"
	if fn.AvailableReplicas > 0 {
		status = "Ready"
	}
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	row := func(k string, v any) { fmt.Fprintf(tw, "%s:\t%v\n", k, v) }
	row("Name", fn.Name)
	row("Namespace", fn.Namespace)
	row("Status", status)
	row("Replicas", fn.Replicas)
	row("Available Replicas", fn.AvailableReplicas)
	row("Invocations", int64(fn.InvocationCount))
	row("Image", fn.Image)
	row("Function Process", fn.EnvProcess)
	row("URL", url)
	row("Async URL", strings.Replace(url, "/function/", "/async-function/", 1))
	row("Created", fn.CreatedAt.Format("2006-01-02 15:04:05 MST"))
	if fn.Usage != nil {
		row("CPU", fmt.Sprintf("%.3f cores", fn.Usage.CPU))
		row("Memory", fmt.Sprintf("%.1f MiB", fn.Usage.TotalMemoryBytes/(1<<20)))
	}
	if fn.Message != "" {
		row("Problem", fn.Message)
	}
	for _, in := range fn.Instances {
		line := fmt.Sprintf("%s, restarts %d", in.State, in.Restarts)
		if in.Message != "" {
			line += ", last: " + in.Message
		}
		row("Replica "+in.ID, line)
	}
	mapRows(tw, "Labels", fn.Labels)
	mapRows(tw, "Annotations", fn.Annotations)
	mapRows(tw, "Environment", fn.EnvVars)
	if len(fn.Secrets) > 0 {
		row("Secrets", strings.Join(fn.Secrets, ", "))
	}
	return tw.Flush()
}

func mapRows(tw io.Writer, title string, m map[string]string) {
	if len(m) == 0 {
		return
	}
	fmt.Fprintf(tw, "%s:\t\n", title)
	for _, k := range sortedKeys(m) {
		fmt.Fprintf(tw, "  %s:\t%s\n", k, m[k])
	}
}
