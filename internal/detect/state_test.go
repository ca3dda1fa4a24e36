package detect

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestMemStateObserve(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	type step struct {
		id       string
		at       time.Duration
		distinct string
		fire     bool
		count    int
		dup      bool
		stale    bool
	}
	tests := []struct {
		name      string
		threshold int
		steps     []step
	}{
		{"threshold 1 fires once per window", 1, []step{
			{id: "a", fire: true, count: 1},
			{id: "b", at: 30 * time.Minute, count: 2},
			{id: "c", at: 61 * time.Minute, fire: true, count: 1},
		}},
		{"redelivery is a duplicate, even of the firing event", 2, []step{
			{id: "a", count: 1},
			{id: "a", count: 1, dup: true},
			{id: "b", at: time.Minute, fire: true, count: 2},
			{id: "b", at: time.Minute, count: 2, dup: true},
		}},
		{"distinct values", 2, []step{
			{id: "a", distinct: "ip1", count: 1},
			{id: "b", distinct: "ip1", count: 1},
			{id: "c", distinct: "ip2", fire: true, count: 2},
		}},
		{"late within a period joins, older is stale", 2, []step{
			{id: "a", at: 2 * time.Hour, count: 1},
			{id: "b", at: 90 * time.Minute, fire: true, count: 2},
			{id: "c", at: 30 * time.Minute, stale: true, count: 2},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMemState()
			for i, s := range tt.steps {
				d, err := m.Observe(context.Background(), Observation{RuleID: "r", Key: "k", EventID: s.id,
					Time: t0.Add(s.at), Period: time.Hour, Threshold: tt.threshold, Distinct: s.distinct})
				if err != nil {
					t.Fatal(err)
				}
				if d.Fire != s.fire || d.Count != s.count || d.Duplicate != s.dup || d.Stale != s.stale {
					t.Errorf("step %d (%s): %+v, want fire=%v count=%d dup=%v stale=%v", i, s.id, d, s.fire, s.count, s.dup, s.stale)
				}
			}
		})
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
	if got, _ := m.FirstSeen(ctx, "k", "late", t0.Add(20*time.Hour), 24*time.Hour); got {
		t.Error("seen 18h after the last sighting, within the TTL, but reported as new")
	}
	if got, _ := m.FirstSeen(ctx, "k", "later", t0.Add(70*time.Hour), 24*time.Hour); !got {
		t.Error("key not forgotten after its TTL")
	}
	for i := 0; i < sweepEvery; i++ {
		_, _ = m.Observe(ctx, Observation{RuleID: "r", Key: fmt.Sprint(i), EventID: "e", Time: t0.Add(time.Duration(i) * time.Second), Period: time.Minute, Threshold: 1})
	}
	if n := len(m.windows); n > 1000 {
		t.Errorf("%d windows kept after a sweep, want only recent ones", n)
	}
}
