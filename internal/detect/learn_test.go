package detect

import (
	"context"
	"strings"
	"testing"
	"time"
)

// learnRules returns the fixture rules with the new-IP rule learning for learnDays.
func learnRules(t *testing.T, learnDays string) *RuleSet {
	t.Helper()
	rs, errs := Tune(loadTestRules(t), nil, Tuning{Overrides: map[string]string{
		"Zoom.Admin.Sign.In.New.IP": `{"learn_days":` + learnDays + `}`,
	}})
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	return rs
}

// TestFirstSeenLearning: a first_seen rule remembers the keys of its learning period without
// alerting, so only addresses new after it raise alerts — also when records come late, are
// redelivered, or the state is saved and loaded in between.
func TestFirstSeenLearning(t *testing.T) {
	admin := op("2026-11-01T08:00:00Z", "admin@x.io", "User", "Add User  - m@x.io")
	in := func(ts, ip string) []byte { return signIn(ts, "admin@x.io", ip) }
	tests := []struct {
		name   string
		learn  string
		inputs [][]byte
		want   []string // alert titles in order
	}{
		{"learning off alerts from the first sighting", "0",
			[][]byte{admin, in("2026-11-01T09:00:00Z", "10.0.0.1")},
			[]string{"Admin admin@x.io signed in from new IP 10.0.0.1"}},
		{"first sightings in the learning period are silent", "2",
			[][]byte{admin, in("2026-11-01T09:00:00Z", "10.0.0.1"), in("2026-11-02T09:00:00Z", "10.0.0.2")},
			nil},
		{"a new key after learning alerts, a learned one does not", "2",
			[][]byte{admin, in("2026-11-01T09:00:00Z", "10.0.0.1"), in("2026-11-03T09:00:00Z", "10.0.0.1"),
				in("2026-11-03T09:00:00Z", "10.0.0.3")},
			[]string{"Admin admin@x.io signed in from new IP 10.0.0.3"}},
		{"learning ends exactly its period after the first sighting", "2",
			[][]byte{admin, in("2026-11-01T09:00:00Z", "10.0.0.1"), in("2026-11-03T08:59:59Z", "10.0.0.2"),
				in("2026-11-03T09:00:00Z", "10.0.0.3")},
			[]string{"Admin admin@x.io signed in from new IP 10.0.0.3"}},
		{"a late record from before watching began is learned", "2",
			[][]byte{admin, in("2026-11-05T09:00:00Z", "10.0.0.1"), in("2026-11-01T09:00:00Z", "10.0.0.2"),
				in("2026-11-08T09:00:00Z", "10.0.0.2")},
			nil},
		{"a redelivered learned sighting stays silent", "2",
			[][]byte{admin, in("2026-11-01T09:00:00Z", "10.0.0.1"), in("2026-11-04T09:00:00Z", "10.0.0.9"),
				in("2026-11-01T09:00:00Z", "10.0.0.1")},
			[]string{"Admin admin@x.io signed in from new IP 10.0.0.9"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eng := NewEngine(learnRules(t, tt.learn), NewMemState(), Options{})
			var got []string
			for _, a := range runAll(t, eng, tt.inputs...) {
				got = append(got, a.Title)
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("alerts = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestFirstSeenLearningSurvivesRestart: when watching began is state, so a new engine over
// saved state neither learns again nor forgets what it learned.
func TestFirstSeenLearningSurvivesRestart(t *testing.T) {
	rs := learnRules(t, "2")
	st := NewMemState()
	admin := op("2026-11-01T08:00:00Z", "admin@x.io", "User", "Add User  - m@x.io")
	if a := runAll(t, NewEngine(rs, st, Options{}), admin, signIn("2026-11-01T09:00:00Z", "admin@x.io", "10.0.0.1")); len(a) != 0 {
		t.Fatalf("alerts while learning: %+v", a)
	}
	got := runAll(t, NewEngine(rs, saveAndLoad(t, st), Options{}),
		signIn("2026-11-04T09:00:00Z", "admin@x.io", "10.0.0.1"), signIn("2026-11-04T10:00:00Z", "admin@x.io", "10.0.0.4"))
	if len(got) != 1 || !strings.HasSuffix(got[0].Title, "10.0.0.4") {
		t.Errorf("after restart: alerts = %+v, want one for 10.0.0.4", got)
	}
}

func TestMemStateWatchingSince(t *testing.T) {
	ctx := context.Background()
	m := NewMemState()
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	for i, at := range []time.Time{t0, t0.Add(time.Hour), t0.Add(-time.Hour)} {
		if got, err := m.WatchingSince(ctx, "r", at); err != nil || !got.Equal(t0) {
			t.Errorf("call %d: WatchingSince = %v, %v; want the first call's %v", i, got, err, t0)
		}
	}
	if got, _ := m.WatchingSince(ctx, "other", t0.Add(time.Hour)); !got.Equal(t0.Add(time.Hour)) {
		t.Errorf("another scope: WatchingSince = %v, want its own first time", got)
	}
}

func TestLearnOverrideErrors(t *testing.T) {
	base := loadTestRules(t)
	for id, bad := range map[string]string{
		"Zoom.Admin.Sign.In.New.IP":               `{"learn_days":-1}`,
		"Zoom.Two.Factor.Authentication.Disabled": `{"learn_days":7}`,
	} {
		rs, errs := Tune(base, nil, Tuning{Overrides: map[string]string{id: bad}})
		if len(errs) != 1 || !strings.Contains(errs[0].Error(), "learn_days") {
			t.Errorf("%s %s: errors = %v, want one about learn_days", id, bad, errs)
		}
		if r, _ := rs.Rule(id); r.FirstSeenLearn != 0 {
			t.Errorf("%s: rejected override changed the learning period to %s", id, r.FirstSeenLearn)
		}
	}
}
