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

// TestLoadVersion2State: a state file written before first-seen keys were kept as digests
// keeps its first sightings (a redelivered first sighting is still recognised) and is saved
// again with digests only.
func TestLoadVersion2State(t *testing.T) {
	v2 := `{"version":2,"groups":[],"seen":{"Zoom.SignIn.New.IP.For.Admin|marge@x.io|10.0.0.1":` +
		`{"until":"2027-01-01T00:00:00.5Z","first_id":"e1"}},"admins":[],"newest":"2026-11-20T10:00:00Z"}`
	m, err := LoadMemState(strings.NewReader(v2))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	at := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	for _, loaded := range []*MemState{m, saveAndLoad(t, m)} {
		key := "Zoom.SignIn.New.IP.For.Admin|marge@x.io|10.0.0.1"
		if first, _ := loaded.FirstSeen(ctx, key, "e2", at, time.Hour); first {
			t.Error("another sighting of a remembered key counted as first")
		}
		if first, _ := loaded.FirstSeen(ctx, key, "e1", at, time.Hour); !first {
			t.Error("the redelivered first sighting was not recognised")
		}
		if s := loaded.seen[digestOf(key)]; !s.until().Equal(time.Date(2027, 1, 1, 0, 0, 0, 5e8, time.UTC)) {
			t.Errorf("remembered until %v, want 2027-01-01T00:00:00.5Z", s.until())
		}
	}
	var buf bytes.Buffer
	if err := m.Save(&buf); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "marge") || !strings.Contains(buf.String(), `"version":3`) {
		t.Errorf("saved state %s: want version 3 with digests, not keys", buf.String())
	}
}

// TestLoadRejectsMalformedDigests: a version 3 file whose first-seen digests are not 16 hex
// digits is refused with the key in the message.
func TestLoadRejectsMalformedDigests(t *testing.T) {
	for _, seen := range []string{
		`"zz00000000000000":{"until":"2027-01-01T00:00:00Z","first_id":"0000000000000000"}`,
		`"00000000000000":{"until":"2027-01-01T00:00:00Z","first_id":"0000000000000000"}`,
		`"0000000000000000":{"until":"2027-01-01T00:00:00Z","first_id":"e1"}`,
	} {
		_, err := LoadMemState(strings.NewReader(`{"version":3,"seen":{` + seen + `}}`))
		if err == nil || !strings.Contains(err.Error(), "first-seen key") {
			t.Errorf("%s: error %v, want one naming the first-seen key", seen, err)
		}
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
