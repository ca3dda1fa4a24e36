package poll

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/zoomwatch/zoomwatch/internal/event"
	"github.com/zoomwatch/zoomwatch/internal/zoom"
)

// Zoom keeps report data for about six months and answers at most one month per request.
const (
	// MaxHistory is how far back Zoom serves report data.
	MaxHistory = 180 * 24 * time.Hour
	day        = 24 * time.Hour
)

// Reporter pages one report window; internal/zoom.Client implements it. fn receives each
// page's records exactly as served and may be called again for records already seen if the
// client restarts the window (an expired page token): the poller dedupes.
type Reporter interface {
	Pages(ctx context.Context, lt event.LogType, from, to time.Time, fn func(records []json.RawMessage) error) error
}

// Config tunes a Poller. The zero value of a field means its default.
type Config struct {
	// Overlap is how far behind the watermark each pass re-reads, for records Zoom publishes
	// late. Default 6h.
	Overlap time.Duration
	// FirstBackfill is how much history the first pass of a key reads. Default 7 days, at most
	// MaxHistory.
	FirstBackfill time.Duration
	// BatchSize is the most envelopes sent to the sink at once. Default 500 (a Kinesis
	// PutRecords call).
	BatchSize int
	// DeadlineMargin is how long before the context deadline a pass stops taking pages, to
	// leave time for the final checkpoint. Default 20s.
	DeadlineMargin time.Duration
	// LeaseTTL bounds how long a crashed cycle keeps others out. Default 15m (a Lambda's
	// longest run).
	LeaseTTL time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Remaining reports how long the context has before its deadline (ok false: none). Default:
	// the real clock against ctx.Deadline, as a Lambda's deadline is wall-clock time.
	Remaining func(ctx context.Context) (left time.Duration, ok bool)
}

func (c Config) withDefaults() Config {
	if c.Overlap == 0 {
		c.Overlap = 6 * time.Hour
	}
	if c.FirstBackfill == 0 {
		c.FirstBackfill = 7 * day
	}
	if c.BatchSize == 0 {
		c.BatchSize = 500
	}
	if c.DeadlineMargin == 0 {
		c.DeadlineMargin = 20 * time.Second
	}
	if c.LeaseTTL == 0 {
		c.LeaseTTL = 15 * time.Minute
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Remaining == nil {
		c.Remaining = func(ctx context.Context) (time.Duration, bool) {
			dl, ok := ctx.Deadline()
			return time.Until(dl), ok
		}
	}
	return c
}

// Validate reports settings no poll could run with.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case c.Overlap < 0 || c.Overlap > MaxHistory:
		return fmt.Errorf("poll overlap %s must be between 0 and %s", c.Overlap, MaxHistory)
	case c.FirstBackfill < 0 || c.FirstBackfill > MaxHistory:
		return fmt.Errorf("poll first backfill %s must be between 0 and %s (Zoom keeps about six months)", c.FirstBackfill, MaxHistory)
	case c.BatchSize < 1 || c.BatchSize > 500:
		return fmt.Errorf("poll batch size %d must be between 1 and 500", c.BatchSize)
	case c.DeadlineMargin < 0:
		return fmt.Errorf("poll deadline margin %s must not be negative", c.DeadlineMargin)
	case c.LeaseTTL <= 0:
		return fmt.Errorf("poll lease TTL %s must be positive", c.LeaseTTL)
	}
	return nil
}

// Poller runs poll cycles. It is safe to reuse across cycles but runs one cycle at a time per
// source (the lease, when a Leaser is given, enforces that across processes).
type Poller struct {
	cfg     Config
	cursors CursorStore
	sink    Sink
	leases  Leaser
	log     *slog.Logger
}

// New builds a Poller. leases may be nil where only one process can run (the laptop CLI).
func New(cfg Config, cursors CursorStore, sink Sink, leases Leaser, log *slog.Logger) (*Poller, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cursors == nil || sink == nil {
		return nil, errors.New("poll: a cursor store and a sink are required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Poller{cfg: cfg.withDefaults(), cursors: cursors, sink: sink, leases: leases, log: log}, nil
}

// Result is what one cycle did for one key.
type Result struct {
	Key Key `json:"key"`
	// Fetched counts records read from Zoom, including re-read ones.
	Fetched int `json:"fetched"`
	// Duplicates counts records skipped because they were already delivered.
	Duplicates int `json:"duplicates"`
	// Delivered counts envelopes the sink acknowledged.
	Delivered int `json:"delivered"`
	// Windows counts report windows read to the end.
	Windows int `json:"windows"`
	// CaughtUp is true when the pass reached the present and checkpointed it.
	CaughtUp bool `json:"caught_up"`
	// Watermark is the cursor's watermark after the cycle.
	Watermark time.Time `json:"watermark"`
	// Err is why the pass stopped early, if it did.
	Err error `json:"-"`
}

// Summary is one cycle over all log types of a source.
type Summary struct {
	Source  string   `json:"source"`
	Results []Result `json:"results"`
}

// Delivered sums delivered envelopes over all keys.
func (s Summary) Delivered() int {
	n := 0
	for _, r := range s.Results {
		n += r.Delivered
	}
	return n
}

// Err joins the errors of all keys.
func (s Summary) Err() error {
	var errs []error
	for _, r := range s.Results {
		if r.Err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.Key, r.Err))
		}
	}
	return errors.Join(errs...)
}

// ErrDeadline reports that a pass stopped to respect the context deadline; its progress was
// saved and the next cycle continues where it left off.
var ErrDeadline = errors.New("stopped before the deadline; progress saved")

// IncompleteError reports that the sink did not acknowledge every envelope of a batch. What
// was acknowledged is checkpointed; the rest is read again next cycle.
type IncompleteError struct {
	Unacked int
	Err     error
}

func (e *IncompleteError) Error() string {
	return fmt.Sprintf("sink acknowledged all but %d envelopes: %v", e.Unacked, e.Err)
}

func (e *IncompleteError) Unwrap() error { return e.Err }

// OpenReporter builds the Zoom reporter of a source. Cycle calls it only once it holds the
// source's lease, so credentials (a rotating refresh token above all) are read after any
// other cycle has saved what it rotated.
type OpenReporter func(ctx context.Context) (Reporter, error)

// Static returns an OpenReporter for an already built reporter.
func Static(rep Reporter) OpenReporter {
	return func(context.Context) (Reporter, error) { return rep, nil }
}

// Cycle polls every log type of source once. It holds the source's lease for the whole cycle
// so that no other cycle, and so no other refresh of a rotating token, runs meanwhile.
func (p *Poller) Cycle(ctx context.Context, source string, open OpenReporter, logTypes ...event.LogType) (Summary, error) {
	if len(logTypes) == 0 {
		logTypes = event.LogTypes[:]
	}
	sum := Summary{Source: source}
	if p.leases != nil {
		owner, err := newOwner()
		if err != nil {
			return sum, err
		}
		name := "poll#" + source
		if err := p.leases.AcquireLease(ctx, name, owner, p.cfg.LeaseTTL); err != nil {
			return sum, fmt.Errorf("acquire lease for source %s: %w", source, err)
		}
		defer func() {
			// Release with a fresh context: the cycle's may be at its deadline, and a lease left
			// behind only delays the next cycle until it expires.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := p.leases.ReleaseLease(rctx, name, owner); err != nil {
				p.log.WarnContext(ctx, "lease release failed", "source", source, "error", err)
			}
		}()
	}
	rep, err := open(ctx)
	if err != nil {
		return sum, fmt.Errorf("open Zoom reporter for source %s: %w", source, err)
	}
	for _, lt := range logTypes {
		res := p.pass(ctx, Key{Source: source, LogType: lt}, rep)
		sum.Results = append(sum.Results, res)
		if errors.Is(res.Err, ErrDeadline) {
			break
		}
	}
	return sum, sum.Err()
}

func newOwner() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("lease owner id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

func dayOf(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// errStop unwinds paging when the deadline approaches or delivery failed.
var errStop = errors.New("stop paging")

// pass reads one key from its cursor to the present.
func (p *Poller) pass(ctx context.Context, key Key, rep Reporter) Result {
	res := Result{Key: key}
	log := p.log.With("source", key.Source, "log_type", string(key.LogType))
	cur, err := p.cursors.LoadCursor(ctx, key)
	if err != nil {
		res.Err = fmt.Errorf("load cursor: %w", err)
		return res
	}
	res.Watermark = cur.Watermark
	seen := cur.Seen
	if seen == nil {
		seen = map[string]time.Time{}
	}
	now := p.cfg.Now().UTC()
	start := now.Add(-p.cfg.FirstBackfill)
	if !cur.Watermark.IsZero() {
		start = cur.Watermark.Add(-p.cfg.Overlap)
	}
	if oldest := now.Add(-MaxHistory + day); start.Before(oldest) {
		start = oldest
	}
	version := cur.Version
	var pending []event.Envelope

	commit := func(cp Checkpoint) error {
		v, err := p.cursors.CommitCursor(ctx, key, version, cp)
		if err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
		version = v
		return nil
	}
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		acked, putErr := p.sink.Put(ctx, pending)
		added := make(map[string]time.Time, len(pending))
		for i, env := range pending {
			if i < len(acked) && acked[i] {
				added[env.ID] = env.Time
				seen[env.ID] = env.Time
			}
		}
		res.Delivered += len(added)
		unacked := len(pending) - len(added)
		pending = pending[:0]
		if len(added) > 0 {
			if err := commit(Checkpoint{Added: added}); err != nil {
				return err
			}
		}
		if unacked > 0 || putErr != nil {
			return &IncompleteError{Unacked: unacked, Err: putErr}
		}
		return nil
	}
	batched := make(map[string]bool)
	// process normalizes, dedupes and delivers one page. It runs on the window's processing
	// goroutine, so the client fetches the next page meanwhile: the rate limit, not our own
	// work, sets the pace.
	process := func(records []json.RawMessage) error {
		ingested := p.cfg.Now().UTC()
		for _, raw := range records {
			res.Fetched++
			env, err := event.Normalize(key.Source, key.LogType, raw, ingested)
			if err != nil {
				// A record that is not even a JSON object cannot be delivered or identified; the
				// client already rejects such pages, so this is a defect worth a loud log.
				log.ErrorContext(ctx, "record skipped: not normalizable", "error", err)
				continue
			}
			if _, dup := seen[env.ID]; dup || batched[env.ID] {
				res.Duplicates++
				continue
			}
			batched[env.ID] = true
			pending = append(pending, env)
			if len(pending) >= p.cfg.BatchSize {
				if err := flush(); err != nil {
					return err
				}
				clear(batched)
			}
		}
		return nil
	}

	// One-day windows, though Zoom answers up to a month per request: the watermark can only
	// move past a window read to its end (Zoom pages newest first), so a month-long window
	// that no single run can finish would be re-read from page 1 forever. A day at a time,
	// every run that finishes a day keeps it.
	for _, w := range zoom.SplitWindows(start, now, 1) {
		if p.nearDeadline(ctx) {
			res.Err = ErrDeadline
			log.InfoContext(ctx, "poll pass stopped before the deadline", "delivered", res.Delivered, "watermark", res.Watermark)
			return res
		}
		fetchStart := p.cfg.Now().UTC()
		pages := make(chan []json.RawMessage, 1)
		processed := make(chan error, 1)
		var failed atomic.Bool
		go func() {
			var perr error
			for records := range pages {
				if perr == nil {
					if perr = process(records); perr != nil {
						failed.Store(true)
					}
				}
			}
			processed <- perr
		}()
		pagesInWindow, deadline := 0, false
		err := rep.Pages(ctx, key.LogType, w.From, w.To, func(records []json.RawMessage) error {
			// Stop before taking a further page of a window, never after its last one: a
			// window read to its end moves the watermark, so every run that gets one page
			// further than the window start makes progress that the next run keeps.
			pagesInWindow++
			if pagesInWindow > 1 && p.nearDeadline(ctx) {
				deadline = true
				return errStop
			}
			if failed.Load() {
				return errStop
			}
			select {
			case pages <- records:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		close(pages)
		perr := <-processed
		switch {
		case perr != nil:
			// Delivery failed: what was acknowledged is checkpointed, the rest comes again.
			err = perr
		case err == nil:
			err = flush()
		case deadline:
			if err = flush(); err == nil {
				err = ErrDeadline
			}
		default:
			// Deliver what was read before the failure; it is valid and acknowledged records
			// need not be fetched again.
			if ferr := flush(); ferr != nil {
				err = errors.Join(err, ferr)
			}
		}
		clear(batched)
		if err != nil {
			res.Err = err
			log.WarnContext(ctx, "poll pass stopped", "error", err, "delivered", res.Delivered)
			return res
		}
		res.Windows++
		// Everything before the end of this window (or before the moment its paging started,
		// for the window holding today) has now been read and acknowledged.
		mark := w.To.Add(day)
		if mark.After(fetchStart) {
			mark = fetchStart
		}
		forget := dayOf(mark.Add(-p.cfg.Overlap))
		if err := commit(Checkpoint{Watermark: mark, Forget: forget}); err != nil {
			res.Err = err
			return res
		}
		for id, t := range seen {
			if t.Before(forget) {
				delete(seen, id)
			}
		}
		res.Watermark = mark
	}
	res.CaughtUp = true
	log.InfoContext(ctx, "poll pass done", "fetched", res.Fetched, "delivered", res.Delivered,
		"duplicates", res.Duplicates, "watermark", res.Watermark)
	return res
}

func (p *Poller) nearDeadline(ctx context.Context) bool {
	// The deadline is wall-clock time (a Lambda's), so compare with the real clock, not the
	// injectable one that dates records.
	left, ok := p.cfg.Remaining(ctx)
	return ok && left < p.cfg.DeadlineMargin
}
