package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/collectd-anomaly/collectd-anomaly/silence"
)

// defaultSilenceFile is where the Debian package keeps the plugin's state,
// and what the packs' SilenceFile names.
const defaultSilenceFile = "/var/lib/collectd-anomaly/silences"

// keepEnded is how long an ended silence stays listed (list --all) before
// the next change drops it.
const keepEnded = 7 * 24 * time.Hour

const silenceAbout = `
Silences hold back the notifications of matching alerts while a deploy or
maintenance goes on; the rules keep judging, InfluxDB still records every
alert (with the field silenced). What is still raised when a silence ends is
sent then. The plugin reads the file of its SilenceFile option once a second.

  anomaly silence add --host 'web*' --for 1h --reason 'deploy 4711'
  anomaly silence add --rule payment-drop --group visa --until 2026-12-24T06:00:00Z --reason 'PSP maintenance'
  anomaly silence list [--all]
  anomaly silence expire s3

Globs (--host, --rule, --group) are shell patterns: * ? [a-z]. A rule with
AggregateHosts has no host: --host matches only per-host rules' alerts.`

// runSilence is `anomaly silence add|list|expire`.
func runSilence(_ context.Context, e *env, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintf(e.stderr, "Usage: anomaly silence add|list|expire [flags]\n%s\n", silenceAbout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	switch args[0] {
	case "add":
		return silenceAdd(e, args[1:], time.Now())
	case "list":
		return silenceList(e, args[1:], time.Now())
	case "expire":
		return silenceExpire(e, args[1:], time.Now())
	}
	fmt.Fprintf(e.stderr, "anomaly silence: unknown subcommand %q (add, list, expire)\n", args[0])
	return exitUsage
}

func silenceAdd(e *env, args []string, now time.Time) int {
	fs := newFlags(e, "silence add", "[flags]", silenceAbout)
	file := fs.String("file", defaultSilenceFile, "the plugin's SilenceFile")
	var s silence.Silence
	fs.StringVar(&s.Host, "host", "", "hosts to silence (glob)")
	fs.StringVar(&s.Rule, "rule", "", "rules to silence (glob)")
	fs.StringVar(&s.Group, "group", "", "groups to silence (glob): a provider, page or asset")
	var length time.Duration
	fs.Var(durationFlag{&length}, "for", "how long, from --starts (e.g. 90m, 2h, 1d)")
	until := fs.String("until", "", "the end, RFC 3339 or 2006-01-02 15:04:05 (UTC), instead of --for")
	starts := fs.String("starts", "", "the start if not now, as --until")
	fs.StringVar(&s.Reason, "reason", "", "why, for the people who see the alerts missing (required)")
	fs.StringVar(&s.By, "by", currentUser(), "who")
	rest, code, ok := parseArgs(fs, args)
	if !ok {
		return code
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(e.stderr, "anomaly silence add: "+format+"\n", a...)
		return exitUsage
	}
	switch {
	case len(rest) > 0:
		return fail("unexpected argument %q", rest[0])
	case s.Host == "" && s.Rule == "" && s.Group == "":
		return fail("say what to silence: --host, --rule or --group (--rule '*' silences every rule)")
	case s.Reason == "":
		return fail("--reason is required: the people who miss the alerts will want to know why")
	case (length == 0) == (*until == ""):
		return fail("give one of --for and --until")
	}
	s.Starts = now.UTC().Truncate(time.Second)
	if *starts != "" {
		t, err := parseTime(*starts)
		if err != nil {
			return fail("--starts: %v", err)
		}
		s.Starts = t
	}
	if *until != "" {
		t, err := parseTime(*until)
		if err != nil {
			return fail("--until: %v", err)
		}
		s.Ends = t
	} else {
		s.Ends = s.Starts.Add(length)
	}
	if !s.Ends.After(now) {
		return fail("the silence would end at %s, in the past", s.Ends.Format(time.RFC3339))
	}
	err := silence.Update(*file, func(list []silence.Silence) ([]silence.Silence, error) {
		list = silence.Prune(list, now, keepEnded)
		s.ID = silence.NewID(list)
		if err := s.Validate(); err != nil {
			return nil, err
		}
		return append(list, s), nil
	})
	if err != nil {
		fmt.Fprintf(e.stderr, "anomaly silence add: %v\n", err)
		return exitFailure
	}
	fmt.Fprintln(e.stdout, s.Describe())
	return exitOK
}

func silenceList(e *env, args []string, now time.Time) int {
	fs := newFlags(e, "silence list", "[flags]", silenceAbout)
	file := fs.String("file", defaultSilenceFile, "the plugin's SilenceFile")
	all := fs.Bool("all", false, "also the silences that ended (kept a week)")
	rest, code, ok := parseArgs(fs, args)
	if !ok {
		return code
	}
	if len(rest) > 0 {
		fmt.Fprintf(e.stderr, "anomaly silence list: unexpected argument %q\n", rest[0])
		return exitUsage
	}
	list, err := silence.Load(*file)
	if err != nil {
		fmt.Fprintf(e.stderr, "anomaly silence list: %v\n", err)
		return exitFailure
	}
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tSTATE\tHOST\tRULE\tGROUP\tSTARTS\tENDS\tBY\tREASON")
	for _, s := range list {
		state := stateOf(&s, now)
		if state == "ended" && !*all {
			continue
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, state, silence.Shown(s.Host), silence.Shown(s.Rule), silence.Shown(s.Group),
			s.Starts.UTC().Format(time.RFC3339), s.Ends.UTC().Format(time.RFC3339), s.By, s.Reason)
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintf(e.stderr, "anomaly silence list: %v\n", err)
		return exitFailure
	}
	return exitOK
}

func silenceExpire(e *env, args []string, now time.Time) int {
	fs := newFlags(e, "silence expire", "[flags] ID...", silenceAbout)
	file := fs.String("file", defaultSilenceFile, "the plugin's SilenceFile")
	ids, code, ok := parseArgs(fs, args)
	if !ok {
		return code
	}
	if len(ids) == 0 {
		fmt.Fprintln(e.stderr, "anomaly silence expire: name the silences to end (anomaly silence list shows them)")
		return exitUsage
	}
	var done []string
	err := silence.Update(*file, func(list []silence.Silence) ([]silence.Silence, error) {
		done = done[:0]
		for _, id := range ids {
			i := indexOf(list, id)
			switch {
			case i < 0:
				return nil, fmt.Errorf("no silence %s in %s", id, *file)
			case stateOf(&list[i], now) == "ended":
				return nil, fmt.Errorf("silence %s ended at %s already", id, list[i].Ends.UTC().Format(time.RFC3339))
			case !now.After(list[i].Starts):
				// Not started: it never was; drop it.
				list = append(list[:i], list[i+1:]...)
			default:
				list[i].Ends = now.UTC()
			}
			done = append(done, id)
		}
		return silence.Prune(list, now, keepEnded), nil
	})
	if err != nil {
		fmt.Fprintf(e.stderr, "anomaly silence expire: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(e.stdout, "expired %s\n", strings.Join(done, ", "))
	return exitOK
}

func stateOf(s *silence.Silence, now time.Time) string {
	switch {
	case s.ActiveAt(now):
		return "active"
	case now.Before(s.Starts):
		return "pending"
	}
	return "ended"
}

func indexOf(list []silence.Silence, id string) int {
	for i := range list {
		if list[i].ID == id {
			return i
		}
	}
	return -1
}

// currentUser names who runs the command: the user behind sudo if any.
func currentUser() string {
	for _, k := range []string{"SUDO_USER", "USER", "LOGNAME"} {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	return ""
}
