package detect

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"strings"
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
			Distinct: fmt.Sprintf("ip%d", i%12),
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
		return fmt.Sprintf("%v %v %v %d %s %v %v %v", d.Fire, d.Duplicate, d.NewDistinct, d.Count, d.AlertID, d.EventIDs, first, admin)
	}
	a := NewMemState()
	for i := range 60 {
		step(a, i)
	}
	b := saveAndLoad(t, a)
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

// TestLoadVersion1State: a state file written before buckets were saved by their parts keeps
// its first sightings and admins; its grouping windows start over.
func TestLoadVersion1State(t *testing.T) {
	v1 := `{"version":1,"buckets":{"0123456789abcdef0123456789abcdef":{"period":60000000000,"ids":["e1"],"all_ids":["e1"],"fired":true}},` +
		`"seen":{"r|k":{"until":"2027-01-01T00:00:00Z","first_id":"e1"}},"admins":["boss@x.io"],"newest":"2026-11-20T10:00:00Z"}`
	m, err := LoadMemState(strings.NewReader(v1))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if ok, _ := m.IsAdmin(ctx, "boss@x.io"); !ok {
		t.Error("the admin was not kept")
	}
	if first, _ := m.FirstSeen(ctx, "r|k", "e2", time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC), time.Hour); first {
		t.Error("the first sighting was not kept")
	}
	if len(m.buckets) != 0 {
		t.Errorf("%d buckets loaded from a version 1 file", len(m.buckets))
	}
}

// saveAndLoad returns a MemState loaded from what m saves, as a restarted laptop run gets it.
func saveAndLoad(t *testing.T, m *MemState) *MemState {
	t.Helper()
	var buf bytes.Buffer
	if err := m.Save(&buf); err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadMemState(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return loaded
}
