package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/zoomwatch/zoomwatch/internal/event"
)

// TestBackfillToAPipe: backfilled envelopes go to stdout as JSON lines, and stderr that is not
// a terminal gets the one-line summary, not a progress bar redrawn thousands of times.
func TestBackfillToAPipe(t *testing.T) {
	t.Parallel()
	since := time.Now().UTC().AddDate(0, 0, -3).Format(time.DateOnly)
	code, stdout, stderr := runCLI(t, "", "backfill", "--since", since, "--simulate")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	for _, l := range lines {
		var e event.Envelope
		if err := json.Unmarshal([]byte(l), &e); err != nil || e.ID == "" {
			t.Fatalf("stdout line is not an envelope: %q (%v)", l, err)
		}
	}
	if strings.Contains(stderr, "\r") || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "backfill: source=main Zoom.Operation=") {
		t.Errorf("stderr = %q, want only the summary line", stderr)
	}
	if len(lines) < 100 {
		t.Errorf("%d envelopes for three days of the simulated account, want its ordinary activity", len(lines))
	}
}
