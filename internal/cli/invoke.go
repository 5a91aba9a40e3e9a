package cli

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fjord-faas/fjord/internal/client"
)

type invokeOpts struct {
	gatewayOpts
	async               bool
	headers, query      []string
	method, contentType string
	callbackURL, path   string
	showStatus          bool
}

// newInvokeCmd calls a function with stdin as the body.
func newInvokeCmd() *cobra.Command {
	o := &invokeOpts{}
	cmd := &cobra.Command{
		Use:   "invoke NAME",
		Short: "Call a function, sending stdin as the body",
		Long: `Call /function/NAME.NAMESPACE with stdin as the request body and print the
response body. A non-2xx answer is an error. With --async the call is queued
(POST /async-function/NAME.NAMESPACE, 202 expected) and its call id printed.
Gateway credentials are never sent to functions.`,
		Example: `  echo -n hi | fjord invoke hello
  fjord invoke hello -m GET --query name=ana < /dev/null
  fjord invoke hello -H X-Trace=1 --content-type application/json < payload.json
  fjord invoke hello --async --callback-url http://127.0.0.1:9000/done < job.json`,
		Args: cobra.ExactArgs(1),
		RunE: o.run,
	}
	o.addGatewayFlags(cmd)
	f := cmd.Flags()
	f.BoolVarP(&o.async, "async", "a", false, "queue the call and return at once")
	f.StringArrayVarP(&o.headers, "header", "H", nil, "request header key=value (repeatable)")
	f.StringArrayVar(&o.query, "query", nil, "query parameter key=value (repeatable)")
	f.StringVarP(&o.method, "method", "m", http.MethodPost, "HTTP method")
	f.StringVar(&o.contentType, "content-type", "text/plain", "Content-Type of the body")
	f.StringVar(&o.callbackURL, "callback-url", "", "X-Callback-Url for --async calls")
	f.StringVar(&o.path, "path", "", "path after /function/NAME, e.g. /orders/1")
	f.BoolVar(&o.showStatus, "status", false, "print the status line and headers to stderr")
	return cmd
}

func (o *invokeOpts) request(cmd *cobra.Command, name string) (client.InvokeRequest, error) {
	r := client.InvokeRequest{
		Name: name, Namespace: o.namespace, Method: strings.ToUpper(o.method), Path: o.path,
		ContentType: o.contentType, Body: cmd.InOrStdin(), CallbackURL: o.callbackURL, Header: http.Header{},
	}
	hs, err := parseKV("header", o.headers)
	if err != nil {
		return r, err
	}
	for k, v := range hs {
		r.Header.Set(k, v)
	}
	qs, err := parseKV("query", o.query)
	if err != nil {
		return r, err
	}
	r.Query = url.Values{}
	for k, v := range qs {
		r.Query.Set(k, v)
	}
	return r, nil
}

func (o *invokeOpts) run(cmd *cobra.Command, args []string) error {
	c, err := o.clientFromOptionalStack(cmd)
	if err != nil {
		return err
	}
	r, err := o.request(cmd, args[0])
	if err != nil {
		return err
	}
	if isTTY(cmd.InOrStdin()) {
		fmt.Fprintln(cmd.ErrOrStderr(), "Reading the body from stdin; end with Ctrl-D.")
	}
	if o.async {
		id, err := c.InvokeAsync(cmd.Context(), r)
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "Function queued. 202 Accepted.\nX-Call-Id: %s\n", id)
		return nil
	}
	res, err := c.Invoke(cmd.Context(), r)
	if err != nil {
		return err
	}
	if o.showStatus {
		fmt.Fprintf(cmd.ErrOrStderr(), "%d %s\n", res.Status, http.StatusText(res.Status))
		for _, k := range sortedHeaderKeys(res.Header) {
			fmt.Fprintf(cmd.ErrOrStderr(), "%s: %s\n", k, strings.Join(res.Header[k], ", "))
		}
	}
	if res.Status < 200 || res.Status > 299 {
		return fmt.Errorf("server returned unexpected status code: %d - %s", res.Status, strings.TrimSpace(string(res.Body)))
	}
	_, err = cmd.OutOrStdout().Write(res.Body)
	return err
}

func sortedHeaderKeys(h http.Header) []string {
	m := make(map[string]string, len(h))
	for k := range h {
		m[k] = ""
	}
	return sortedKeys(m)
}
