package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/zoomwatch/zoomwatch/internal/event"
	"github.com/zoomwatch/zoomwatch/internal/poll"
	"github.com/zoomwatch/zoomwatch/internal/tuning"
	"github.com/zoomwatch/zoomwatch/internal/zoom"
)

// Tuner returns the current tuning parameters (names relative to the stage prefix); the SSM
// adapter caches them for up to a minute.
type Tuner interface {
	Params(ctx context.Context) (map[string]string, error)
}

// SecretStore reads a source's credentials and persists its rotated tokens.
type SecretStore interface {
	CredentialLoader
	// TokenStore returns the store rotated tokens of source go to, saved before use.
	TokenStore(source string) zoom.TokenStore
}

// PollMetrics receives what the poller measures; internal/metrics writes it as EMF lines.
type PollMetrics interface {
	// Polled reports delivered events of one source and log type and how far the cursor lags.
	Polled(source string, lt event.LogType, n int, lag time.Duration)
	// PollFailed reports a failed cycle of a source by zoom.ErrorKind ("auth", "token_save", …).
	PollFailed(source string, kind zoom.ErrorKind)
	// RateLimited counts n 429 answers from Zoom for source.
	RateLimited(source string, n int)
}

// OpsNotifier tells operators about a problem that needs a person (a refresh token that could
// not be saved, credentials Zoom rejects).
type OpsNotifier interface {
	NotifyOps(ctx context.Context, subject, message string) error
}

// Poller is the scheduled poller function: one cycle per configured source.
type Poller struct {
	// Sources are polled in order; one failing does not stop the others.
	Sources []Source
	// Cursors and Leases keep the poll state (DynamoDB in AWS).
	Cursors poll.CursorStore
	Leases  poll.Leaser
	// Sink receives envelopes (Kinesis in AWS).
	Sink poll.Sink
	// Secrets holds each source's credentials.
	Secrets SecretStore
	// Tuner supplies poll/* parameters; nil means defaults only.
	Tuner Tuner
	// Zoom is the client configuration before tuning (base URLs, HTTP client, clock).
	Zoom zoom.Config
	// Base is the poll tuning in force before any parameter applies.
	Base tuning.Poll
	// Metrics and Ops may be nil.
	Metrics PollMetrics
	Ops     OpsNotifier
	Log     *slog.Logger

	// good holds the last settings that parsed, so a bad parameter never undoes a good one.
	good     tuning.Poll
	haveGood bool
}

// PollReport is what the poller function returns: one summary per source.
type PollReport struct {
	Sources []SourceReport `json:"sources"`
}

// SourceReport is one source's cycle.
type SourceReport struct {
	Source    string        `json:"source"`
	Delivered int           `json:"delivered"`
	Results   []poll.Result `json:"results,omitempty"`
	Error     string        `json:"error,omitempty"`
	ErrorKind string        `json:"error_kind,omitempty"`
}

// SourceError reports the sources whose cycle failed; the invocation fails with it so the
// poller error alarm sees it, after every source had its turn.
type SourceError struct {
	Failed map[string]error
}

func (e *SourceError) Error() string {
	return fmt.Sprintf("%d of the sources failed: %v", len(e.Failed), errors.Join(e.errs()...))
}

func (e *SourceError) errs() []error {
	var out []error
	for s, err := range e.Failed {
		out = append(out, fmt.Errorf("%s: %w", s, err))
	}
	return out
}

// Poll runs one cycle for every source. A cycle that stopped at the deadline is not a failure:
// its progress is saved and the next scheduled run continues.
func (p *Poller) Poll(ctx context.Context) (PollReport, error) {
	log := p.logger()
	settings := p.settings(ctx, log)
	zcfg := p.Zoom
	zcfg.MaxRPS, zcfg.PageSize = settings.MaxRPS, settings.PageSize
	poller, err := poll.New(settings.Poll, p.Cursors, p.Sink, p.Leases, log)
	if err != nil {
		return PollReport{}, fmt.Errorf("poller: %w", err)
	}
	var rep PollReport
	failed := map[string]error{}
	for _, src := range p.Sources {
		scfg := zcfg
		if p.Metrics != nil {
			id := src.ID
			scfg.OnRateLimited = func(bool) { p.Metrics.RateLimited(id, 1) }
		}
		open := ZoomReporter(scfg, src.ID, p.Secrets, p.Secrets.TokenStore(src.ID))
		sum, err := poller.Cycle(ctx, src.ID, open)
		sr := SourceReport{Source: src.ID, Delivered: sum.Delivered(), Results: sum.Results}
		for _, r := range sum.Results {
			if p.Metrics != nil {
				p.Metrics.Polled(src.ID, r.Key.LogType, r.Delivered, lagOf(settings.Poll, r))
			}
		}
		var held *poll.LeaseHeldError
		switch {
		case err == nil, errors.Is(err, poll.ErrDeadline):
		case errors.As(err, &held):
			// Another cycle of this source is running (EventBridge may deliver twice): not a failure.
			log.InfoContext(ctx, "source skipped: another cycle holds its lease", "source", src.ID)
		default:
			kind := zoom.KindOf(err)
			sr.Error, sr.ErrorKind = err.Error(), string(kind)
			failed[src.ID] = err
			log.ErrorContext(ctx, "poll cycle failed", "source", src.ID, "kind", kind, "error", err)
			if p.Metrics != nil {
				p.Metrics.PollFailed(src.ID, kind)
			}
			p.notify(ctx, src, kind, err)
		}
		rep.Sources = append(rep.Sources, sr)
	}
	if len(failed) > 0 {
		return rep, &SourceError{Failed: failed}
	}
	return rep, nil
}

// settings applies the tuning parameters to the last good settings.
func (p *Poller) settings(ctx context.Context, log *slog.Logger) tuning.Poll {
	if !p.haveGood {
		p.good, p.haveGood = p.Base, true
	}
	if p.Tuner == nil {
		return p.good
	}
	params, err := p.Tuner.Params(ctx)
	if err != nil {
		log.WarnContext(ctx, "tuning unavailable; keeping the last good settings", "error", err)
		return p.good
	}
	next, errs := tuning.ApplyPoll(params, p.good)
	for _, e := range errs {
		log.ErrorContext(ctx, "invalid tuning parameter ignored", "error", e)
	}
	p.good = next
	return next
}

// notify raises an ops alert for failures a person must fix; transient ones only count.
func (p *Poller) notify(ctx context.Context, src Source, kind zoom.ErrorKind, err error) {
	if p.Ops == nil {
		return
	}
	var what string
	switch kind {
	case zoom.KindTokenSave:
		what = "a rotated Zoom refresh token could not be saved to Secrets Manager; re-authorize the source if the next cycle fails too"
	case zoom.KindGrantRejected, zoom.KindAuth:
		what = "Zoom rejected the source's credentials; re-authorize it (README: Connect a Zoom account)"
	case zoom.KindPermission:
		what = "the Zoom app lacks a scope or the authorizing user lacks report permission"
	default:
		return
	}
	subject := fmt.Sprintf("zoomwatch: source %s needs attention (%s)", src.ID, kind)
	if nerr := p.Ops.NotifyOps(ctx, subject, what+"\n\n"+err.Error()); nerr != nil {
		p.logger().ErrorContext(ctx, "ops notification failed", "source", src.ID, "error", nerr)
	}
}

func (p *Poller) logger() *slog.Logger {
	if p.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return p.Log
}

// lagOf is how far the cursor is behind now after a pass.
func lagOf(cfg poll.Config, r poll.Result) time.Duration {
	if r.Watermark.IsZero() {
		return 0
	}
	now := time.Now
	if cfg.Now != nil {
		now = cfg.Now
	}
	return now().Sub(r.Watermark)
}
