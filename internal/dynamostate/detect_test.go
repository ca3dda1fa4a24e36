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

// call is one step of a history: an observation, or (ack) acknowledging the alert the last
// firing observation raised.
type call struct {
	obs detect.Observation
	ack bool
}

type obsCase struct {
	name  string
	calls []call
}

func obs(rule, key, id string, at time.Time, period time.Duration, threshold int, distinct string) call {
	return call{obs: detect.Observation{RuleID: rule, Key: key, EventID: id, Time: at, Period: period, Threshold: threshold, Distinct: distinct}}
}

// ack acknowledges the alert of the last firing observation.
var ack = call{ack: true}

func sameDecision(a, b detect.Decision) bool {
	return a.Fire == b.Fire && a.AlertID == b.AlertID && a.Count == b.Count && a.First.Equal(b.First) &&
		a.Last.Equal(b.Last) && slices.Equal(a.EventIDs, b.EventIDs) && (a.EventIDs == nil) == (b.EventIDs == nil) &&
		a.Duplicate == b.Duplicate && a.NewDistinct == b.NewDistinct
}

// compareObserve runs calls against tbl and a MemState, fails on the first different answer,
// and returns MemState's decisions.
func compareObserve(t *testing.T, tbl *Table, calls []call) []detect.Decision {
	t.Helper()
	mem := detect.NewMemState()
	var out []detect.Decision
	lastAlert := ""
	for i, c := range calls {
		if c.ack {
			if err := mem.Ack(t.Context(), lastAlert); err != nil {
				t.Fatal(err)
			}
			if err := tbl.Ack(t.Context(), lastAlert); err != nil {
				t.Fatalf("call %d: ack %s: %v", i, lastAlert, err)
			}
			continue
		}
		o := c.obs
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
		if want.Fire {
			lastAlert = want.AlertID
		}
		out = append(out, want)
	}
	return out
}

// fires lists the indexes of the firing decisions.
func fires(ds []detect.Decision) []int {
	var out []int
	for i, d := range ds {
		if d.Fire {
			out = append(out, i)
		}
	}
	return out
}

func TestObserveMatchesMemState(t *testing.T) {
	t.Parallel()
	const P = time.Hour
	long := strings.Repeat("k", 2*maxRawKey)
	tests := []struct {
		obsCase
		wantFires []int // indexes among the observations (acks not counted)
	}{
		{obsCase{"threshold 1 fires once per bucket, acknowledged", []call{
			obs("R", "u1", "e1", minute(0), P, 1, ""), ack,
			obs("R", "u1", "e1", minute(0), P, 1, ""),
			obs("R", "u1", "e2", minute(5), P, 1, ""),
			obs("R", "u1", "e3", minute(60), P, 1, ""),
		}}, []int{0, 3}},
		{obsCase{"threshold 3 with a redelivery in between", []call{
			obs("R", "u1", "e1", minute(0), P, 3, ""),
			obs("R", "u1", "e2", minute(1), P, 3, ""),
			obs("R", "u1", "e2", minute(1), P, 3, ""),
			obs("R", "u1", "e3", minute(2), P, 3, ""), ack,
			obs("R", "u1", "e4", minute(3), P, 3, ""),
		}}, []int{3}},
		{obsCase{"out-of-order events all counted", []call{
			obs("R", "u1", "e5", minute(50), P, 5, ""),
			obs("R", "u1", "e1", minute(10), P, 5, ""),
			obs("R", "u1", "e4", minute(40), P, 5, ""),
			obs("R", "u1", "e2", minute(20), P, 5, ""),
			obs("R", "u1", "e3", minute(30), P, 5, ""),
		}}, []int{4}},
		{obsCase{"newest-first burst fires", []call{
			obs("R", "u1", "e4", minute(33), 10*time.Minute, 4, ""),
			obs("R", "u1", "e3", minute(32), 10*time.Minute, 4, ""),
			obs("R", "u1", "e2", minute(31), 10*time.Minute, 4, ""),
			obs("R", "u1", "e1", minute(30), 10*time.Minute, 4, ""),
		}}, []int{3}},
		{obsCase{"an older alert of the same key arriving later fires", []call{
			obs("R", "admin", "late", minute(5*24*60), 24*time.Hour, 1, ""), ack,
			obs("R", "admin", "early", minute(0), 24*time.Hour, 1, ""), ack,
		}}, []int{0, 1}},
		{obsCase{"redelivery after a failed publish fires again until Ack", []call{
			obs("R", "u1", "e1", minute(0), P, 2, ""),
			obs("R", "u1", "e2", minute(1), P, 2, ""),
			obs("R", "u1", "e2", minute(1), P, 2, ""),
			obs("R", "u1", "e1", minute(0), P, 2, ""),
			obs("R", "u1", "e2", minute(1), P, 2, ""), ack,
			obs("R", "u1", "e2", minute(1), P, 2, ""), ack,
			obs("R", "u1", "e2", minute(1), P, 2, ""),
		}}, []int{1, 2, 4}},
		{obsCase{"two-grid boundary-straddling burst fires exactly once", []call{
			obs("R", "u1", "a", minute(50), P, 3, ""),
			obs("R", "u1", "b", minute(55), P, 3, ""),
			obs("R", "u1", "c", minute(65), P, 3, ""), ack,
			obs("R", "u1", "d", minute(70), P, 3, ""),
			obs("R", "u1", "e", minute(75), P, 3, ""),
			obs("R", "u1", "f", minute(80), P, 3, ""),
		}}, []int{2}},
		{obsCase{"grid 0 first, then the blocked overlap of grid 1", []call{
			obs("R", "u1", "a", minute(40), P, 2, ""),
			obs("R", "u1", "b", minute(50), P, 2, ""), ack,
			obs("R", "u1", "c", minute(70), P, 2, ""),
			obs("R", "u1", "d", minute(100), P, 2, ""),
			obs("R", "u1", "e", minute(150), P, 2, ""),
		}}, []int{1, 3}}, // c completes grid 1's 09:30 bucket, which overlaps the fired one; d fires 10:00
		{obsCase{"distinct values", []call{
			obs("R", "u1", "e1", minute(0), P, 2, "1.1.1.1"),
			obs("R", "u1", "e2", minute(1), P, 2, "1.1.1.1"),
			obs("R", "u1", "e3", minute(2), P, 2, "2.2.2.2"),
			obs("R", "u1", "e3", minute(2), P, 2, "2.2.2.2"),
			obs("R", "u1", "e4", minute(3), P, 2, "3.3.3.3"),
		}}, []int{2, 3}},
		{obsCase{"groups and rules are separate", []call{
			obs("R", "u1", "e1", minute(0), P, 2, ""),
			obs("R", "u2", "e1", minute(0), P, 2, ""),
			obs("S", "u1", "e1", minute(0), P, 2, ""),
			obs("R", "u1", "e2", minute(0), P, 2, ""),
		}}, []int{3}},
		{obsCase{"zero period is a bucket per instant", []call{
			obs("R", "u1", "e1", minute(0), 0, 1, ""), ack,
			obs("R", "u1", "e1", minute(0), 0, 1, ""),
			obs("R", "u1", "e2", minute(0), 0, 2, ""),
			obs("R", "u1", "e3", minute(1), 0, 1, ""),
		}}, []int{0, 3}}, // e2 shares e1's instant, whose bucket fired already
		{obsCase{"long key", []call{
			obs("R", long, "e1", minute(0), P, 2, ""),
			obs("R", long+"x", "e2", minute(0), P, 2, ""),
			obs("R", long, "e3", minute(1), P, 2, ""),
		}}, []int{2}},
	}
	many := obsCase{name: "more than MaxEventIDs events"}
	for i := range detect.MaxEventIDs + 5 {
		many.calls = append(many.calls, obs("R", "u1", fmt.Sprintf("e%03d", i), minute(0), P, detect.MaxEventIDs+3, ""))
	}
	many.calls = append(many.calls, obs("R", "u1", "e000", minute(0), P, 1, ""), obs("R", "u1", "e102", minute(0), P, 1, ""))
	tests = append(tests, struct {
		obsCase
		wantFires []int
	}{many, []int{detect.MaxEventIDs + 2, detect.MaxEventIDs + 6}})

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ds := compareObserve(t, newTable(t, newClock()), tt.calls)
			if got := fires(ds); !slices.Equal(got, tt.wantFires) {
				t.Errorf("fired at %v, want %v", got, tt.wantFires)
			}
		})
	}
}

// TestObserveRandomMatchesMemState compares a seeded random history with redeliveries,
// acknowledgements and events arriving up to three periods out of order over a few groups.
func TestObserveRandomMatchesMemState(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 11))
	var calls []call
	var sent []call
	for range 300 {
		switch {
		case len(sent) > 0 && rng.IntN(5) == 0:
			calls = append(calls, sent[rng.IntN(len(sent))]) // redelivery
			continue
		case rng.IntN(4) == 0:
			calls = append(calls, ack)
			continue
		}
		c := obs(fmt.Sprintf("R%d", rng.IntN(2)), fmt.Sprintf("u%d", rng.IntN(3)), fmt.Sprintf("e%d", len(sent)),
			minute(len(sent)-rng.IntN(90)), 30*time.Minute, 1+rng.IntN(4), "")
		if c.obs.RuleID == "R1" {
			c.obs.Distinct = fmt.Sprintf("ip%d", rng.IntN(4))
		}
		sent = append(sent, c)
		calls = append(calls, c)
	}
	ds := compareObserve(t, newTable(t, newClock()), calls)
	if n := len(fires(ds)); n < 10 {
		t.Fatalf("only %d alerts in the random history; the comparison would prove little", n)
	}
}

// TestObserveConcurrentRedelivery delivers the same events from several goroutines at once
// (parallel shards retrying one batch): each event counts once and one alert fires (repeated,
// with the same ID, only until it is acknowledged).
func TestObserveConcurrentRedelivery(t *testing.T) {
	t.Parallel()
	tbl := newTable(t, newClock())
	const events, copies = 6, 4
	var (
		mu  sync.Mutex
		ids = map[string]string{} // alert ID -> firing event
		wg  sync.WaitGroup
	)
	for c := range copies {
		wg.Go(func() {
			for i := range events {
				d, err := tbl.Observe(t.Context(), obs("R", "u1", fmt.Sprintf("e%d", (i+c)%events), minute((i+c)%events), time.Hour, events, "").obs)
				if err != nil {
					t.Error(err)
					return
				}
				if d.Fire {
					mu.Lock()
					ids[d.AlertID] = d.EventIDs[len(d.EventIDs)-1]
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if len(ids) != 1 {
		t.Fatalf("alerts %v, want exactly one alert ID", ids)
	}
	for id, ev := range ids {
		if err := tbl.Ack(t.Context(), id); err != nil {
			t.Fatal(err)
		}
		i := int(ev[1] - '0')
		d, err := tbl.Observe(t.Context(), obs("R", "u1", ev, minute(i), time.Hour, events, "").obs)
		if err != nil {
			t.Fatal(err)
		}
		if d.Fire || d.Count != events || !d.Duplicate {
			t.Fatalf("firing event redelivered after Ack: %+v; want no alert, count %d, duplicate", d, events)
		}
	}
}

// TestObserveConcurrentStraddlingBurst completes two overlapping buckets of the two grids
// at once, from concurrent writers whose events share no bucket: grid 0's [10:00, 11:00)
// with an event at 10:10 and grid 1's [10:30, 11:30) with one at 11:10, both holding an
// earlier event at 10:40. Exactly one of them may fire.
func TestObserveConcurrentStraddlingBurst(t *testing.T) {
	t.Parallel()
	tbl := newTable(t, newClock())
	for round := range 12 {
		key := fmt.Sprintf("u%d", round)
		at := func(m int) time.Time { return minute(60 + m) } // minute(60) is 10:00
		if _, err := tbl.Observe(t.Context(), obs("R", key, "shared", at(40), time.Hour, 2, "").obs); err != nil {
			t.Fatal(err)
		}
		var (
			mu  sync.Mutex
			ids = map[string]bool{}
			wg  sync.WaitGroup
		)
		for i, m := range []int{10, 70} {
			wg.Go(func() {
				d, err := tbl.Observe(t.Context(), obs("R", key, fmt.Sprintf("e%d", i), at(m), time.Hour, 2, "").obs)
				if err != nil {
					t.Error(err)
					return
				}
				if d.Fire {
					mu.Lock()
					ids[d.AlertID] = true
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(ids) != 1 {
			t.Fatalf("round %d: alert IDs %v, want exactly one", round, ids)
		}
	}
}

func TestAck(t *testing.T) {
	t.Parallel()
	tbl := newTable(t, newClock())
	ctx := t.Context()
	if err := tbl.Ack(ctx, "0123456789abcdef0123456789abcdef"); err != nil {
		t.Fatalf("Ack of an alert never raised: %v", err)
	}
	o := obs("R", "u1", "e1", minute(0), time.Hour, 1, "").obs
	first, err := tbl.Observe(ctx, o)
	if err != nil || !first.Fire {
		t.Fatalf("Observe = %+v, %v; want an alert", first, err)
	}
	for i := range 2 {
		again, err := tbl.Observe(ctx, o)
		if err != nil || !again.Fire || again.AlertID != first.AlertID || !again.Duplicate {
			t.Fatalf("redelivery %d before Ack = %+v, %v; want the same alert again", i, again, err)
		}
	}
	for range 2 {
		if err := tbl.Ack(ctx, first.AlertID); err != nil {
			t.Fatalf("Ack: %v", err)
		}
	}
	if d, err := tbl.Observe(ctx, o); err != nil || d.Fire {
		t.Fatalf("redelivery after Ack = %+v, %v; want no alert", d, err)
	}
}

func TestFirstSeenMatchesMemState(t *testing.T) {
	t.Parallel()
	type fsCall struct {
		key, id string
		at      time.Time
		ttl     time.Duration
	}
	calls := []fsCall{
		{"k1", "e1", minute(0), time.Hour},
		{"k1", "e1", minute(0), time.Hour},          // redelivered first sighting: first again
		{"k1", "e2", minute(30), time.Hour},         // extends to minute(90)
		{"k1", "e3", minute(80), time.Hour},         // still known thanks to the extension
		{"k1", "e1", minute(0), time.Hour},          // the first sighting again, still first
		{"k1", "e4", minute(140), 10 * time.Minute}, // exactly at until (minute(140)): new again
		{"k1", "e5", minute(145), time.Minute},      // known, shorter ttl does not shorten
		{"k1", "e6", minute(150), time.Minute},      // until is minute(150): new
		{"k2", "e1", minute(0), time.Hour},
		{"k2", "e9", minute(-30), time.Minute}, // before until: known
		{"k1", "e1", minute(151), time.Minute}, // first sighting of an earlier life: known
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

// TestWatchingSince: the first call's time is kept, also when detectors race to store theirs.
func TestWatchingSince(t *testing.T) {
	t.Parallel()
	clock := newClock()
	tbl := newTable(t, clock)
	ctx := t.Context()
	mem := detect.NewMemState()
	times := make([]time.Time, 8)
	got := make([]time.Time, len(times))
	errs := make([]error, len(times))
	var wg sync.WaitGroup
	for i := range times {
		times[i] = minute(i)
		wg.Go(func() { got[i], errs[i] = tbl.WatchingSince(ctx, "Rule.A", times[i]) })
	}
	wg.Wait()
	for i := range got {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if !got[i].Equal(got[0]) {
			t.Fatalf("racing callers disagree: %v and %v", got[0], got[i])
		}
	}
	if !slices.ContainsFunc(times, got[0].Equal) {
		t.Fatalf("WatchingSince = %v, none of the callers' times", got[0])
	}
	for _, at := range []time.Time{minute(100), minute(-100)} {
		if again, err := tbl.WatchingSince(ctx, "Rule.A", at); err != nil || !again.Equal(got[0]) {
			t.Errorf("later call at %v = %v, %v; want %v", at, again, err, got[0])
		}
	}
	want, _ := mem.WatchingSince(ctx, "Rule.B", minute(7))
	if b, err := tbl.WatchingSince(ctx, "Rule.B", minute(7)); err != nil || !b.Equal(want) {
		t.Errorf("another scope = %v, %v; MemState says %v", b, err, want)
	}
}
