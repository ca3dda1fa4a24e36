package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/zoomwatch/zoomwatch/internal/zoom"
)

// runVerify is `zoomwatch verify`: check Server-to-Server credentials from ZOOM_* (or the
// simulator with --simulate) and print a verdict per check: token, scopes, each report.
func runVerify(ctx context.Context, s streams, args []string) error {
	return verify(ctx, s, args, os.Getenv)
}

// verdict is one line of the verify report.
type verdict struct {
	check, status, detail string // status: PASS, FAIL, SKIP
}

func verify(ctx context.Context, s streams, args []string, getenv func(string) string) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(s.stderr)
	timeout := fs.Duration("timeout", time.Minute, "give up after this long")
	state := fs.String("state", defaultStateDir, "local state holding the tokens of a connected OAuth app")
	source := fs.String("source", "main", "source whose connected OAuth tokens to check")
	var zf zoomFlags
	zf.register(fs, true)
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	if fs.NArg() > 0 {
		return &usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	if *timeout <= 0 {
		return &usageError{"--timeout must be positive"}
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	target, err := zf.open(ctx, getenv, s.stderr, *state, *source)
	if err != nil {
		return err
	}
	defer target.close()
	what := "Server-to-Server app for Zoom account " + target.creds.AccountID
	if target.creds.AuthType == zoom.AuthOAuth {
		what = "OAuth app " + target.creds.ClientID + " connected as source " + *source
	}
	if target.simulated {
		what = "the simulated Zoom account"
	}
	fmt.Fprintf(s.stdout, "Verifying %s\n\n", what)

	vs := verifyChecks(ctx, target)
	failed := 0
	for _, v := range vs {
		fmt.Fprintf(s.stdout, "%-4s  %-15s %s\n", v.status, v.check, v.detail)
		if v.status == "FAIL" {
			failed++
		}
	}
	if failed > 0 {
		fmt.Fprintf(s.stdout, "\nverdict: FAILED (%d of %d checks)\n", failed, len(vs))
		return fmt.Errorf("verification failed: %d of %d checks failed", failed, len(vs))
	}
	fmt.Fprintln(s.stdout, "\nverdict: OK, zoomwatch can poll this account")
	return nil
}

// verifyChecks runs the checks in order; a failed token makes the rest SKIP.
func verifyChecks(ctx context.Context, target *zoomTarget) []verdict {
	ts, err := zoom.NewTokenSource(ctx, target.cfg, target.creds, target.tokens)
	if err != nil {
		return []verdict{{"credentials", "FAIL", oneLine(err)}}
	}
	tok, err := ts.Token()
	if err != nil {
		return []verdict{
			{"credentials", "FAIL", oneLine(err) + tokenHint(err)},
			{"scopes", "SKIP", "needs a token"},
			{"reports", "SKIP", "needs a token"},
		}
	}
	out := []verdict{{"credentials", "PASS", "Zoom issued an access token"}}
	scope, _ := tok.Extra("scope").(string)
	out = append(out, scopeVerdict(strings.Fields(scope)))

	client, err := zoom.New(target.cfg, ts)
	if err != nil {
		return append(out, verdict{"reports", "FAIL", oneLine(err)})
	}
	res, _ := client.Verify(ctx) // each check carries its own error
	for _, c := range res.Checks {
		v := verdict{check: string(c.LogType)}
		if c.OK {
			more := ""
			if c.More {
				more = "+"
			}
			v.status, v.detail = "PASS", fmt.Sprintf("%s readable, %d%s records since yesterday", c.Path, c.Records, more)
		} else {
			v.status, v.detail = "FAIL", c.Error
		}
		out = append(out, v)
	}
	return out
}

// scopeVerdict checks the granted scopes against what the two reports need.
func scopeVerdict(granted []string) verdict {
	if len(granted) == 0 {
		return verdict{"scopes", "SKIP", "Zoom did not list the granted scopes; the report checks below decide"}
	}
	has := func(s string) bool { return slices.Contains(granted, s) }
	var missing []string
	if !has(zoom.ScopeReportRead) && !has(zoom.ScopeOperationLogsRead) {
		missing = append(missing, zoom.ScopeOperationLogsRead)
	}
	if !has(zoom.ScopeReportRead) && !has(zoom.ScopeUserActivitiesRead) {
		missing = append(missing, zoom.ScopeUserActivitiesRead)
	}
	if len(missing) > 0 {
		return verdict{"scopes", "FAIL", "missing " + strings.Join(missing, " and ") +
			" (or " + zoom.ScopeReportRead + "): add it to the app in the Zoom App Marketplace"}
	}
	return verdict{"scopes", "PASS", strings.Join(granted, " ")}
}

// tokenHint says what to fix after a refused token request.
func tokenHint(err error) string {
	var auth *zoom.AuthError
	var tok *zoom.TokenEndpointError
	switch {
	case errors.As(err, &auth):
		return " (fix ZOOM_CLIENT_ID / ZOOM_CLIENT_SECRET)"
	case errors.As(err, &tok) && tok.Status == 400:
		return " (check ZOOM_ACCOUNT_ID and that the app is a Server-to-Server OAuth app that is activated)"
	}
	return ""
}
