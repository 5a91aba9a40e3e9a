package cli

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/fjord-faas/fjord/internal/build"
	"github.com/fjord-faas/fjord/internal/stack"
)

// buildDir holds one OCI layout per built function: build/NAME.
const buildDir = "build"

type buildFlags struct {
	buildArgs    []string
	buildOptions []string
}

func (f *buildFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringArrayVarP(&f.buildArgs, "build-arg", "b", nil, "build argument key=value, wins over build_args (repeatable)")
	cmd.Flags().StringArrayVar(&f.buildOptions, "build-option", nil, "template build option, added to build_options (repeatable)")
}

type buildOpts struct {
	stackOpts
	buildFlags
}

// newBuildCmd builds each function of the stack into ./build/NAME.
func newBuildCmd() *cobra.Command {
	o := &buildOpts{}
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Build the functions of a stack file",
		Long: `Build each function of the stack from its template (./template/LANG, else the
built-in one) and its handler folder, without Docker, and save the image as an
OCI layout in ./build/NAME for "fjord push".`,
		Example: `  fjord build
  fjord build -f stack.yml --filter hello
  fjord build --build-arg ADDITIONAL_PACKAGE=curl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := o.loadStack(true)
			if err != nil {
				return err
			}
			fns, err := st.Select(o.filter, o.regex)
			if err != nil {
				return err
			}
			return buildFunctions(cmd, st, fns, o.buildFlags)
		},
	}
	o.addStackFlags(cmd)
	o.addFilterFlags(cmd)
	o.buildFlags.add(cmd)
	return cmd
}

// buildFunctions builds and saves each function, skipping skip_build ones.
func buildFunctions(cmd *cobra.Command, st *stack.Stack, fns []stack.Function, f buildFlags) error {
	if len(fns) == 0 {
		return errors.New("no functions to build")
	}
	stderr := cmd.ErrOrStderr()
	var progress io.Writer
	if isTTY(stderr) {
		progress = stderr
	}
	var errs []error
	for _, fn := range fns {
		if fn.SkipBuild {
			fmt.Fprintf(stderr, "Skipping build of: %s.\n", fn.Name)
			continue
		}
		opts, err := f.options(st, fn, progress)
		if err != nil {
			return err
		}
		start := time.Now()
		fmt.Fprintf(stderr, "Building: %s (%s) as %s.\n", fn.Name, fn.Lang, fn.Image)
		img, err := build.Build(cmd.Context(), opts)
		if err == nil {
			err = build.SaveLayout(img, filepath.Join(buildDir, fn.Name))
		}
		if err != nil {
			fmt.Fprintf(stderr, "Failed: %s.\n", fn.Name)
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(stderr, "Built: %s in %.1fs.\n", fn.Name, time.Since(start).Seconds())
	}
	return errors.Join(errs...)
}

func (f *buildFlags) options(st *stack.Stack, fn stack.Function, progress io.Writer) (build.Options, error) {
	args, err := merge(fn.BuildArgs, "build-arg", f.buildArgs)
	if err != nil {
		return build.Options{}, err
	}
	return build.Options{
		Name: fn.Name, Lang: fn.Lang, Handler: fn.Handler, Image: fn.Image,
		BuildArgs: args, BuildOptions: appendUnique(fn.BuildOptions, f.buildOptions),
		TemplateDir: localTemplateDir, Copy: st.Configuration.Copy, Progress: progress,
	}, nil
}
