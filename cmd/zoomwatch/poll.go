package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/zoomwatch/zoomwatch/internal/event"
	"github.com/zoomwatch/zoomwatch/internal/local"
	"github.com/zoomwatch/zoomwatch/internal/pipeline"
	"github.com/zoomwatch/zoomwatch/internal/poll"
)

// runPoll is `zoomwatch poll` and `zoomwatch backfill`: poll real Zoom (or, with --simulate,
// the simulator) and write envelopes to stdout as JSON lines, for piping into detect or a SIEM.
func runPoll(ctx context.Context, s streams, args []string, backfill bool) error {
	name := "poll"
	if backfill {
		name = "backfill"
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(s.stderr)
	source := fs.String("source", "main", "source id stamped on events and state")
	logLevel := fs.String("log-level", "warn", "diagnostics level on stderr: debug, info, warn, error")
	var state, since *string
	if backfill {
		since = fs.String("since", "", "first day to read, YYYY-MM-DD (UTC; at most 6 months back); required")
	} else {
		state = fs.String("state", defaultStateDir, "directory for cursors: the next poll continues where this one stopped")
		fs.Bool("once", true, "poll once and exit (the only mode; use zoomwatch run to keep polling)")
	}
	var zf zoomFlags
	zf.register(fs, true)
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	if fs.NArg() > 0 {
		return &usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	level, err := parseLevel(*logLevel)
	if err != nil {
		return err
	}
	log := newLogger(s.stderr, level)

	cfg := poll.Config{}
	dir, stateDir := "", defaultStateDir
	if backfill {
		if *since == "" {
			return &usageError{"--since is required, e.g. --since 2026-06-01"}
		}
		day, err := time.Parse(time.DateOnly, *since)
		if err != nil {
			return &usageError{fmt.Sprintf("--since %q: want a date like 2026-06-01", *since)}
		}
		back := time.Since(day)
		if back <= 0 || back > poll.MaxHistory {
			return &usageError{fmt.Sprintf("--since %s: must be in the past and within %d days (Zoom keeps about six months)", *since, int(poll.MaxHistory.Hours()/24))}
		}
		cfg.FirstBackfill = back
		// A backfill reads history into a cursor of its own, so it neither skips nor repeats
		// anything for the regular poller's cursor.
		dir, err = os.MkdirTemp("", "zoomwatch-backfill-")
		if err != nil {
			return fmt.Errorf("backfill scratch directory: %w", err)
		}
		defer os.RemoveAll(dir)
	} else {
		stateDir = *state
		dir = filepath.Join(*state, "cursors")
	}

	target, err := zf.open(ctx, os.Getenv, s.stderr, stateDir, *source)
	if err != nil {
		return err
	}
	defer target.close()
	cursors, err := local.NewCursors(dir)
	if err != nil {
		return err
	}
	out := &jsonLines{w: s.stdout}
	// The bar redraws a line many times a second: on a terminal that is one line, in a log
	// file or a pipe it is thousands. There the summary line below says what was done.
	if backfill && isTerminal(s.stderr) {
		out.bar = progressbar.NewOptions(-1,
			progressbar.OptionSetWriter(s.stderr),
			progressbar.OptionSetDescription("backfill since "+*since),
			progressbar.OptionShowCount(),
			progressbar.OptionSetItsString("events"),
			progressbar.OptionShowIts(),
			progressbar.OptionClearOnFinish(),
		)
	}
	p, err := poll.New(cfg, cursors, out, nil, log.With("component", "poll"))
	if err != nil {
		return err
	}
	sum, err := p.Cycle(ctx, *source, pipeline.ZoomReporter(target.cfg, *source, pipeline.StaticCredentials(target.creds), target.tokens))
	if out.bar != nil {
		_ = out.bar.Finish()
	}
	fmt.Fprintf(s.stderr, "%s: source=%s", name, *source)
	for _, r := range sum.Results {
		fmt.Fprintf(s.stderr, " %s=%d", r.Key.LogType, r.Delivered)
	}
	fmt.Fprintln(s.stderr)
	return err
}

// isTerminal says w is a terminal a progress bar can redraw in place.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// jsonLines is a poll.Sink writing each envelope as one JSON line.
type jsonLines struct {
	mu  sync.Mutex
	w   io.Writer
	bar *progressbar.ProgressBar
}

// Put implements poll.Sink: a line written is a line acknowledged.
func (j *jsonLines) Put(_ context.Context, batch []event.Envelope) ([]bool, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	acked := make([]bool, len(batch))
	enc := json.NewEncoder(j.w)
	for i, e := range batch {
		if err := enc.Encode(e); err != nil {
			return acked, fmt.Errorf("write envelope: %w", err)
		}
		acked[i] = true
	}
	if j.bar != nil {
		_ = j.bar.Add(len(batch))
	}
	return acked, nil
}
