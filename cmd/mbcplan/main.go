// Command mbcplan is a SMART-on-FHIR app that proposes guideline-based
// treatment options for metastatic breast cancer and writes them as a
// CarePlan draft for a clinician to review.
//
//	mbcplan serve     [--addr 127.0.0.1:8080] …   the app (with its sandbox EHR by default)
//	mbcplan recommend --bundle FILE | --fhir-base URL --patient ID …
//	mbcplan facts     --bundle FILE | --fhir-base URL --patient ID
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "mbcplan:", err)
		os.Exit(exitCode(err))
	}
}

// usageError marks bad input from the command line: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

func exitCode(err error) int {
	var ue *usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

const usageText = `mbcplan: treatment planning for metastatic breast cancer (SMART on FHIR)

Usage:
  mbcplan serve     [flags]   run the app (and, unless real EHRs are configured, its sandbox EHR)
  mbcplan recommend [flags]   print the plan for one patient; --write-draft writes the CarePlan draft
  mbcplan facts     [flags]   print the facts read from a record, with skipped resources

Run "mbcplan COMMAND -h" for the flags of a command.
`

// run is main without the process: arguments, environment and output are
// injected so tests can call it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText)
		return usagef("a command is required")
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], getenv, stdout, stderr)
	case "recommend":
		return runRecommend(ctx, args[1:], getenv, stdout, stderr)
	case "facts":
		return runFacts(ctx, args[1:], getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usageText)
		return nil
	default:
		fmt.Fprint(stderr, usageText)
		return usagef("unknown command %q", args[0])
	}
}
