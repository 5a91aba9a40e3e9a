package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/fjord-faas/fjord/internal/client"
)

// newAsyncCmd groups the commands for async calls that failed for good.
func newAsyncCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "async",
		Short: "List, replay and remove async calls that failed for good (dead letters)",
		Long: `An async call (POST /async-function/NAME, or fjord invoke NAME --async) is retried
as the function's com.openfaas.retry.* annotations say. A call that runs out of attempts,
or fails with a status that is not retried, becomes a dead letter: it is kept, with its
last status, attempts and error, until you replay or remove it.

Replay queues the call again with the same X-Call-Id and a fresh attempt budget;
its callback fires again. Remove drops it. Both take the ID that list prints.

These commands use the admin login (fjord login), like every /system/ call.`,
		Example: `  fjord async list
  fjord async list -n staging --json
  fjord async replay 42
  fjord async remove 42`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newAsyncListCmd(), newAsyncReplayCmd(), newAsyncRemoveCmd())
	return cmd
}

func newAsyncListCmd() *cobra.Command {
	o := &gatewayOpts{}
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List dead letters, oldest first",
		Long: `List the async calls that failed for good, oldest first: the ID to replay or
remove, the function, its last status (503: no replica answered), the calls made,
the last error and when it was given up. Without -n, every namespace is listed.
--json prints the gateway's answer, the queued call (headers, body in base64) included.`,
		Example: `  fjord async list
  fjord async list -n openfaas-fn
  fjord async list --json | jq -r '.[].id'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := o.clientFromOptionalStack(cmd)
			if err != nil {
				return err
			}
			list, err := c.ListDeadLetters(cmd.Context(), o.namespace)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(list)
			}
			if len(list) == 0 {
				fmt.Fprintln(cmd.ErrOrStderr(), "No dead letters.")
				return nil
			}
			tw := tabwriter.NewWriter(out, 0, 0, 3, ' ', 0)
			fmt.Fprintln(tw, "ID\tFUNCTION\tSTATUS\tATTEMPTS\tERROR\tTIME")
			for _, d := range list {
				fn := d.Function
				if d.Namespace != "" {
					fn += "." + d.Namespace
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\n", d.ID, fn, d.Status, d.Attempts,
					oneLine(d.Error, 60), d.Time.Local().Format(time.DateTime))
			}
			return tw.Flush()
		},
	}
	o.addGatewayFlags(cmd)
	cmd.Flags().Lookup("namespace").Usage = "list only this namespace (default: all)"
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the gateway's JSON, with each queued call")
	return cmd
}

// oneLine makes s fit one table cell of at most n runes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	if s == "" {
		return "-"
	}
	return s
}

func newAsyncReplayCmd() *cobra.Command {
	o := &gatewayOpts{}
	cmd := &cobra.Command{
		Use:   "replay ID...",
		Short: "Queue dead letters again",
		Long: `Queue each dead letter again, with its original X-Call-Id, headers and body,
and a fresh attempt budget; it leaves the dead-letter list. Its callback fires
again when it finishes. IDs come from fjord async list.`,
		Example: `  fjord async replay 42
  fjord async list --json | jq -r '.[].id' | xargs fjord async replay`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return eachDeadLetter(cmd, o, args, "queued again", func(c *client.Client, id string) error {
				return c.ReplayDeadLetter(cmd.Context(), id)
			})
		},
	}
	o.addGatewayFlags(cmd)
	return cmd
}

func newAsyncRemoveCmd() *cobra.Command {
	o := &gatewayOpts{}
	cmd := &cobra.Command{
		Use:     "remove ID...",
		Aliases: []string{"rm", "delete"},
		Short:   "Drop dead letters for good",
		Example: `  fjord async remove 42 43`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return eachDeadLetter(cmd, o, args, "removed", func(c *client.Client, id string) error {
				return c.RemoveDeadLetter(cmd.Context(), id)
			})
		},
	}
	o.addGatewayFlags(cmd)
	return cmd
}

// eachDeadLetter runs do for every id, reports each success, and returns the
// first error after trying all of them.
func eachDeadLetter(cmd *cobra.Command, o *gatewayOpts, ids []string, done string, do func(*client.Client, string) error) error {
	for _, id := range ids {
		if n, err := strconv.ParseUint(id, 10, 64); err != nil || n == 0 {
			return fmt.Errorf("%q is not a dead-letter ID (a number, as fjord async list shows)", id)
		}
	}
	c, err := o.clientFromOptionalStack(cmd)
	if err != nil {
		return err
	}
	var first error
	for _, id := range ids {
		if err := do(c, id); err != nil {
			if client.StatusCode(err) == http.StatusNotFound {
				err = fmt.Errorf("dead letter %s not found (already replayed or removed?)", id)
			}
			if len(ids) > 1 {
				fmt.Fprintln(cmd.ErrOrStderr(), "Error:", err)
			}
			if first == nil {
				first = err
			}
			continue
		}
		fmt.Fprintf(cmd.OutOrStdout(), "Dead letter %s %s.\n", id, done)
	}
	if first != nil && len(ids) > 1 {
		return fmt.Errorf("some dead letters failed: %w", first)
	}
	return first
}
