package cli

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/fjord-faas/fjord/internal/api"
	"github.com/fjord-faas/fjord/internal/client"
)

type logsOpts struct {
	gatewayOpts
	tail     int
	since    time.Duration
	sinceAt  string
	follow   bool
	instance string
	output   string
}

// newLogsCmd streams a function's logs.
func newLogsCmd() *cobra.Command {
	o := &logsOpts{}
	cmd := &cobra.Command{
		Use:   "logs NAME",
		Short: "Stream the logs of a function",
		Long:  "Print a function's log lines (watchdog and function output) and, by default, keep following new ones.",
		Example: `  fjord logs hello
  fjord logs hello --tail 20 --follow=false
  fjord logs hello --since 10m -o json`,
		Args: cobra.ExactArgs(1),
		RunE: o.run,
	}
	o.addGatewayFlags(cmd)
	f := cmd.Flags()
	f.IntVar(&o.tail, "tail", -1, "print at most this many lines (-1 = all)")
	f.IntVar(&o.tail, "lines", -1, "alias of --tail")
	f.DurationVar(&o.since, "since", 0, "only lines newer than this duration, e.g. 5m")
	f.StringVar(&o.sinceAt, "since-time", "", "only lines newer than this RFC3339 time")
	f.BoolVar(&o.follow, "follow", true, "keep streaming new lines")
	f.StringVar(&o.instance, "instance", "", "only this replica")
	f.StringVarP(&o.output, "output", "o", "plain", "output format: plain, keyvalue or json")
	return cmd
}

func (o *logsOpts) request(name string) (client.LogsRequest, error) {
	r := client.LogsRequest{Name: name, Namespace: o.namespace, Instance: o.instance, Tail: o.tail, Follow: o.follow}
	switch {
	case o.sinceAt != "":
		t, err := time.Parse(time.RFC3339, o.sinceAt)
		if err != nil {
			return r, fmt.Errorf("--since-time: %w", err)
		}
		r.Since = t
	case o.since > 0:
		r.Since = time.Now().Add(-o.since)
	}
	switch o.output {
	case "plain", "keyvalue", "json":
	default:
		return r, fmt.Errorf("-o %q: want plain, keyvalue or json", o.output)
	}
	return r, nil
}

func (o *logsOpts) run(cmd *cobra.Command, args []string) error {
	r, err := o.request(args[0])
	if err != nil {
		return err
	}
	c, err := o.clientFromOptionalStack(cmd)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	enc := json.NewEncoder(out)
	return c.Logs(cmd.Context(), r, func(m api.LogMessage) error {
		var err error
		switch o.output {
		case "json":
			err = enc.Encode(m)
		case "keyvalue":
			_, err = fmt.Fprintf(out, "timestamp=%s name=%s instance=%s text=%q\n",
				m.Timestamp.Format(time.RFC3339Nano), m.Name, m.Instance, trimNL(m.Text))
		default:
			_, err = fmt.Fprintf(out, "%s %s (%s) %s\n",
				m.Timestamp.Format(time.RFC3339), m.Name, m.Instance, trimNL(m.Text))
		}
		return err
	})
}

func trimNL(s string) string {
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	return s
}
