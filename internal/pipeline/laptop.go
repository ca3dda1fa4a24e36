package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/zoomwatch/zoomwatch/internal/alert"
	"github.com/zoomwatch/zoomwatch/internal/event"
	"github.com/zoomwatch/zoomwatch/internal/poll"
)

// Detector turns a batch of envelopes into alerts; the detection engine implements it.
// Alerts are at least once: an alert not acknowledged with Ack is raised again when the
// event that raised it is evaluated again (a retried batch), with the same Alert.ID.
type Detector interface {
	Detect(ctx context.Context, batch []event.Envelope) ([]alert.Alert, error)
	// Ack records that a was delivered, so evaluating its event again raises nothing.
	Ack(ctx context.Context, a alert.Alert) error
}

// Buffer is the laptop's stream: the poller puts into it, the detector reads what is pending
// and acknowledges it once its alerts are out.
type Buffer interface {
	poll.Sink
	Pending() []event.Envelope
	Ack(n int) error
}

// Laptop is the whole pipeline in one process: poll a source into a buffer, run the detector
// over what arrived, hand alerts to Alerts. State lives wherever the Poller's stores keep it.
type Laptop struct {
	// Source is the source id the envelopes and cursors carry.
	Source string
	// Open builds the source's Zoom reporter (see ZoomReporter).
	Open poll.OpenReporter
	// Poller runs the poll cycle; its sink must be Buffer.
	Poller *poll.Poller
	// Buffer holds what the poller delivered until the detector runs.
	Buffer Buffer
	// Detector evaluates the rules.
	Detector Detector
	// Alert receives each alert, in the order the detector produced them.
	Alert func(alert.Alert) error
	// SaveState, if set, persists the detector's state. It runs after the alerts are out and
	// before the buffer is acknowledged, so a crash in between re-detects the batch against a
	// state that already holds it (and so raises nothing twice).
	SaveState func() error
}

// CycleReport is what one laptop cycle did.
type CycleReport struct {
	// Poll is the poller's summary.
	Poll poll.Summary
	// Polled counts delivered envelopes per log type.
	Polled map[event.LogType]int
	// Alerts counts the alerts raised.
	Alerts int
}

// Cycle polls once, detects over everything delivered, and reports. A poll that stopped early
// still has its delivered envelopes detected (they are checkpointed and will not come again);
// its error is returned after.
func (l *Laptop) Cycle(ctx context.Context) (CycleReport, error) {
	sum, pollErr := l.Poller.Cycle(ctx, l.Source, l.Open)
	rep := CycleReport{Poll: sum, Polled: map[event.LogType]int{}}
	// Pending includes what a crashed earlier run delivered but never detected.
	batch := l.Buffer.Pending()
	for _, e := range batch {
		rep.Polled[e.LogType]++
	}
	alerts, err := l.Detector.Detect(ctx, batch)
	if err != nil {
		return rep, errors.Join(pollErr, fmt.Errorf("detect: %w", err))
	}
	// Zoom serves newest first; people read a cycle's alerts oldest first.
	sort.SliceStable(alerts, func(i, j int) bool { return alerts[i].FirstSeen.Before(alerts[j].FirstSeen) })
	for _, a := range alerts {
		if err := l.Alert(a); err != nil {
			// The batch stays pending: the next cycle raises the undelivered alerts again.
			return rep, errors.Join(pollErr, fmt.Errorf("deliver alert %s: %w", a.RuleID, err))
		}
		rep.Alerts++
		if err := l.Detector.Ack(ctx, a); err != nil {
			// Delivered but not acknowledged: only a redelivery could repeat it (same ID).
			return rep, errors.Join(pollErr, err)
		}
	}
	if l.SaveState != nil {
		if err := l.SaveState(); err != nil {
			return rep, errors.Join(pollErr, fmt.Errorf("save detector state: %w", err))
		}
	}
	if err := l.Buffer.Ack(len(batch)); err != nil {
		return rep, errors.Join(pollErr, err)
	}
	return rep, pollErr
}
