// Command anomaly checks a collectd configuration of the anomaly plugin,
// replays its rules over recorded or simulated data, and measures how well
// they detect simulated incidents. It uses the plugin's own code: the same
// configuration reader and mapping (package conf) and the same engine
// (package detect).
//
//	anomaly check FILE...              check configurations, errors with file:line
//	anomaly replay [flags] FILE        what the rules would have sent
//	anomaly eval [flags] FILE          recall, delay and false alerts on simulated incidents
//	anomaly silence add|list|expire    hold back notifications during a deploy or maintenance
//
// Run "anomaly COMMAND --help" for the flags of each.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"golang.org/x/term"
)

// Exit codes.
const (
	exitOK          = 0
	exitFailure     = 1 // a broken configuration, unreadable data, a failed run
	exitUsage       = 2
	exitInterrupted = 130 // ^C: what was done so far has been printed
)

// env is what a command writes to, and whether stderr is a terminal (for
// the progress bar).
type env struct {
	stdout, stderr io.Writer
	tty            bool
}

type command struct {
	name, args, summary string
	run                 func(ctx context.Context, e *env, args []string) int
}

var commands = []command{
	{"check", "FILE...", "check collectd configuration files: syntax and the <Plugin anomaly> rules, errors with file:line", runCheck},
	{"replay", "[flags] FILE", "run the rules of FILE over recorded (CSV, InfluxDB) or simulated data and print the alerts", runReplay},
	{"eval", "[flags] FILE", "measure the rules of FILE on simulated incidents: recall, detection delay, false alerts per week", runEval},
	{"silence", "add|list|expire [flags]", "hold back the notifications of matching alerts during a deploy or maintenance (the plugin's SilenceFile)", runSilence},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	e := &env{stdout: os.Stdout, stderr: os.Stderr, tty: term.IsTerminal(int(os.Stderr.Fd()))}
	os.Exit(run(ctx, e, os.Args[1:]))
}

func run(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(e.stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(ctx, e, args[1:])
		}
	}
	fmt.Fprintf(e.stderr, "anomaly: unknown command %q\n\n", args[0])
	usage(e.stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "anomaly: check, replay and evaluate the rules of the collectd anomaly plugin")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage:")
	for _, c := range commands {
		fmt.Fprintf(w, "  anomaly %s %s\n      %s\n", c.name, c.args, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, `Run "anomaly COMMAND --help" for a command's flags.`)
}

// newFlags makes a command's flag set; --help prints the usage line, about
// and the flags.
func newFlags(e *env, c, usage, about string) *flag.FlagSet {
	fs := flag.NewFlagSet("anomaly "+c, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: anomaly %s %s\n\n", c, usage)
		fmt.Fprintln(e.stderr, strings.TrimSpace(about))
		fmt.Fprintln(e.stderr)
		fmt.Fprintln(e.stderr, "Flags (-flag and --flag alike):")
		fs.PrintDefaults()
	}
	return fs
}

// parseArgs parses flags that may come before or after the positional
// arguments ("replay anomaly.conf --days 2" as well as "replay --days 2
// anomaly.conf"). It returns the positional arguments, or the exit code
// when there is nothing more to do (--help, a usage error).
func parseArgs(fs *flag.FlagSet, args []string) ([]string, int, bool) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, exitOK, false
			}
			return nil, exitUsage, false
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, 0, true
		}
		if args[0] == "--" {
			return append(positional, args[1:]...), 0, true
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// listFlag is a flag that may be given several times.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, " ") }

func (l *listFlag) Set(s string) error {
	*l = append(*l, s)
	return nil
}
