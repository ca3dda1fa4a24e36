package detect

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/zoomwatch/zoomwatch/internal/alert"
)

// firstSeenCalls is MemState counting the FirstSeen calls that reach it.
type firstSeenCalls struct {
	*MemState
	n int
}

func (s *firstSeenCalls) FirstSeen(ctx context.Context, key, eventID string, at time.Time, ttl time.Duration) (bool, error) {
	s.n++
	return s.MemState.FirstSeen(ctx, key, eventID, at, ttl)
}

// TestFirstSeenAlertIf: a first_seen rule with first_seen_alert_if remembers every key its
// condition matches and alerts only on first sightings the second condition accepts, so an
// address a user signed in from before they were seen operating is not new to them later.
func TestFirstSeenAlertIf(t *testing.T) {
	day := func(d int, hhmm string) string {
		return time.Date(2026, 8, 1+d, 0, 0, 0, 0, time.UTC).Format("2006-01-02") + "T" + hhmm + ":00Z"
	}
	operates := func(ts string) []byte {
		return op(ts, "marge@x.io", "Meeting", "Meeting  - Join before host: from Off to On")
	}
	in := func(ts, ip string) []byte { return signIn(ts, "marge@x.io", ip) }
	daily := func(from, to int, ip string) [][]byte {
		var out [][]byte
		for d := from; d <= to; d++ {
			out = append(out, in(day(d, "08:00"), ip), in(day(d, "13:00"), ip), in(day(d, "17:30"), ip))
		}
		return out
	}
	tests := []struct {
		name   string
		inputs [][]byte
		want   []string // IPs alerted on, in order
	}{
		{"an address used before the user operated is not new later",
			[][]byte{in(day(0, "09:00"), "10.0.0.1"), operates(day(0, "10:00")), in(day(0, "11:00"), "10.0.0.1"), in(day(0, "12:00"), "10.0.0.2")},
			[]string{"10.0.0.2"}},
		{"a quiet first sighting redelivered once the user operated stays quiet",
			[][]byte{in(day(0, "09:00"), "10.0.0.1"), operates(day(0, "10:00")), in(day(0, "09:00"), "10.0.0.1")},
			nil},
		{"a user never seen operating raises nothing",
			[][]byte{in(day(0, "09:00"), "10.0.0.1"), in(day(0, "10:00"), "10.0.0.2")},
			nil},
		{"an admin's daily sign-ins keep the address remembered past its TTL",
			append([][]byte{operates(day(0, "07:00"))}, daily(0, 120, "10.0.0.1")...),
			[]string{"10.0.0.1"}},
		{"an address unseen for the TTL is new again",
			[][]byte{operates(day(0, "07:00")), in(day(0, "08:00"), "10.0.0.1"), in(day(91, "08:00"), "10.0.0.1"), in(day(91, "09:00"), "10.0.0.1")},
			[]string{"10.0.0.1", "10.0.0.1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, absorb := range []bool{true, false} {
				eng := NewEngine(loadTestRules(t), NewMemState(), Options{})
				eng.noAbsorb = !absorb
				var got []string
				for _, a := range runAll(t, eng, tt.inputs...) {
					if a.RuleID == "Zoom.Admin.Sign.In.New.IP" {
						got = append(got, a.DedupKey[len("marge@x.io|"):])
					}
				}
				if !slices.Equal(got, tt.want) {
					t.Errorf("absorb %v: alerts on %q, want %q", absorb, got, tt.want)
				}
				if n := eng.Learned()["Zoom.Admin.Sign.In.New.IP"]; n != 0 {
					t.Errorf("absorb %v: %d sightings counted as learned; quiet ones are not learning", absorb, n)
				}
			}
		})
	}
}

// TestFirstSeenRepeatsStayInTheWorker: a worker sends State a known key's first sighting and
// then one sighting per day, so a busy address costs a State call a day, not one a sign-in;
// an unacknowledged first sighting still reaches State, and is raised again, when it is
// redelivered.
func TestFirstSeenRepeatsStayInTheWorker(t *testing.T) {
	ctx := context.Background()
	st := &firstSeenCalls{MemState: NewMemState()}
	eng := NewEngine(loadTestRules(t), st, Options{})
	w := eng.NewWorker()
	first := signIn("2026-11-20T08:00:00Z", "marge@x.io", "10.0.0.1")
	var last *alert.Alert
	eval := func(rec []byte) []string {
		as := newIPAlerts(t, eng, w, rec)
		if len(as) > 0 {
			last = as[len(as)-1]
		}
		return alertIDs(as)
	}
	eval(op("2026-11-20T07:00:00Z", "marge@x.io", "Meeting", "Meeting  - Join before host: from Off to On"))
	raised := eval(first)
	if len(raised) != 1 {
		t.Fatalf("first sighting raised %q, want one alert", raised)
	}
	for m := 1; m <= 50; m++ {
		if got := eval(signIn(time.Date(2026, 11, 20, 9, m, 0, 0, time.UTC).Format(time.RFC3339), "marge@x.io", "10.0.0.1")); len(got) != 0 {
			t.Fatalf("repeat %d raised %q", m, got)
		}
	}
	if again := eval(first); !slices.Equal(again, raised) {
		t.Errorf("redelivered unacknowledged first sighting raised %q, want %q again", again, raised)
	}
	if err := eng.Ack(ctx, *last); err != nil {
		t.Fatal(err)
	}
	if again := eval(first); len(again) != 0 {
		t.Errorf("redelivered acknowledged first sighting raised %q", again)
	}
	if st.n != 2 {
		t.Errorf("same day: %d FirstSeen calls, want 2 (the first sighting and its redelivery before the ack)", st.n)
	}
	for d := 1; d <= 3; d++ {
		for h := 8; h < 18; h++ {
			eval(signIn(time.Date(2026, 11, 20+d, h, 0, 0, 0, time.UTC).Format(time.RFC3339), "marge@x.io", "10.0.0.1"))
		}
	}
	if st.n != 5 {
		t.Errorf("after three more days: %d FirstSeen calls, want 5 (one a day)", st.n)
	}
}

// TestFirstSeenRedeliveredFirerAfterAnotherSighting: a restarted detector sees another
// sighting of a key before the redelivered first sighting whose alert was never
// acknowledged. The other sighting brought nothing in, so the first is not dropped and its
// alert is raised again, with the same ID.
func TestFirstSeenRedeliveredFirerAfterAnotherSighting(t *testing.T) {
	rs, st := loadTestRules(t), NewMemState()
	newIP := func(eng *Engine, w *Worker, rec []byte) []string { return alertIDs(newIPAlerts(t, eng, w, rec)) }
	first := NewEngine(rs, st, Options{})
	w := first.NewWorker()
	newIP(first, w, op("2026-11-20T07:00:00Z", "marge@x.io", "Meeting", "Meeting  - Join before host: from Off to On"))
	firer := signIn("2026-11-20T08:00:00Z", "marge@x.io", "10.0.0.1")
	raised := newIP(first, w, firer)
	if len(raised) != 1 {
		t.Fatalf("first sighting raised %q, want one alert", raised)
	}
	again := NewEngine(rs, st, Options{})
	w = again.NewWorker()
	if got := newIP(again, w, signIn("2026-11-20T09:00:00Z", "marge@x.io", "10.0.0.1")); len(got) != 0 {
		t.Fatalf("a later sighting raised %q", got)
	}
	if got := newIP(again, w, firer); !slices.Equal(got, raised) {
		t.Errorf("redelivered first sighting raised %q, want %q again", got, raised)
	}
}

// newIPAlerts evaluates rec on w and decides its matches, returning the new-IP rule's alerts.
func newIPAlerts(t *testing.T, eng *Engine, w *Worker, rec []byte) []*alert.Alert {
	t.Helper()
	ms, err := w.EvalJSON(context.Background(), rec, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []*alert.Alert
	for _, a := range decideAll(t, eng, ms) {
		if a.RuleID == "Zoom.Admin.Sign.In.New.IP" {
			out = append(out, a)
		}
	}
	return out
}

func alertIDs(as []*alert.Alert) []string {
	var ids []string
	for _, a := range as {
		ids = append(ids, a.ID)
	}
	return ids
}
