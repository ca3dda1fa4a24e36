package dynamostate

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zoomwatch/zoomwatch/internal/detect"
)

// The detector's state must behave exactly as detect.MemState does. These tests run the same
// calls against both and compare every answer.

var base = time.Date(2026, 2, 20, 9, 0, 0, 0, time.UTC)

func minute(n int) time.Time { return base.Add(time.Duration(n) * time.Minute) }

type obsCase struct {
	name string
	obs  []detect.Observation
}

func obs(rule, key, id string, at time.Time, period time.Duration, threshold int, distinct string) detect.Observation {
	return detect.Observation{RuleID: rule, Key: key, EventID: id, Time: at, Period: period, Threshold: threshold, Distinct: distinct}
}

func sameDecision(a, b detect.Decision) bool {
	return a.Fire == b.Fire && a.Count == b.Count && a.First.Equal(b.First) && a.Last.Equal(b.Last) &&
		slices.Equal(a.EventIDs, b.EventIDs) && (a.EventIDs == nil) == (b.EventIDs == nil) &&
		a.Duplicate == b.Duplicate && a.Stale == b.Stale
}

func compareObserve(t *testing.T, tbl *Table, calls []detect.Observation) {
	t.Helper()
	mem := detect.NewMemState()
	for i, o := range calls {
		want, err := mem.Observe(t.Context(), o)
		if err != nil {
			t.Fatal(err)
		}
		got, err := tbl.Observe(t.Context(), o)
		if err != nil {
			t.Fatalf("call %d %+v: %v", i, o, err)
		}
		if !sameDecision(got, want) {
			t.Fatalf("call %d %+v:\n got  %+v\n want %+v (MemState)", i, o, got, want)
		}
	}
}

func TestObserveMatchesMemState(t *testing.T) {
	t.Parallel()
	const P = time.Hour
	long := strings.Repeat("k", 2*maxRawKey)
	tests := []obsCase{
		{"threshold 1 fires once, duplicate after firing", []detect.Observation{
			obs("R", "u1", "e1", minute(0), P, 1, ""),
			obs("R", "u1", "e1", minute(0), P, 1, ""),
			obs("R", "u1", "e2", minute(5), P, 1, ""),
		}},
		{"threshold 3 with a redelivery in between", []detect.Observation{
			obs("R", "u1", "e1", minute(0), P, 3, ""),
			obs("R", "u1", "e2", minute(1), P, 3, ""),
			obs("R", "u1", "e2", minute(1), P, 3, ""),
			obs("R", "u1", "e3", minute(2), P, 3, ""),
			obs("R", "u1", "e4", minute(3), P, 3, ""),
		}},
		{"window closes at start+period, new window refires", []detect.Observation{
			obs("R", "u1", "e1", minute(0), P, 1, ""),
			obs("R", "u1", "e2", minute(59), P, 1, ""),
			obs("R", "u1", "e3", minute(60), P, 1, ""),
			obs("R", "u1", "e1", minute(0), P, 1, ""), // earlier window's event: joins (not stale), new ID here
		}},
		{"stale and late events", []detect.Observation{
			obs("R", "u1", "e1", minute(120), P, 2, ""),
			obs("R", "u1", "e0", minute(59), P, 2, ""), // before start-P: stale
			obs("R", "u1", "e2", minute(61), P, 2, ""), // within start-P: joins, fires, first moves back
		}},
		{"distinct values", []detect.Observation{
			obs("R", "u1", "e1", minute(0), P, 2, "1.1.1.1"),
			obs("R", "u1", "e2", minute(1), P, 2, "1.1.1.1"),
			obs("R", "u1", "e3", minute(2), P, 2, "2.2.2.2"),
			obs("R", "u1", "e3", minute(2), P, 2, "2.2.2.2"),
			obs("R", "u1", "e4", minute(3), P, 2, "3.3.3.3"),
		}},
		{"groups and rules are separate", []detect.Observation{
			obs("R", "u1", "e1", minute(0), P, 2, ""),
			obs("R", "u2", "e1", minute(0), P, 2, ""),
			obs("S", "u1", "e1", minute(0), P, 2, ""),
			obs("R", "u1", "e2", minute(0), P, 2, ""),
		}},
		{"zero period opens a window per event", []detect.Observation{
			obs("R", "u1", "e1", minute(0), 0, 1, ""),
			obs("R", "u1", "e1", minute(0), 0, 1, ""),
			obs("R", "u1", "e2", minute(0), 0, 2, ""),
		}},
		{"long key", []detect.Observation{
			obs("R", long, "e1", minute(0), P, 2, ""),
			obs("R", long+"x", "e2", minute(0), P, 2, ""),
			obs("R", long, "e3", minute(1), P, 2, ""),
		}},
	}
	many := obsCase{name: "more than MaxEventIDs events"}
	for i := range detect.MaxEventIDs + 5 {
		many.obs = append(many.obs, obs("R", "u1", fmt.Sprintf("e%03d", i), minute(0), P, detect.MaxEventIDs+3, ""))
	}
	many.obs = append(many.obs, obs("R", "u1", "e000", minute(0), P, 1, ""), obs("R", "u1", "e104", minute(0), P, 1, ""))
	tests = append(tests, many)

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			compareObserve(t, newTable(t, newClock()), tt.obs)
		})
	}
}

// TestObserveRandomMatchesMemState compares a seeded random history with redeliveries, late
// and stale events over a few groups.
func TestObserveRandomMatchesMemState(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 11))
	var calls []detect.Observation
	var sent []detect.Observation
	for range 250 {
		if len(sent) > 0 && rng.IntN(5) == 0 {
			calls = append(calls, sent[rng.IntN(len(sent))]) // redelivery
			continue
		}
		o := obs(fmt.Sprintf("R%d", rng.IntN(2)), fmt.Sprintf("u%d", rng.IntN(3)), fmt.Sprintf("e%d", len(sent)),
			minute(len(sent)*2-rng.IntN(90)), 30*time.Minute, 1+rng.IntN(4), "")
		if o.RuleID == "R1" {
			o.Distinct = fmt.Sprintf("ip%d", rng.IntN(4))
		}
		sent = append(sent, o)
		calls = append(calls, o)
	}
	compareObserve(t, newTable(t, newClock()), calls)
}

// TestObserveConcurrentRedelivery delivers the same events from several goroutines at once
// (parallel shards retrying one batch): each event counts once and the alert fires once.
func TestObserveConcurrentRedelivery(t *testing.T) {
	t.Parallel()
	tbl := newTable(t, newClock())
	const events, copies = 6, 4
	var (
		mu    sync.Mutex
		fires int
		wg    sync.WaitGroup
	)
	for c := range copies {
		wg.Go(func() {
			for i := range events {
				d, err := tbl.Observe(t.Context(), obs("R", "u1", fmt.Sprintf("e%d", (i+c)%events), minute(i), time.Hour, events, ""))
				if err != nil {
					t.Error(err)
					return
				}
				if d.Fire {
					mu.Lock()
					fires++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	d, err := tbl.Observe(t.Context(), obs("R", "u1", "e0", minute(0), time.Hour, events, ""))
	if err != nil {
		t.Fatal(err)
	}
	if fires != 1 || d.Count != events || !d.Duplicate {
		t.Fatalf("fires %d, final count %d (duplicate %v); want 1 fire and count %d", fires, d.Count, d.Duplicate, events)
	}
}

func TestFirstSeenMatchesMemState(t *testing.T) {
	t.Parallel()
	type call struct {
		key, id string
		at      time.Time
		ttl     time.Duration
	}
	calls := []call{
		{"k1", "e1", minute(0), time.Hour},
		{"k1", "e1", minute(0), time.Hour},          // redelivered first sighting
		{"k1", "e2", minute(30), time.Hour},         // extends to minute(90)
		{"k1", "e3", minute(80), time.Hour},         // still known thanks to the extension
		{"k1", "e4", minute(140), 10 * time.Minute}, // exactly at until (minute(140)): new again
		{"k1", "e5", minute(145), time.Minute},      // known, shorter ttl does not shorten
		{"k1", "e6", minute(150), time.Minute},      // until is minute(150): new
		{"k2", "e1", minute(0), time.Hour},
		{"k2", "e9", minute(-30), time.Minute}, // before until: known
	}
	mem := detect.NewMemState()
	tbl := newTable(t, newClock())
	for i, c := range calls {
		want, err := mem.FirstSeen(t.Context(), c.key, c.id, c.at, c.ttl)
		if err != nil {
			t.Fatal(err)
		}
		got, err := tbl.FirstSeen(t.Context(), c.key, c.id, c.at, c.ttl)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("call %d %+v: FirstSeen = %v, MemState says %v", i, c, got, want)
		}
	}
}

func TestAdmins(t *testing.T) {
	t.Parallel()
	tbl := newTable(t, newClock())
	ctx := t.Context()
	if ok, err := tbl.IsAdmin(ctx, "a@example.com"); err != nil || ok {
		t.Fatalf("IsAdmin before any note = %v, %v", ok, err)
	}
	for range 2 {
		if err := tbl.NoteAdmin(ctx, "a@example.com", minute(0)); err != nil {
			t.Fatal(err)
		}
	}
	if ok, err := tbl.IsAdmin(ctx, "a@example.com"); err != nil || !ok {
		t.Fatalf("IsAdmin after a note = %v, %v", ok, err)
	}
	if ok, err := tbl.IsAdmin(ctx, "b@example.com"); err != nil || ok {
		t.Fatalf("IsAdmin of another address = %v, %v", ok, err)
	}
}
