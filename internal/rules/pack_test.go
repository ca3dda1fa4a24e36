package rules_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/zoomwatch/zoomwatch/internal/alert"
	"github.com/zoomwatch/zoomwatch/internal/detect"
	"github.com/zoomwatch/zoomwatch/internal/event"
	"github.com/zoomwatch/zoomwatch/internal/rules"
	"github.com/zoomwatch/zoomwatch/internal/zoomsim"
)

// pantherIDs are the rule IDs of Panther's Zoom pack, kept so migrating users keep their tuning.
var pantherIDs = []string{
	"Zoom.PasscodeDisabled",
	"Zoom.UserGrantedAdmin",
	"Zoom.User.Promoted.to.Privileged.Role",
	"Zoom.All.Meetings.Secured.With.One.Option.Disabled",
	"Zoom.Automatic.Sign.Out.Disabled",
	"Zoom.Sign.In.Method.Modified",
	"Zoom.New.Meeting.Passcode.Required.Disabled",
	"Zoom.Two.Factor.Authentication.Disabled",
	"Zoom.Sign.In.Requirements.Changed",
}

// statefulRules cannot show a true positive in a single-event inline test: they depend on
// tuning (allowed domains) or on what earlier events taught the engine (who is an admin).
// TestSimulatedIncidentsFire covers their true positives.
var statefulRules = map[string]bool{
	"Zoom.Admin.Action.Outside.Allowed.Domains": true,
	"Zoom.SignIn.New.IP.For.Admin":              true,
}

func loadPack(t *testing.T) *detect.RuleSet {
	t.Helper()
	rs, err := detect.LoadFS(rules.FS(), ".")
	if err != nil {
		t.Fatalf("load shipped rules: %v", err)
	}
	return rs
}

func TestInlineTestsPass(t *testing.T) {
	t.Parallel()
	rs := loadPack(t)
	for _, res := range rs.Test() {
		if !res.Passed {
			t.Errorf("%s: %s: %s", res.RuleID, res.Name, res.Reason)
		}
	}
}

func TestPackShape(t *testing.T) {
	t.Parallel()
	rs := loadPack(t)
	if got := len(rs.Rules()); got < 25 {
		t.Errorf("pack has %d rules, want at least 25", got)
	}
	for _, id := range pantherIDs {
		r, ok := rs.Rule(id)
		if !ok {
			t.Errorf("rule %s missing", id)
			continue
		}
		if !r.Enabled {
			t.Errorf("rule %s is disabled", id)
		}
		panther := 0
		for _, tc := range r.Tests {
			if strings.HasPrefix(tc.Name, "panther: ") {
				panther++
			}
		}
		if panther < 2 {
			t.Errorf("rule %s has %d Panther test cases, want its published ones (at least 2)", id, panther)
		}
	}
	for _, r := range rs.Rules() {
		var pos, neg int
		for _, tc := range r.Tests {
			switch {
			case tc.Expect && tc.Title == "":
				t.Errorf("%s: positive test %q has no expected title", r.ID, tc.Name)
			case tc.Expect:
				pos++
			default:
				neg++
			}
		}
		if neg == 0 {
			t.Errorf("%s: no near-miss (expect: false) tests", r.ID)
		}
		if pos == 0 && !statefulRules[r.ID] {
			t.Errorf("%s: no true-positive tests", r.ID)
		}
		if r.Runbook == "" || !strings.HasPrefix(r.Reference, "https://") || len(r.MITRE) == 0 || r.Description == "" {
			t.Errorf("%s: runbook, https reference, MITRE tags and description are all required", r.ID)
		}
	}
}

// simEvent is one simulated record, normalized.
type simEvent struct {
	env event.Envelope
	seq int
}

// simulatedAccount returns the simulator's whole history (30 days back, one day ahead) as
// envelopes in time order, operation logs first within a second so admins are known before
// their sign-ins, and its planted incidents.
func simulatedAccount(t *testing.T) ([]event.Envelope, []zoomsim.Incident) {
	t.Helper()
	epoch := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	sim, err := zoomsim.New(zoomsim.Config{Now: func() time.Time { return epoch }, Epoch: epoch})
	if err != nil {
		t.Fatalf("simulator: %v", err)
	}
	end := epoch.Add(30 * 24 * time.Hour)
	var evs []simEvent
	for _, lt := range []event.LogType{event.Operation, event.Activity} {
		for _, raw := range sim.Records(string(lt), end) {
			env, err := event.Normalize("sim", lt, raw, epoch)
			if err != nil {
				t.Fatalf("normalize %s: %v", raw, err)
			}
			evs = append(evs, simEvent{env: env, seq: len(evs)})
		}
	}
	sort.SliceStable(evs, func(i, j int) bool {
		a, b := evs[i].env, evs[j].env
		if !a.Time.Equal(b.Time) {
			return a.Time.Before(b.Time)
		}
		if a.LogType != b.LogType {
			return a.LogType == event.Operation
		}
		return evs[i].seq > evs[j].seq // Records is newest first
	})
	out := make([]event.Envelope, len(evs))
	for i := range evs {
		out[i] = evs[i].env
	}
	return out, sim.Incidents()
}

// TestSimulatedIncidentsFire runs the pack over the simulated account and checks that every
// planted incident raises its rule's alert, and that ordinary history raises few others.
func TestSimulatedIncidentsFire(t *testing.T) {
	t.Parallel()
	rs := loadPack(t)
	tuned, errs := detect.Tune(rs, nil, detect.Tuning{Overrides: map[string]string{
		"Zoom.Admin.Action.Outside.Allowed.Domains": `{"params": {"allowed_domains": ["springfield.example"]}}`,
	}})
	if len(errs) > 0 {
		t.Fatalf("tune: %v", errs)
	}
	envs, incidents := simulatedAccount(t)
	eng := detect.NewEngine(tuned, detect.NewMemState(), detect.Options{})
	alerts, err := eng.Detect(context.Background(), envs)
	if err != nil {
		t.Fatalf("detect: %v", err)
	}
	if errs := eng.ConditionErrors(); len(errs) > 0 {
		t.Errorf("condition errors: %v", errs)
	}

	// Which rule each incident event belongs to.
	incidentOf := map[string]string{} // event ID -> rule ID
	for _, inc := range incidents {
		for _, raw := range inc.Records {
			env, err := event.Normalize("sim", event.LogType(inc.LogType), json.RawMessage(raw), time.Time{})
			if err != nil {
				t.Fatalf("normalize incident record: %v", err)
			}
			incidentOf[env.ID] = inc.RuleID
		}
	}
	fired := map[string]bool{}   // incident rule|first event ID
	falsePos := map[string]int{} // rule ID -> alerts not about a planted incident
	var fpSamples []string
	for _, a := range alerts {
		tp := false
		for _, id := range a.EventIDs {
			if incidentOf[id] == a.RuleID {
				tp = true
				fired[a.RuleID+"|"+id] = true
			}
		}
		if !tp {
			falsePos[a.RuleID]++
			if len(fpSamples) < 20 {
				fpSamples = append(fpSamples, describe(a))
			}
		}
	}
	for _, inc := range incidents {
		env, _ := event.Normalize("sim", event.LogType(inc.LogType), inc.Records[len(inc.Records)-1], time.Time{})
		first, _ := event.Normalize("sim", event.LogType(inc.LogType), inc.Records[0], time.Time{})
		if !fired[inc.RuleID+"|"+env.ID] && !fired[inc.RuleID+"|"+first.ID] {
			t.Errorf("planted incident %s at %s (%s) raised no alert", inc.RuleID, inc.Time.Format(time.RFC3339), inc.Description)
		}
	}
	for _, r := range rs.Rules() {
		t.Logf("%-52s false positives over the simulated month: %d", r.ID, falsePos[r.ID])
	}
	for _, s := range fpSamples {
		t.Logf("false positive: %s", s)
	}
	// Ordinary history raises nothing, the new-IP rule included: every user's sign-in
	// addresses are remembered, so an admin's usual ones are known before the admin is first
	// seen operating.
	for id, n := range falsePos {
		if n > 0 {
			t.Errorf("%s raised %d alerts on ordinary history, want none", id, n)
		}
	}
	t.Logf("%d events, %d alerts, %d planted incidents", len(envs), len(alerts), len(incidents))
}

func describe(a alert.Alert) string {
	return fmt.Sprintf("%s %s %q (%d events)", a.FirstSeen.Format(time.RFC3339), a.RuleID, a.Title, a.EventCount)
}
