package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/zoomwatch/zoomwatch/internal/alert"
	"github.com/zoomwatch/zoomwatch/internal/event"
	"github.com/zoomwatch/zoomwatch/internal/local"
	"github.com/zoomwatch/zoomwatch/internal/pipeline"
	"github.com/zoomwatch/zoomwatch/internal/poll"
	"github.com/zoomwatch/zoomwatch/internal/tuning"
)

const (
	defaultStateDir = ".zoomwatch"
	// simDomainRule is tuned for the simulated account by default.
	simDomainRule = tuning.RulePrefix + "Zoom.Admin.Action.Outside.Allowed.Domains"
)

// runPipeline is `zoomwatch run`: the whole pipeline on this machine.
func runPipeline(ctx context.Context, s streams, args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(s.stderr)
	once := fs.Bool("once", false, "run one cycle (backfill included) and exit")
	state := fs.String("state", defaultStateDir, "directory for cursors and tokens (a restart resumes from it)")
	source := fs.String("source", "main", "source id stamped on events and state")
	interval := fs.Duration("interval", 5*time.Minute, "time between cycles without --once")
	backfill := fs.String("backfill", "", "history the first cycle reads, e.g. 7d (default: 7d, or the whole simulated history)")
	rulesDir := fs.String("rules", "", "extra directory of rule files to load with the shipped ones")
	tuningFile := fs.String("tuning", "", "JSON file of tuning parameters, named as in SSM (e.g. {\"poll/overlap\": \"6h\"})")
	logLevel := fs.String("log-level", "warn", "diagnostics level on stderr: debug, info, warn, error")
	var zf zoomFlags
	zf.register(fs, false)
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	if fs.NArg() > 0 {
		return &usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	if *interval < time.Second {
		return &usageError{"--interval must be at least 1s"}
	}
	level, err := parseLevel(*logLevel)
	if err != nil {
		return err
	}
	log := newLogger(s.stderr, level)

	target, err := zf.open(ctx, os.Getenv, s.stderr, *state, *source)
	if err != nil {
		return err
	}
	defer target.close()

	first, err := firstBackfill(*backfill, target)
	if err != nil {
		return err
	}
	params, err := readTuning(*tuningFile)
	if err != nil {
		return err
	}
	if target.simulated {
		// The simulated company's own domain, so the outside-domain rule has something to guard.
		if _, set := params[simDomainRule]; !set {
			params[simDomainRule] = `{"params":{"allowed_domains":["springfield.example"]}}`
		}
	}
	pollCfg, errs := tuning.ApplyPoll(params, tuning.Poll{Poll: poll.Config{FirstBackfill: first}, MaxRPS: target.cfg.MaxRPS, PageSize: target.cfg.PageSize})
	if len(errs) > 0 {
		return &usageError{fmt.Sprintf("tuning: %v", errors.Join(errs...))}
	}
	target.cfg.MaxRPS, target.cfg.PageSize = pollCfg.MaxRPS, pollCfg.PageSize
	cursors, err := local.NewCursors(filepath.Join(*state, "cursors"))
	if err != nil {
		return err
	}
	buf, err := local.NewStream(filepath.Join(*state, "stream.jsonl"))
	if err != nil {
		return err
	}
	if *backfill != "" {
		pollCfg.Poll.FirstBackfill = first
	}
	poller, err := poll.New(pollCfg.Poll, cursors, buf, nil, log.With("component", "poll"))
	if err != nil {
		return err
	}
	dstate, err := openDetectorState(filepath.Join(*state, "detector.json"))
	if err != nil {
		return err
	}
	det, err := newDetector(*rulesDir, params, dstate.state, log)
	if err != nil {
		return err
	}
	lap := &pipeline.Laptop{
		Source:    *source,
		Open:      pipeline.ZoomReporter(target.cfg, *source, pipeline.StaticCredentials(target.creds), target.tokens),
		Poller:    poller,
		Buffer:    buf,
		Detector:  det,
		Alert:     func(a alert.Alert) error { return printAlert(s.stdout, a) },
		SaveState: dstate.save,
	}
	where := "Zoom account of ZOOM_ACCOUNT_ID"
	if target.simulated {
		where = "simulated Zoom account (set ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET for a real one)"
	}
	fmt.Fprintf(s.stderr, "zoomwatch: polling the %s; state in %s\n", where, *state)
	var learned map[string]int64
	for {
		rep, err := lap.Cycle(ctx)
		fmt.Fprintln(s.stdout, summaryLine(rep))
		learned = noteLearning(s.stderr, "zoomwatch run", det, learned)
		if err != nil {
			return err
		}
		if *once {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(*interval):
		}
	}
}

// firstBackfill is --backfill, defaulting to the whole simulated history (so the local demo
// shows every planted incident) or poll's 7 days against real Zoom.
func firstBackfill(flagValue string, target *zoomTarget) (time.Duration, error) {
	if flagValue != "" {
		d, err := tuning.ParseDuration(flagValue)
		if err != nil {
			return 0, &usageError{fmt.Sprintf("--backfill: %v", err)}
		}
		return d, nil
	}
	if target.simulated {
		return time.Duration(target.sim.Config().HistoryDays) * 24 * time.Hour, nil
	}
	return 0, nil
}

// summaryLine is the one line a cycle ends with.
func summaryLine(rep pipeline.CycleReport) string {
	var b strings.Builder
	fmt.Fprintf(&b, "cycle: source=%s", rep.Poll.Source)
	dups := 0
	for _, lt := range event.LogTypes {
		fmt.Fprintf(&b, " %s=%d", lt, rep.Polled[lt])
	}
	for _, r := range rep.Poll.Results {
		dups += r.Duplicates
	}
	fmt.Fprintf(&b, " already_seen=%d alerts=%d", dups, rep.Alerts)
	return b.String()
}

// printAlert writes one alert as a line a person can scan.
func printAlert(w io.Writer, a alert.Alert) error {
	count := ""
	if a.EventCount > 1 {
		count = fmt.Sprintf(" (%d events)", a.EventCount)
	}
	_, err := fmt.Fprintf(w, "ALERT %-8s %-48s %s  %s%s\n", a.Severity, a.RuleID, a.FirstSeen.UTC().Format("2006-01-02 15:04"), a.Title, count)
	return err
}

// parseLevel reads a --log-level value.
func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, &usageError{fmt.Sprintf("--log-level %q: want debug, info, warn or error", s)}
	}
	return l, nil
}

// flagError turns the flag package's errors into usage errors; -h is not an error.
func flagError(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return &usageError{err.Error()}
}
