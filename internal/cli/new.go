package cli

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/fjord-faas/fjord/internal/api"
	"github.com/fjord-faas/fjord/internal/build"
	"github.com/fjord-faas/fjord/internal/stack"
)

type newOpts struct {
	lang, prefix, appendTo, yaml string
	list                         bool
}

// newNewCmd creates a function folder from a template and its stack entry.
func newNewCmd() *cobra.Command {
	o := &newOpts{}
	cmd := &cobra.Command{
		Use:   "new NAME --lang LANG",
		Short: "Create a function from a template",
		Long: `Copy the starting handler of template LANG into ./NAME and add the function
to the stack file (stack.yaml is created when there is none). Templates in
./template/LANG win over the built-in ones.`,
		Example: `  fjord new --list
  fjord new hello --lang python3-http
  fjord new api --lang golang-middleware --prefix ghcr.io/acme
  fjord new worker --lang node20 -f functions.yml`,
		Args: func(cmd *cobra.Command, args []string) error {
			if o.list {
				return cobra.NoArgs(cmd, args)
			}
			return cobra.ExactArgs(1)(cmd, args)
		},
		RunE: o.run,
	}
	f := cmd.Flags()
	f.StringVar(&o.lang, "lang", "", "template to use (see --list)")
	f.StringVarP(&o.prefix, "prefix", "p", "", "image prefix, e.g. a registry and user: ghcr.io/acme")
	f.StringVarP(&o.appendTo, "append", "a", "", "stack file to add the function to")
	f.StringVarP(&o.yaml, "yaml", "f", "", "stack file to add the function to (default: stack.yaml, else stack.yml)")
	f.BoolVar(&o.list, "list", false, "list the available templates")
	return cmd
}

func (o *newOpts) run(cmd *cobra.Command, args []string) error {
	out := cmd.OutOrStdout()
	if o.list {
		langs, err := build.Languages(localTemplateDir)
		if err != nil {
			return err
		}
		fmt.Fprintln(out, "Languages available as templates:")
		for _, l := range langs {
			fmt.Fprintf(out, "- %s\n", l)
		}
		return nil
	}
	name := args[0]
	if err := api.ValidateName("function", name); err != nil {
		return err
	}
	if o.lang == "" {
		return errors.New("--lang is required; see fjord new --list")
	}
	file, err := o.stackFile()
	if err != nil {
		return err
	}
	if stackHasFunction(file, name) {
		return fmt.Errorf("%s: function %s already exists", file, name)
	}
	t, err := build.LoadTemplate(o.lang, localTemplateDir)
	if err != nil {
		return err
	}
	if err := build.NewFunction(o.lang, name, name, localTemplateDir); err != nil {
		return err
	}
	image := name + ":latest"
	if o.prefix != "" {
		image = o.prefix + "/" + image
	}
	entry := newEntry{name: name, lang: t.Language, handler: "./" + name, image: image}
	if err := addToStack(file, entry); err != nil {
		return err
	}
	fmt.Fprintf(out, "Function created in folder: %s\nStack file written: %s\n", name, file)
	if t.WelcomeMessage != "" {
		fmt.Fprintf(out, "\n%s\n", t.WelcomeMessage)
	}
	return nil
}

// stackFile is --append, else -f, else the existing default file, else stack.yaml.
func (o *newOpts) stackFile() (string, error) {
	for _, f := range []string{o.appendTo, o.yaml} {
		if f != "" {
			return f, nil
		}
	}
	f, err := stack.FindFile(".")
	if errors.Is(err, stack.ErrNoStackFile) {
		return "stack.yaml", nil
	}
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(f); err != nil {
		return "", fmt.Errorf("stat stack file: %w", err)
	}
	return f, nil
}
