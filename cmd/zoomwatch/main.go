// Command zoomwatch is the laptop face of the pipeline: it runs the whole thing locally against
// a simulated or real Zoom account, tests and lists detection rules, runs detection over files,
// serves the Zoom simulator, and polls or backfills real Zoom. See README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// streams are the process's standard streams, passed explicitly so commands are testable.
type streams struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

// command is one subcommand.
type command struct {
	summary string
	run     func(ctx context.Context, s streams, args []string) error
}

func commands() map[string]command {
	return map[string]command{
		"invoke": {"run the poller or detector handler locally against the simulator and an AWS emulator",
			func(ctx context.Context, s streams, args []string) error { return runInvoke(ctx, s, args) }},
		"run": {"poll Zoom (simulated unless ZOOM_* credentials are set), detect, print alerts",
			func(ctx context.Context, s streams, args []string) error { return runPipeline(ctx, s, args) }},
		"poll": {"one poll cycle against real Zoom (credentials from ZOOM_*), envelopes to stdout",
			func(ctx context.Context, s streams, args []string) error { return runPoll(ctx, s, args, false) }},
		"backfill": {"poll real Zoom history since --since DATE, envelopes to stdout",
			func(ctx context.Context, s streams, args []string) error { return runPoll(ctx, s, args, true) }},
		"detect":   {"run the rules over Zoom records or envelopes (files or stdin), alerts to stdout", runDetect},
		"rules":    {"list the rules, or run their inline tests (rules list | rules test [DIR])", runRules},
		"simulate": {"serve the simulated Zoom account (OAuth + report APIs) until Ctrl-C", runSimulate},
		"connect":  {"connect a Zoom OAuth app in the browser (simulated unless ZOOM_CLIENT_ID is set); tokens to local state", runConnect},
		"verify":   {"check Server-to-Server credentials (ZOOM_*) or --simulate: token, scopes, both reports", runVerify},
	}
}

// usageError marks a bad invocation: exit status 2 instead of 1.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, streams{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}, os.Args[1:])
	stop()
	os.Exit(code)
}

func run(ctx context.Context, s streams, args []string) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(s.stderr, cmds)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(s.stderr, "zoomwatch: unknown command %q (run zoomwatch help)\n", args[0])
		return 2
	}
	err := cmd.run(ctx, s, args[1:])
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(s.stderr, "zoomwatch %s: %s\n", args[0], ue.msg)
		return 2
	default:
		fmt.Fprintf(s.stderr, "zoomwatch %s: %s\n", args[0], oneLine(err))
		return 1
	}
}

func usage(w io.Writer, cmds map[string]command) {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(w, "usage: zoomwatch <command> [flags]  (zoomwatch <command> -h for its flags)")
	fmt.Fprintln(w)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, cmds[n].summary)
	}
}

// oneLine keeps the error's text on the single line the CLI contract promises.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

// newLogger returns the JSON logger every command writes diagnostics with.
func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}
