package detect

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"
)

// TestMemStateSurvivesSaveAndLoad drives two states with the same history, one of them saved
// and reloaded halfway, and expects the same decisions from both afterwards.
func TestMemStateSurvivesSaveAndLoad(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	obs := func(i int) Observation {
		return Observation{
			RuleID: "r", Key: fmt.Sprintf("k%d", i%3), EventID: fmt.Sprintf("e%d", i%17),
			Time: t0.Add(time.Duration(i%11) * 7 * time.Minute), Period: time.Hour, Threshold: 1 + i%3,
			Distinct: fmt.Sprintf("ip%d", i%4),
		}
	}
	step := func(s *MemState, i int) string {
		d, err := s.Observe(ctx, obs(i))
		if err != nil {
			t.Fatal(err)
		}
		if d.Fire && i%2 == 0 {
			if err := s.Ack(ctx, d.AlertID); err != nil {
				t.Fatal(err)
			}
		}
		first, err := s.FirstSeen(ctx, fmt.Sprintf("f%d", i%5), fmt.Sprintf("e%d", i%7), t0.Add(time.Duration(i)*time.Minute), 24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if i%9 == 0 {
			_ = s.NoteAdmin(ctx, fmt.Sprintf("a%d@x.io", i), t0)
		}
		admin, _ := s.IsAdmin(ctx, fmt.Sprintf("a%d@x.io", i-9))
		return fmt.Sprintf("%v %v %d %s %v %v %v", d.Fire, d.Duplicate, d.Count, d.AlertID, d.EventIDs, first, admin)
	}
	a := NewMemState()
	for i := range 60 {
		step(a, i)
	}
	var buf bytes.Buffer
	if err := a.Save(&buf); err != nil {
		t.Fatal(err)
	}
	b, err := LoadMemState(&buf)
	if err != nil {
		t.Fatal(err)
	}
	var fromA, fromB []string
	for i := 60; i < 200; i++ {
		fromA = append(fromA, step(a, i))
		fromB = append(fromB, step(b, i))
	}
	if !reflect.DeepEqual(fromA, fromB) {
		for i := range fromA {
			if fromA[i] != fromB[i] {
				t.Fatalf("step %d: original %q, reloaded %q", 60+i, fromA[i], fromB[i])
			}
		}
	}
	if _, err := LoadMemState(bytes.NewBufferString(`{"version":99}`)); err == nil {
		t.Error("a state of an unknown version was loaded")
	}
}
