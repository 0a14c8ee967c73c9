// Package cli is brine's command tree (cobra): `brine call` (salt-call),
// `brine doc` and `brine version`. It only parses what the user typed,
// wires configuration, grains, pillar and the file server into an api.Env,
// and prints returns through package output; the work happens in the
// modules and the state engine.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// Exit codes, as salt-call --retcode-passthrough uses them.
const (
	// ExitOK: the function ran; every state result was true or None.
	ExitOK = 0
	// ExitError: usage or argument error, configuration error, a function
	// that returned an error, or an SLS tree that failed to compile.
	ExitError = 1
	// ExitStateFailed: the state run completed with at least one false result.
	ExitStateFailed = 2
)

// exitError carries an exit code out of a command; a nil err means the
// message has already been printed.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// Main runs brine with the process's arguments and returns the exit code.
// SIGINT and SIGTERM cancel the context the function runs under.
func Main() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
}

// Run executes one command line and returns its exit code. Returns and
// documentation go to stdout, errors and logs to stderr.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(stderr, "brine: %v\n", ee.err)
		}
		return ee.code
	}
	// cobra's own errors: unknown command or flag, wrong argument count.
	fmt.Fprintf(stderr, "brine: %v\n", err)
	return ExitError
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "brine",
		Short: "Configuration management in the Salt mould",
		Long: `brine applies Salt-style SLS states (Jinja-templated YAML) to hosts.

  brine call --local state.apply            apply top.sls to this host, masterless
  brine call --local state.apply test=True  show what would change, change nothing
  brine doc file.managed                    documentation of a function`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.CompletionOptions.DisableDefaultCmd = true
	root.AddCommand(newCallCmd(stdout, stderr), newDocCmd(stdout), newVersionCmd(stdout))
	setupRoot(root, stdout, stderr)
	return root
}
