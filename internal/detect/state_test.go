package detect

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

func TestBucketsOf(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	hour := int64(t0.Unix() / 3600)
	tests := []struct {
		name      string
		at        time.Time
		period    time.Duration
		threshold int
		want      []Bucket
	}{
		{"threshold 1 has one grid", t0, time.Hour, 1, []Bucket{{0, hour}}},
		{"start of a bucket belongs to it", t0, time.Hour, 2, []Bucket{{0, hour}, {1, hour - 1}}},
		{"grid 1 turns over half a period later", t0.Add(30 * time.Minute), time.Hour, 2, []Bucket{{0, hour}, {1, hour}}},
		{"last instant", t0.Add(time.Hour - 1), time.Hour, 2, []Bucket{{0, hour}, {1, hour}}},
		{"before the epoch rounds down", time.Unix(-1, 0), time.Hour, 2, []Bucket{{0, -1}, {1, -1}}},
		{"zero period is one nanosecond, one grid", t0, 0, 3, []Bucket{{0, t0.UnixNano()}}},
		{"zero time is clamped", time.Time{}, time.Hour, 1, []Bucket{{0, floorDiv(minBucketTime.UnixNano(), int64(time.Hour))}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := BucketsOf(tt.at, tt.period, tt.threshold)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("BucketsOf = %v, want %v", got, tt.want)
			}
			for _, b := range got {
				if end := b.End(tt.period); tt.period > 0 && (!tt.at.Before(end) || tt.at.Before(end.Add(-tt.period))) && !tt.at.IsZero() {
					t.Errorf("%v ends at %v, which does not hold %v", b, end, tt.at)
				}
			}
		})
	}
	if a, b := AlertID("r", "k", time.Hour, Bucket{0, 1}), AlertID("r", "k", time.Hour, Bucket{1, 1}); a == b || len(a) != 32 {
		t.Errorf("alert IDs %q and %q of different buckets", a, b)
	}
}

type step struct {
	id       string
	at       time.Duration
	distinct string
	fire     bool
	count    int
	dup      bool
	ack      bool // acknowledge the alert of the last firing step before this one
	// newDistinct: the step's distinct value is new to one of its buckets.
	newDistinct bool
}

func runSteps(t *testing.T, st State, threshold int, period time.Duration, steps []step) []Decision {
	t.Helper()
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	ctx := context.Background()
	var out []Decision
	lastAlert := ""
	for i, s := range steps {
		if s.ack {
			if err := st.Ack(ctx, lastAlert); err != nil {
				t.Fatal(err)
			}
		}
		d, err := st.Observe(ctx, Observation{RuleID: "r", Key: "k", EventID: s.id,
			Time: t0.Add(s.at), Period: period, Threshold: threshold, Distinct: s.distinct})
		if err != nil {
			t.Fatal(err)
		}
		if d.Fire != s.fire || d.Count != s.count || d.Duplicate != s.dup || d.Fire != (d.AlertID != "") ||
			d.NewDistinct != s.newDistinct {
			t.Errorf("step %d (%s): %+v, want fire=%v count=%d dup=%v new_distinct=%v", i, s.id, d, s.fire, s.count, s.dup, s.newDistinct)
		}
		if d.Fire {
			lastAlert = d.AlertID
		}
		out = append(out, d)
	}
	return out
}

func TestMemStateObserve(t *testing.T) {
	const day = 24 * time.Hour
	tests := []struct {
		name      string
		threshold int
		period    time.Duration
		steps     []step
	}{
		{"threshold 1 fires once per bucket", 1, time.Hour, []step{
			{id: "a", fire: true, count: 1, ack: true},
			{id: "b", at: 30 * time.Minute, count: 2},
			{id: "c", at: 61 * time.Minute, fire: true, count: 1},
		}},
		{"older events arrive later and still alert (newest first)", 1, day, []step{
			{id: "later", at: 5 * day, fire: true, count: 1, ack: true},
			{id: "earlier", fire: true, count: 1, ack: true},
			{id: "same day as earlier", at: time.Hour, count: 2},
		}},
		{"redelivery repeats an unacknowledged alert until Ack", 2, time.Hour, []step{
			{id: "a", count: 1},
			{id: "a", count: 1, dup: true},
			{id: "b", at: time.Minute, fire: true, count: 2},
			{id: "b", at: time.Minute, fire: true, count: 2, dup: true},
			{id: "a", count: 2, dup: true}, // not the firing event
			{id: "c", at: 2 * time.Minute, count: 3},
			{id: "b", at: time.Minute, fire: true, count: 3, dup: true},
			{id: "b", at: time.Minute, count: 3, dup: true, ack: true},
			{id: "b", at: time.Minute, count: 3, dup: true, ack: true}, // Ack again is harmless
		}},
		{"distinct values", 2, time.Hour, []step{
			{id: "a", distinct: "ip1", count: 1, newDistinct: true},
			{id: "b", distinct: "ip1", count: 1},
			{id: "c", distinct: "ip2", fire: true, count: 2, newDistinct: true},
			{id: "c", distinct: "ip2", fire: true, count: 2, dup: true}, // a redelivery counts nothing new
		}},
		{"a distinct value new to only one grid's bucket is new", 2, time.Hour, []step{
			{id: "a", at: 10 * time.Minute, distinct: "ip1", count: 1, newDistinct: true},
			// Grid 0 holds ip1 already; grid 1's bucket from 0:30 does not.
			{id: "b", at: 40 * time.Minute, distinct: "ip1", count: 1, newDistinct: true},
			{id: "c", at: 45 * time.Minute, distinct: "ip1", count: 1},
		}},
		{"newest-first burst fires", 3, 10 * time.Minute, []step{
			{id: "e3", at: 4 * time.Minute, count: 1},
			{id: "e2", at: 3 * time.Minute, count: 2},
			{id: "e1", at: 2 * time.Minute, fire: true, count: 3},
		}},
		{"burst straddling a grid-0 boundary fires once, in grid 1", 3, time.Hour, []step{
			{id: "a", at: 50 * time.Minute, count: 1},
			{id: "b", at: 55 * time.Minute, count: 2},
			{id: "c", at: 65 * time.Minute, fire: true, count: 3}, // grid 0: next bucket; grid 1: third event
			{id: "d", at: 70 * time.Minute, count: 2},             // grid 1 already fired
			{id: "e", at: 75 * time.Minute, count: 3},             // grid 0 reaches 3, overlaps the fired bucket
			{id: "c", at: 65 * time.Minute, fire: true, count: 5, dup: true},
		}},
		{"buckets far apart alert separately", 2, time.Hour, []step{
			{id: "a", at: 10 * time.Minute, count: 1},
			{id: "b", at: 20 * time.Minute, fire: true, count: 2, ack: true},
			{id: "c", at: 3*time.Hour + 10*time.Minute, count: 1},
			{id: "d", at: 3*time.Hour + 20*time.Minute, fire: true, count: 2},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds := runSteps(t, NewMemState(), tt.threshold, tt.period, tt.steps)
			if tt.name == "burst straddling a grid-0 boundary fires once, in grid 1" {
				if d := ds[2]; !d.Fire || d.Count != 3 || len(d.EventIDs) != 3 {
					t.Errorf("the straddling burst: %+v, want grid 1's alert of 3 events", d)
				}
			}
		})
	}
}

// TestMemStateBurstWithinHalfPeriodAlwaysAlerts checks the documented guarantee: N events
// within P/2, in any order and at any offset, raise exactly one alert.
func TestMemStateBurstWithinHalfPeriodAlwaysAlerts(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	const P = time.Hour
	t0 := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	for trial := range 500 {
		n := 2 + rng.IntN(6)
		start := t0.Add(time.Duration(rng.Int64N(int64(24 * time.Hour))))
		m := NewMemState()
		fires := 0
		for _, i := range rng.Perm(n) {
			at := start.Add(time.Duration(rng.Int64N(int64(P / 2))))
			if i == 0 {
				at = start
			}
			d, err := m.Observe(context.Background(), Observation{RuleID: "r", Key: "k", EventID: fmt.Sprint(i), Time: at, Period: P, Threshold: n})
			if err != nil {
				t.Fatal(err)
			}
			if d.Fire {
				fires++
			}
		}
		if fires != 1 {
			t.Fatalf("trial %d: %d events within P/2 from %v raised %d alerts, want 1", trial, n, start, fires)
		}
	}
}

func TestMemStateAckUnknownIsHarmless(t *testing.T) {
	if err := NewMemState().Ack(context.Background(), "nope"); err != nil {
		t.Fatal(err)
	}
}

func TestMemStateFirstSeenAndSweep(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	m := NewMemState()
	for i, want := range []bool{true, false, false} {
		got, _ := m.FirstSeen(ctx, "k", fmt.Sprint(i), t0.Add(time.Duration(i)*time.Hour), 24*time.Hour)
		if got != want {
			t.Errorf("FirstSeen #%d = %v, want %v", i, got, want)
		}
	}
	if got, _ := m.FirstSeen(ctx, "k", "0", t0, 24*time.Hour); !got {
		t.Error("redelivered first sighting reported as known")
	}
	if got, _ := m.FirstSeen(ctx, "k", "late", t0.Add(20*time.Hour), 24*time.Hour); got {
		t.Error("seen 18h after the last sighting, within the TTL, but reported as new")
	}
	if got, _ := m.FirstSeen(ctx, "k", "later", t0.Add(70*time.Hour), 24*time.Hour); !got {
		t.Error("key not forgotten after its TTL")
	}
	if got, _ := m.FirstSeen(ctx, "k", "0", t0.Add(71*time.Hour), 24*time.Hour); got {
		t.Error("the first sighting of an earlier life of the key counts as first")
	}
	for i := 0; i < 2*sweepEvery; i++ {
		_, _ = m.Observe(ctx, Observation{RuleID: "r", Key: fmt.Sprint(i), EventID: "e", Time: t0.Add(time.Duration(i) * time.Second), Period: time.Minute, Threshold: 1})
	}
	if n := len(m.buckets); n > sweepEvery+1000 {
		t.Errorf("%d buckets kept after two sweeps, want only recently touched ones", n)
	}
}

// countingState counts State.IsAdmin calls.
type countingState struct {
	*MemState
	isAdmin int
}

func (c *countingState) IsAdmin(ctx context.Context, email string) (bool, error) {
	c.isAdmin++
	return c.MemState.IsAdmin(ctx, email)
}

// TestAdminCacheAsksStateOncePerMinute: a user who is not an admin costs one State read per
// adminMissTTL, not one per sign-in; an operator noted in between is an admin at once, and
// one noted by another detector is seen once the minute has passed.
func TestAdminCacheAsksStateOncePerMinute(t *testing.T) {
	ctx := context.Background()
	st := &countingState{MemState: NewMemState()}
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	a := newAdminCache(st, func() time.Time { return now }, nil)
	for range 3 {
		if a.isAdmin(ctx, "lisa@x.io") {
			t.Fatal("lisa is not an admin")
		}
	}
	if st.isAdmin != 1 {
		t.Errorf("%d State reads for three lookups within a minute, want 1", st.isAdmin)
	}
	a.note(ctx, "lisa@x.io", now)
	if !a.isAdmin(ctx, "lisa@x.io") {
		t.Error("lisa was noted as an operator here and is still not an admin")
	}
	// Another detector notes bart; this one sees it after the cached answer expires.
	if a.isAdmin(ctx, "bart@x.io") {
		t.Fatal("bart is not an admin yet")
	}
	if err := st.NoteAdmin(ctx, "bart@x.io", now); err != nil {
		t.Fatal(err)
	}
	if a.isAdmin(ctx, "bart@x.io") {
		t.Error("the cached answer was not used within the minute")
	}
	now = now.Add(adminMissTTL)
	if !a.isAdmin(ctx, "bart@x.io") {
		t.Error("bart, noted elsewhere, is not an admin after the cached answer expired")
	}
}

// TestAdminLookupsShareClockReadings: a worker reads the wall clock once per clockReuse admin
// lookups, and afresh after it was reset for a new batch.
func TestAdminLookupsShareClockReadings(t *testing.T) {
	reads := 0
	sys := sysContext{clockRead: func() time.Time { reads++; return time.Unix(int64(reads), 0) }}
	for range 2*clockReuse + 1 {
		sys.now()
	}
	if reads != 3 {
		t.Errorf("%d clock readings for %d lookups, want 3", reads, 2*clockReuse+1)
	}
	sys.clockUses = 0
	if sys.now(); reads != 4 {
		t.Errorf("a reset clock was not read again (%d readings)", reads)
	}
}

// TestMemStateGroupsLateRecords: a record up to LateGrace late still finds its window, even
// after sweeps (a backfill whose pages or shards arrive out of order); only later than that
// may MemState have forgotten it.
func TestMemStateGroupsLateRecords(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	obs := func(key, id string, at time.Time) Observation {
		return Observation{RuleID: "r", Key: key, EventID: id, Time: at, Period: time.Hour, Threshold: 1}
	}
	m := NewMemState()
	if d, _ := m.Observe(ctx, obs("late", "first", t0)); !d.Fire {
		t.Fatal("the first record did not fire")
	}
	window := memKey{rule: "r", key: "late", period: time.Hour, b: Bucket{Index: floorDiv(t0.UnixNano(), int64(time.Hour))}}
	if m.buckets[window] == nil {
		t.Fatal("the test names the window wrongly")
	}
	// Newer records of other keys move event time on by a day, sweeping every six hours.
	for i := 1; i <= 24*6; i++ {
		_, _ = m.Observe(ctx, obs(fmt.Sprint(i), "e", t0.Add(time.Duration(i)*10*time.Minute)))
	}
	if d, _ := m.Observe(ctx, obs("late", "second", t0.Add(time.Minute))); d.Fire {
		t.Error("a record a day late fired its window again")
	}
	for i := 1; i <= 24*6; i++ {
		_, _ = m.Observe(ctx, obs(fmt.Sprint(i), "e", t0.Add(24*time.Hour+time.Duration(i)*10*time.Minute)))
	}
	if m.buckets[window] != nil {
		t.Error("a window two days past its end is still kept")
	}
}
