package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/zoomwatch/zoomwatch/internal/alert"
	"github.com/zoomwatch/zoomwatch/internal/event"
	"github.com/zoomwatch/zoomwatch/internal/local"
	"github.com/zoomwatch/zoomwatch/internal/poll"
)

// quietZoom has no new records.
type quietZoom struct{}

func (quietZoom) Pages(context.Context, event.LogType, time.Time, time.Time, func([]json.RawMessage) error) error {
	return nil
}

func TestLaptopRepeatsOnlyUndeliveredAlerts(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	var envs []event.Envelope
	for _, who := range []string{"bart@x.io", "lisa@x.io"} {
		var e event.Envelope
		if err := json.Unmarshal(envelopeBytes(t, who, "Security  - Sign in with Two-Factor Authentication: from On to Off", at), &e); err != nil {
			t.Fatal(err)
		}
		envs = append(envs, e)
	}
	cursors, err := local.NewCursors(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	buf, _ := local.NewStream("")
	poller, err := poll.New(poll.Config{}, cursors, buf, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	// The first cycle delivers bart's alert and fails on lisa's.
	var delivered []alert.Alert
	calls := 0
	lap := &Laptop{Source: "main", Open: poll.Static(quietZoom{}), Poller: poller, Buffer: buf, Detector: newTestDetector(t),
		Alert: func(a alert.Alert) error {
			calls++
			if calls == 2 {
				return errors.New("terminal closed")
			}
			delivered = append(delivered, a)
			return nil
		}}
	cycle := func(wantErr bool) {
		t.Helper()
		if _, err := lap.Cycle(context.Background()); (err != nil) != wantErr {
			t.Fatalf("Cycle error %v, want error %v", err, wantErr)
		}
	}
	_, _ = buf.Put(context.Background(), envs)
	cycle(true)
	// Second cycle re-detects the pending batch: only lisa's alert comes again.
	cycle(false)
	// A redelivery of both events raises nothing: both alerts were acknowledged.
	_, _ = buf.Put(context.Background(), envs)
	cycle(false)
	var who []string
	for _, a := range delivered {
		who = append(who, a.DedupKey)
	}
	if len(who) != 2 || who[0] != "bart@x.io" || who[1] != "lisa@x.io" {
		t.Fatalf("delivered %q, want bart then lisa once each", who)
	}
}

func TestLaptopKeepsTheBatchUntilDetectorStateIsSaved(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	var env event.Envelope
	if err := json.Unmarshal(envelopeBytes(t, "bart@x.io", "Security  - Sign in with Two-Factor Authentication: from On to Off", at), &env); err != nil {
		t.Fatal(err)
	}
	cursors, _ := local.NewCursors(t.TempDir())
	buf, _ := local.NewStream("")
	poller, err := poll.New(poll.Config{}, cursors, buf, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var delivered, saves int
	lap := &Laptop{Source: "main", Open: poll.Static(quietZoom{}), Poller: poller, Buffer: buf, Detector: newTestDetector(t),
		Alert: func(alert.Alert) error { delivered++; return nil },
		SaveState: func() error {
			saves++
			if saves == 1 {
				return errors.New("disk full")
			}
			return nil
		}}
	_, _ = buf.Put(context.Background(), []event.Envelope{env})
	if _, err := lap.Cycle(context.Background()); err == nil {
		t.Fatal("a failed state save was not reported")
	}
	if len(buf.Pending()) != 1 {
		t.Fatalf("the batch was acknowledged although the detector state was not saved")
	}
	if _, err := lap.Cycle(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(buf.Pending()) != 0 || delivered != 1 {
		t.Errorf("pending %d, alerts delivered %d; want the batch done and one alert", len(buf.Pending()), delivered)
	}
}
