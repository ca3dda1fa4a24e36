package detect

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/zoomwatch/zoomwatch/internal/alert"
	"github.com/zoomwatch/zoomwatch/internal/event"
)

func loadTestRules(t testing.TB) *RuleSet {
	t.Helper()
	rs, err := LoadDir("testdata/rules")
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// everyEventRules are the fixture rules and one for every event, so no event's evaluation ends
// before its environment is filled (an event no indexed rule applies to ends at once).
func everyEventRules(t testing.TB) *RuleSet {
	t.Helper()
	every, err := ParseRule("every.yaml", []byte("id: Every\nname: every\nlog_types: [Zoom.Operation, Zoom.Activity]\nseverity: LOW\ncondition: \"true\"\ntitle: x\n"))
	if err != nil {
		t.Fatal(err)
	}
	rs, err := loadTestRules(t).Merge(&RuleSet{rules: []*Rule{every}})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestFixtureRulesPassTheirTests(t *testing.T) {
	for _, r := range loadTestRules(t).Test() {
		if !r.Passed {
			t.Errorf("%s / %s: %s", r.RuleID, r.Name, r.Reason)
		}
	}
}

const goodRule = `id: X.Rule
name: x
log_types: [Zoom.Operation]
severity: LOW
condition: actor != ""
title: "{{.actor}}"
tests:
  - name: t
    expect: true
    log: {"operator":"a@x.io"}
`

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, file, want string
	}{
		{"yaml syntax", "id: [unclosed\n", "bad.yaml:1:"},
		{"unknown field", goodRule + "colour: red\n", "bad.yaml:11: unknown field \"colour\""},
		{"bad severity", strings.Replace(goodRule, "LOW", "URGENT", 1), "bad.yaml:4: severity \"URGENT\""},
		{"bad log type", strings.Replace(goodRule, "Zoom.Operation", "Zoom.Chat", 1), "bad.yaml:3: unknown log type \"Zoom.Chat\""},
		{"condition syntax", strings.Replace(goodRule, `actor != ""`, `actor !=`, 1), "bad.yaml:5: condition does not compile"},
		{"condition not bool", strings.Replace(goodRule, `actor != ""`, `actor`, 1), "bad.yaml:5: condition does not compile"},
		{"unknown name", strings.Replace(goodRule, `actor != ""`, `operator != ""`, 1), "unknown name operator"},
		{"missing id", strings.Replace(goodRule, "id: X.Rule", "id: ''", 1), "bad.yaml:1: id is required"},
		{"missing title", strings.Replace(goodRule, `title: "{{.actor}}"`, "", 1), "bad.yaml: title is required"},
		{"bad template", strings.Replace(goodRule, `{{.actor}}`, `{{.actor`, 1), "bad.yaml:6: title template"},
		{"threshold zero", goodRule + "threshold: 0\n", "bad.yaml:11: threshold must be at least 1"},
		{"bad period", goodRule + "dedup:\n  period: soon\n", "bad.yaml:12: dedup.period"},
		{"test without expect", strings.Replace(goodRule, "    expect: true\n", "", 1), "bad.yaml:8: test \"t\" has no expect"},
		{"bad mitre", goodRule + "mitre: [T1556]\n", "bad.yaml:11: MITRE tag \"T1556\""},
		{"bad reference", goodRule + "reference: support page\n", "bad.yaml:11: reference \"support page\""},
		{"learn without first_seen", goodRule + "first_seen_learn: 7d\n", "bad.yaml:11: first_seen_learn needs first_seen"},
		{"alert_if without first_seen", goodRule + "first_seen_alert_if: is_admin(actor)\n", "bad.yaml:11: first_seen_alert_if needs first_seen"},
		{"alert_if not bool", goodRule + "first_seen: \"{{.actor}}\"\nfirst_seen_alert_if: actor\n", "bad.yaml:12: first_seen_alert_if does not compile"},
		{"test param unknown", strings.Replace(goodRule, "    expect: true\n", "    expect: true\n    params: {admins: [a@x.io]}\n", 1),
			`bad.yaml:10: test "t": rule has no param "admins"`},
		{"test param of another kind", strings.Replace(goodRule, "    expect: true\n", "    expect: true\n    params: {admins: a@x.io}\n", 1) + "params:\n  admins: []\n",
			`bad.yaml:10: test "t": param "admins"`},
		{"bad learn", goodRule + "first_seen: \"{{.actor}}\"\nfirst_seen_learn: a week\n", "bad.yaml:12: first_seen_learn \"a week\""},
		{"test log not object", strings.Replace(goodRule, `{"operator":"a@x.io"}`, `[1]`, 1), "log must be a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{"ok.yaml": {Data: []byte(strings.Replace(goodRule, "X.Rule", "Y.Rule", 1))}, "bad.yaml": {Data: []byte(tt.file)}}
			_, err := LoadFS(fsys, ".")
			if err == nil {
				t.Fatalf("load succeeded, want error containing %q", tt.want)
			}
			var le *LoadError
			if !errors.As(err, &le) {
				t.Errorf("error %T is not a *LoadError: %v", err, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestLoadDuplicateIDs(t *testing.T) {
	fsys := fstest.MapFS{"a.yaml": {Data: []byte(goodRule)}, "b.yml": {Data: []byte(goodRule)}, "notes.txt": {Data: []byte("x")}}
	_, err := LoadFS(fsys, ".")
	if err == nil || !strings.Contains(err.Error(), `duplicate rule id "X.Rule"`) || !strings.Contains(err.Error(), "a.yaml") {
		t.Fatalf("err = %v, want a duplicate id error naming both files", err)
	}
}

// TestDecoderAgreesWithNormalize checks the zero-copy decoder fills the environment exactly as
// event.Normalize would for the same record, for raw records and for envelopes.
func TestDecoderAgreesWithNormalize(t *testing.T) {
	records := append(mixedCorpus(300, 1),
		[]byte(`{"time":"2026-11-20T10:00:00Z","operator":" Admin@X.io ","category_type":"User","action":"Update","operation_detail":"Update User Bart@X.io  - User Role: from Member to Admin (cc ops@x.io, x@y@z.com, a@b.c1de)"}`),
		[]byte(`{"time":"2026-11-20T10:00:00+02:00","operator":"a\u00e9@x.io","category_type":"Account","action":"Update","operation_detail":"Security - Sign in with Two-Factor Authentication:\tfrom On to Off"}`),
		[]byte(`{"email":"LISA@x.io","time":"bad","type":"Sign in","ip_address":" 10.0.0.1 ","client_type":"Mac","version":"6.0"}`),
		[]byte(`{"p_log_type":"Zoom.Activity","email":"a@x.io","time":"2026-11-20T10:00:00Z","type":"Sign out"}`),
		[]byte(`{"operator":"a@x.io","operation_detail":"Change Role  - m@x.io: from Member to Admin","extra":{"nested":[1,2,{"k":"v"}]},"n":-1.5e3}`),
	)
	now := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	eng := NewEngine(everyEventRules(t), NewMemState(), Options{Source: "acme", Now: func() time.Time { return now }})
	envelopes := envelopeCorpus(records)
	for i, rec := range records {
		lt, err := event.InferLogType(rec)
		if err != nil {
			t.Fatal(err)
		}
		want, err := event.Normalize("acme", lt, rec, now)
		if err != nil {
			t.Fatal(err)
		}
		for _, input := range [][]byte{rec, envelopes[i]} {
			w := eng.NewWorker()
			if err := w.dec.object(input); err != nil {
				t.Fatalf("record %d: %v", i, err)
			}
			if w.dec.f.isEnvelope(input) {
				if _, err := w.evalEnvelopeJSON(context.Background(), input, nil); err != nil {
					t.Fatal(err)
				}
			} else if _, err := w.evalRecord(context.Background(), input, lt, nil); err != nil {
				t.Fatal(err)
			}
			w.fill(needDetail | needEmails | needTime)
			got := eventView(w.env)
			var wantEnv Env
			wantEnv.LogType, wantEnv.Source, wantEnv.Actor, wantEnv.Time = string(want.LogType), want.Source, want.Actor, want.Time
			wantEnv.Emails, wantEnv.IPs = want.Emails, want.IPs
			if len(want.IPs) > 0 {
				wantEnv.IP = want.IPs[0]
			}
			wantEnv.setDetail(&want.Detail)
			if !reflect.DeepEqual(got, wantEnv) {
				t.Errorf("record %d (%.20s…):\n got %+v\nwant %+v", i, input, got, wantEnv)
			}
		}
	}
}

func TestDecodeRejectsMalformed(t *testing.T) {
	for _, in := range []string{``, `{`, `{"a":}`, `{"a":1,}`, `[1]`, `{"a":"x"} {}`, `{"a":"\q"}`, `{"a":tru}`, "{\"a\":\"\x01\"}", `{"operator":"a"`, `{"a":[1 2]}`} {
		var d decoder
		if err := d.object([]byte(in)); err == nil {
			t.Errorf("object(%q) = nil error, want a DecodeError", in)
		}
	}
	eng := NewEngine(loadTestRules(t), NewMemState(), Options{})
	if _, err := eng.NewWorker().EvalJSON(context.Background(), []byte(`{"foo":"bar"}`), nil); !errors.Is(err, event.ErrUnknownLogType) {
		t.Errorf("unknown shape: err = %v, want ErrUnknownLogType", err)
	}
}

func TestDecodeEscapes(t *testing.T) {
	var d decoder
	in := `{"operator":"a\"b\\c\/d\n\u00e9\ud83d\ude00\ud800x","action":"x"}`
	if err := d.object([]byte(in)); err != nil {
		t.Fatal(err)
	}
	var want struct{ Operator string }
	_ = json.Unmarshal([]byte(in), &want)
	if d.f.operator != want.Operator || d.f.action != "x" {
		t.Errorf("operator = %q, want %q", d.f.operator, want.Operator)
	}
}

func op(ts, operator, cat, detail string) []byte {
	b, _ := json.Marshal(map[string]string{"time": ts, "operator": operator, "category_type": cat, "action": "Update", "operation_detail": detail})
	return b
}

func signIn(ts, email, ip string) []byte {
	b, _ := json.Marshal(map[string]string{"time": ts, "email": email, "type": "Sign in", "ip_address": ip, "client_type": "Windows", "version": "6.2.5.12345"})
	return b
}

// runAll evaluates inputs in order and returns the alerts raised, acknowledging each as a
// delivering pipeline does.
func runAll(t *testing.T, eng *Engine, inputs ...[]byte) []*alert.Alert {
	t.Helper()
	w := eng.NewWorker()
	var out []*alert.Alert
	for _, in := range inputs {
		ms, err := w.EvalJSON(context.Background(), in, nil)
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		for _, m := range ms {
			for _, a := range decideAll(t, eng, []Match{m}) {
				out = append(out, a)
				if err := eng.Ack(context.Background(), *a); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	return out
}

func TestDedupThresholdAndRedelivery(t *testing.T) {
	off := "Security  - Sign in with Two-Factor Authentication: from On to Off"
	e1 := op("2026-11-20T10:00:00Z", "admin@x.io", "Account", off)
	e2 := op("2026-11-20T10:30:00Z", "admin@x.io", "Account", off)
	e3 := op("2026-11-20T11:30:00Z", "admin@x.io", "Account", off)
	other := op("2026-11-20T10:10:00Z", "root@x.io", "Account", off)
	tests := []struct {
		name    string
		noDedup bool
		inputs  [][]byte
		want    []string // rule|dedup key|count
	}{
		{"grouped per key and period", false, [][]byte{e1, e2, other, e3},
			[]string{"Zoom.Two.Factor.Authentication.Disabled|admin@x.io|1", "Zoom.Two.Factor.Authentication.Disabled|root@x.io|1", "Zoom.Two.Factor.Authentication.Disabled|admin@x.io|1"}},
		{"redelivery neither counts nor alerts", false, [][]byte{e1, e1, e1},
			[]string{"Zoom.Two.Factor.Authentication.Disabled|admin@x.io|1"}},
		{"no-dedup alerts per event", true, [][]byte{e1, e2},
			[]string{"Zoom.Two.Factor.Authentication.Disabled|admin@x.io|1", "Zoom.Two.Factor.Authentication.Disabled|admin@x.io|1"}},
		{"threshold counts distinct IPs in the window", false, [][]byte{
			signIn("2026-11-20T10:00:00Z", "lisa@x.io", "10.0.0.1"),
			signIn("2026-11-20T10:01:00Z", "lisa@x.io", "10.0.0.1"),
			signIn("2026-11-20T10:02:00Z", "lisa@x.io", "10.0.0.2"),
			signIn("2026-11-20T10:03:00Z", "lisa@x.io", "10.0.0.3"),
			signIn("2026-11-20T10:04:00Z", "lisa@x.io", "10.0.0.4"),
		}, []string{"Zoom.Sign.In.From.Many.IPs|lisa@x.io|3"}},
		{"threshold window expires by event time", false, [][]byte{
			signIn("2026-11-20T10:00:00Z", "lisa@x.io", "10.0.0.1"),
			signIn("2026-11-20T10:05:00Z", "lisa@x.io", "10.0.0.2"),
			signIn("2026-11-20T10:20:00Z", "lisa@x.io", "10.0.0.3"),
		}, nil},
		{"first seen per admin and IP", false, [][]byte{
			op("2026-11-20T09:00:00Z", "marge@x.io", "Meeting", "Meeting  - Join before host: from Off to On"),
			signIn("2026-11-20T10:00:00Z", "marge@x.io", "10.0.0.9"),
			signIn("2026-11-20T12:00:00Z", "marge@x.io", "10.0.0.9"),
			signIn("2026-11-20T12:00:00Z", "bart@x.io", "10.0.0.7"),
		}, []string{"Zoom.Admin.Sign.In.New.IP|marge@x.io|10.0.0.9|1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eng := NewEngine(loadTestRules(t), NewMemState(), Options{NoDedup: tt.noDedup})
			var got []string
			for _, a := range runAll(t, eng, tt.inputs...) {
				if a.RuleID == "Zoom.Admin.Action.Outside.Allowed.Domains" {
					continue
				}
				got = append(got, a.RuleID+"|"+a.DedupKey+"|"+itoa(a.EventCount))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("alerts:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestDecideRepeatsAnUnacknowledgedAlert(t *testing.T) {
	off := "Security  - Sign in with Two-Factor Authentication: from On to Off"
	in := op("2026-11-20T10:00:00Z", "admin@x.io", "Account", off)
	for _, noDedup := range []bool{false, true} {
		eng := NewEngine(loadTestRules(t), NewMemState(), Options{NoDedup: noDedup})
		ms, err := eng.NewWorker().EvalJSON(context.Background(), in, nil)
		if err != nil || len(ms) == 0 {
			t.Fatalf("EvalJSON = %d matches, %v", len(ms), err)
		}
		var ids []string
		for range 3 {
			a, err := eng.Decide(context.Background(), ms[0])
			if err != nil {
				t.Fatal(err)
			}
			if a == nil {
				ids = append(ids, "")
				continue
			}
			ids = append(ids, a.ID)
			if len(ids) == 2 {
				if err := eng.Ack(context.Background(), *a); err != nil {
					t.Fatal(err)
				}
			}
		}
		switch {
		case ids[0] == "" || ids[1] != ids[0]:
			t.Errorf("no-dedup %v: alert IDs %q, want the first alert repeated with its ID until acknowledged", noDedup, ids)
		case !noDedup && ids[2] != "":
			t.Errorf("alert IDs %q, want nothing after Ack", ids)
		case noDedup && ids[2] != ids[0]:
			t.Errorf("no-dedup alert IDs %q, want one stable ID per event", ids)
		}
	}
}

func TestAlertFields(t *testing.T) {
	eng := NewEngine(loadTestRules(t), NewMemState(), Options{Source: "acme"})
	in := op("2026-11-20T10:00:00Z", "admin@x.io", "User", "Update User bart@x.io  - User Role: from Member to Admin")
	alerts := runAll(t, eng, in)
	if len(alerts) != 1 {
		t.Fatalf("got %d alerts, want 1", len(alerts))
	}
	a := alerts[0]
	canon, _ := event.Canonical(in)
	wantID := event.Identity("acme", event.Operation, canon)
	if a.Title != "admin@x.io made bart@x.io an admin" || a.Severity != alert.Medium || a.Source != "acme" ||
		a.LogType != "Zoom.Operation" || len(a.EventIDs) != 1 || a.EventIDs[0] != wantID ||
		!bytes.Equal(a.Samples[0], in) || a.DedupKey != "bart@x.io" {
		t.Errorf("alert = %+v", a)
	}
}

func TestEnvelopesAndPages(t *testing.T) {
	in := op("2026-11-20T10:00:00Z", "admin@x.io", "User", "Update User bart@x.io  - User Role: from Member to Admin")
	env := envelopeCorpus([][]byte{in})[0]
	page := []byte(`{"from":"2026-11-01","operation_logs":[` + string(in) + `,` + string(op("2026-11-20T10:01:00Z", "admin@x.io", "User", "Update User lisa@x.io  - User Role: from Member to Admin")) + `]}`)
	var e event.Envelope
	_ = json.Unmarshal(env, &e)
	for name, input := range map[string][]byte{"envelope": env, "page": page} {
		eng := NewEngine(loadTestRules(t), NewMemState(), Options{NoDedup: true})
		ms, err := eng.NewWorker().EvalJSON(context.Background(), input, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if want := map[string]int{"envelope": 1, "page": 2}[name]; len(ms) != want {
			t.Errorf("%s: %d matches, want %d", name, len(ms), want)
		}
		if name == "envelope" && (ms[0].EventID != e.ID || ms[0].Source != "acme") {
			t.Errorf("envelope match = %+v, want id %s", ms[0], e.ID)
		}
	}
	eng := NewEngine(loadTestRules(t), NewMemState(), Options{})
	alerts, err := eng.Detect(context.Background(), []event.Envelope{e, e})
	if err != nil || len(alerts) != 1 || alerts[0].EventIDs[0] != e.ID {
		t.Errorf("Detect = %+v, %v; want one alert for %s", alerts, err, e.ID)
	}
}

func TestConditionRuntimeErrorIsCountedAndIsolated(t *testing.T) {
	bad := strings.NewReplacer("X.Rule", "Bad.Rule", `actor != ""`, `params.n / 1 > 0`).Replace(goodRule) + "params:\n  n: oops\n"
	fsys := fstest.MapFS{"bad.yaml": {Data: []byte(bad)}, "good.yaml": {Data: []byte(goodRule)}}
	rs, err := LoadFS(fsys, ".")
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	eng := NewEngine(rs, NewMemState(), Options{NoDedup: true, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	alerts := runAll(t, eng, op("2026-11-20T10:00:00Z", "a@x.io", "User", "x"), op("2026-11-20T10:00:01Z", "b@x.io", "User", "y"))
	if len(alerts) != 2 || alerts[0].RuleID != "X.Rule" {
		t.Errorf("good rule alerts = %d, want 2", len(alerts))
	}
	if got := eng.ConditionErrors()["Bad.Rule"]; got != 2 {
		t.Errorf("condition errors = %d, want 2", got)
	}
	if !strings.Contains(logs.String(), `"rule_id":"Bad.Rule"`) || !strings.Contains(logs.String(), `"event_id":"`) {
		t.Errorf("log lacks rule_id/event_id: %s", logs.String())
	}
}

func TestTune(t *testing.T) {
	base := loadTestRules(t)
	const tfa, dom = "Zoom.Two.Factor.Authentication.Disabled", "Zoom.Admin.Action.Outside.Allowed.Domains"
	tuned, errs := Tune(base, nil, Tuning{Overrides: map[string]string{
		tfa: `{"severity":"critical","threshold":2,"dedup_minutes":30,"suppress":{"actors":["Break.Glass@x.io"]}}`,
		dom: `{"params":{"allowed_domains":["x.io"]},"suppress":{"allowed_domains":["y.io"]}}`,
	}})
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	r, _ := tuned.Rule(tfa)
	if r.Severity != alert.Critical || r.Threshold != 2 || r.DedupPeriod != 30*time.Minute {
		t.Errorf("tuned rule = %+v", r)
	}
	if b, _ := base.Rule(tfa); b.Severity != alert.High {
		t.Error("tuning changed the base rule")
	}
	d, _ := tuned.Rule(dom)
	if !reflect.DeepEqual(d.Params["allowed_domains"], []any{"x.io", "y.io"}) {
		t.Errorf("allowed_domains = %#v", d.Params["allowed_domains"])
	}
	eng := NewEngine(tuned, NewMemState(), Options{NoDedup: true})
	off := "Security  - Sign in with Two-Factor Authentication: from On to Off"
	if a := runAll(t, eng, op("2026-11-20T10:00:00Z", "break.glass@x.io", "Account", off)); len(a) != 0 {
		t.Errorf("suppressed actor alerted: %+v", a[0])
	}
	if a := runAll(t, eng, op("2026-11-20T10:00:00Z", "eve@y.io", "Account", "x")); len(a) != 0 {
		t.Errorf("suppressed domain alerted: %+v", a[0])
	}

	// Invalid overrides: the rule keeps its last good settings; errors name the rule.
	again, errs := Tune(base, tuned, Tuning{MinSeverity: "loud", Overrides: map[string]string{
		tfa:         `{"threshold":0}`,
		dom:         `{"params":{"allowed_domains":"x.io"}}`,
		"No.Such":   `{}`,
		"Also.None": `not json`,
	}})
	if len(errs) != 5 {
		t.Fatalf("errors = %v, want 5", errs)
	}
	for _, e := range errs {
		var oe *OverrideError
		if !errors.As(e, &oe) {
			t.Errorf("%v is not an *OverrideError", e)
		}
	}
	if r, _ := again.Rule(tfa); r.Threshold != 2 || r.Severity != alert.Critical {
		t.Errorf("rejected override did not keep last good settings: %+v", r)
	}
	for _, bad := range []string{`{"severity":"urgent"}`, `{"dedup_minutes":0}`, `{"enable":false}`, `{"params":{"nope":1}}`, `{"suppress":{"colours":["x"]}}`} {
		if _, errs := Tune(base, nil, Tuning{Overrides: map[string]string{tfa: bad}}); len(errs) != 1 {
			t.Errorf("override %s: errors = %v, want 1", bad, errs)
		}
	}

	// min_severity keeps lower rules from running; disabling removes a rule.
	hi, errs := Tune(base, nil, Tuning{MinSeverity: "high", Overrides: map[string]string{tfa: `{"enabled":false}`}})
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	eng = NewEngine(hi, NewMemState(), Options{NoDedup: true})
	if a := runAll(t, eng, op("2026-11-20T10:00:00Z", "admin@x.io", "Account", off), op("2026-11-20T10:00:00Z", "admin@x.io", "User", "Update User bart@x.io  - User Role: from Member to Admin")); len(a) != 0 {
		t.Errorf("alerts with everything filtered: %+v", a[0])
	}
}

func TestTuningFrom(t *testing.T) {
	got := TuningFrom(map[string]string{"rules/A": "{}", "detect/min_severity": "HIGH", "poll/overlap": "1h"})
	if got.MinSeverity != "HIGH" || len(got.Overrides) != 1 || got.Overrides["A"] != "{}" {
		t.Errorf("TuningFrom = %+v", got)
	}
}

// manyKeys is a flat record of n keys in reverse order.
func manyKeys(n int) []byte {
	b := []byte("{")
	for i := n; i > 0; i-- {
		b = fmt.Appendf(b, `"k%03d":%d,`, i, i)
	}
	return append(b[:len(b)-1], '}')
}

func TestCanonicalFlatAgreesWithEvent(t *testing.T) {
	inputs := append(mixedCorpus(200, 3),
		[]byte(`{"b":1,"a":-0.5e+3,"c":true,"d":null,"e":"x y"}`),
		[]byte(`{"a":"caf\u00e9"}`), []byte(`{"a":"café"}`), []byte(`{"a":{"b":1}}`), []byte(`{"a":1,"a":2}`),
		[]byte(`{"a":"<&>"}`), []byte(`{"a":01}`), []byte(` { "z" : "1" , "y" : [ ] } `),
		[]byte("{\"a\":\"\x7f~\",\"\x7f\":\"b\"}"), []byte("{\"a\":\"x\ty\"}"), []byte(`{"a":"x\"y"}`), manyKeys(10), manyKeys(40),
		[]byte(`{"time":"2026-11-20T10:00:00Z","operator":"a@x.io","category_type":"User","action":"Add","operation_detail":"Add User  - m@x.io"}`))
	flat := 0
	for _, in := range inputs {
		want, werr := event.Canonical(in)
		got, _, ok := canonicalFlat(in, nil, nil)
		if ok && (werr != nil || !bytes.Equal(got, want)) {
			t.Errorf("canonicalFlat(%s) = %s, event.Canonical = %s (%v)", in, got, want, werr)
		}
		if ok {
			flat++
		}
	}
	if flat < 203 {
		t.Errorf("only %d of the inputs took the flat path; the corpus records should all take it", flat)
	}
	w := NewEngine(loadTestRules(t), NewMemState(), Options{}).NewWorker()
	for _, in := range inputs {
		canon, err := event.Canonical(in)
		if err != nil {
			continue
		}
		if got, want := w.recordID("s", event.Operation, in), event.Identity("s", event.Operation, canon); got != want {
			t.Errorf("recordID(%s) = %s, want %s", in, got, want)
		}
	}
}

// eventView is the env without helpers and params, for comparing event fields.
func eventView(e Env) Env {
	v := reflect.ValueOf(&e).Elem()
	for i := 0; i < v.NumField(); i++ {
		if v.Field(i).Kind() == reflect.Func {
			v.Field(i).SetZero()
		}
	}
	e.Params = nil
	return e
}

func TestParseTime(t *testing.T) {
	for _, s := range []string{"2026-11-20T10:00:00Z", "2024-02-29T23:59:59Z", "2023-02-29T00:00:00Z", "2026-11-20T10:00:00+02:00", "2026-13-01T00:00:00Z", "x", "2026-11-20T10:00:00.5Z"} {
		want, werr := time.Parse(time.RFC3339, s)
		got, ok := parseTime(s)
		if ok != (werr == nil) || (ok && !got.Equal(want)) {
			t.Errorf("parseTime(%q) = %v, %v; time.Parse = %v, %v", s, got, ok, want, werr)
		}
	}
	// The fast path against time.Date, on every day of years around the era boundaries and
	// leap rules, and on random instants of years 0 to 9999. Compared with ==, so the
	// location must be the same too (Normalize's times are compared field by field).
	check := func(want time.Time) {
		s := want.Format("2006-01-02T15:04:05Z")
		if got, ok := parseTime(s); !ok || got != want {
			t.Fatalf("parseTime(%q) = %#v, %v; want %#v", s, got, ok, want)
		}
	}
	for _, y := range []int{0, 1, 99, 100, 399, 400, 1600, 1900, 1969, 1970, 2000, 2024, 2100, 9999} {
		for d := time.Date(y, 1, 1, 23, 59, 59, 0, time.UTC); d.Year() == y; d = d.AddDate(0, 0, 1) {
			check(d)
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 100000; i++ {
		check(time.Date(rng.IntN(10000), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), rng.IntN(24), rng.IntN(60), rng.IntN(60), 0, time.UTC))
	}
}

func TestIndexByLogTypeAndCategory(t *testing.T) {
	rule := func(id, logType, cats string) string {
		s := strings.NewReplacer("X.Rule", id, "Zoom.Operation", logType, `actor != ""`, "true").Replace(goodRule)
		if cats != "" {
			s += "categories: [" + cats + "]\n"
		}
		return s
	}
	fsys := fstest.MapFS{
		"a.yaml": {Data: []byte(rule("Any.Op", "Zoom.Operation", ""))},
		"b.yaml": {Data: []byte(rule("Account.Op", "Zoom.Operation", "account, Billing"))},
		"c.yaml": {Data: []byte(rule("Act", "Zoom.Activity", ""))},
	}
	rs, err := LoadFS(fsys, ".")
	if err != nil {
		t.Fatal(err)
	}
	eng := NewEngine(rs, NewMemState(), Options{NoDedup: true})
	tests := []struct {
		in   []byte
		want []string
	}{
		{op("2026-11-20T10:00:00Z", "a@x.io", " ACCOUNT ", "x"), []string{"Any.Op", "Account.Op"}},
		{op("2026-11-20T10:00:00Z", "a@x.io", "billing", "x"), []string{"Any.Op", "Account.Op"}},
		{op("2026-11-20T10:00:00Z", "a@x.io", "User", "x"), []string{"Any.Op"}},
		{op("2026-11-20T10:00:00Z", "a@x.io", "", "x"), []string{"Any.Op"}},
		{signIn("2026-11-20T10:00:00Z", "a@x.io", "10.0.0.1"), []string{"Act"}},
	}
	for _, tt := range tests {
		var got []string
		for _, a := range runAll(t, eng, tt.in) {
			got = append(got, a.RuleID)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: rules %v, want %v", tt.in, got, tt.want)
		}
	}
}

// TestIndexByActivityType: an activity rule whose condition requires some types of activity
// is evaluated only for those (actionsOf), whatever their case or spacing.
func TestIndexByActivityType(t *testing.T) {
	rule := func(id, cond string) string {
		return strings.NewReplacer("X.Rule", id, "Zoom.Operation", "Zoom.Activity", `actor != ""`, cond).Replace(goodRule)
	}
	fsys := fstest.MapFS{
		"a.yaml": {Data: []byte(rule("In", `iequals(action, " sign IN") && ip != ""`))},
		"b.yaml": {Data: []byte(rule("In.Or.Out", `action == "Sign out" || (ip != "" && iequals("Sign in", action))`))},
		"c.yaml": {Data: []byte(rule("Not.In", `not iequals(action, "Sign in")`))},
		"d.yaml": {Data: []byte(rule("Any", `ip != "" || iequals(action, "Sign in")`))},
	}
	rs, err := LoadFS(fsys, ".")
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string][]string{"In": {"sign in"}, "In.Or.Out": {"sign out", "sign in"}, "Not.In": nil, "Any": nil} {
		if r, _ := rs.Rule(id); !reflect.DeepEqual(r.actions, want) {
			t.Errorf("%s: indexed under %q, want %q", id, r.actions, want)
		}
	}
	eng := NewEngine(rs, NewMemState(), Options{NoDedup: true})
	activity := func(typ string) []byte {
		return []byte(`{"email":"a@x.io","time":"2026-11-20T10:00:00Z","type":"` + typ + `","ip_address":"10.0.0.1","client_type":"Mac","version":"6.0"}`)
	}
	tests := []struct {
		in   []byte
		want []string
	}{
		{activity("Sign in"), []string{"Any", "In", "In.Or.Out"}},
		{activity(" SIGN IN "), []string{"Any", "In", "In.Or.Out"}},
		{activity("Sign out"), []string{"Any", "In.Or.Out", "Not.In"}},
		{activity("Password reset"), []string{"Any", "Not.In"}},
	}
	for _, tt := range tests {
		for _, in := range append([][]byte{tt.in}, envelopeCorpus([][]byte{tt.in})...) {
			var got []string
			for _, a := range runAll(t, eng, in) {
				got = append(got, a.RuleID)
			}
			slices.Sort(got)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%s: rules %v, want %v", in, got, tt.want)
			}
		}
	}
}

// TestGuardsKeepVerdicts runs the fixture rules, and the shipped pack, over a corpus with and
// without guard pre-checks: the matches must be identical.
func TestGuardsKeepVerdicts(t *testing.T) {
	sets := []*RuleSet{loadTestRules(t)}
	if pack, err := LoadDir("../rules"); err == nil {
		sets = append(sets, pack)
	}
	records := mixedCorpus(3000, 5)
	for _, rs := range sets {
		guarded := 0
		for _, r := range rs.Rules() {
			guarded += len(r.guards)
		}
		if guarded == 0 {
			t.Fatal("no guards extracted")
		}
		run := func(noGuards bool) []string {
			eng := NewEngine(rs, NewMemState(), Options{NoDedup: true})
			eng.noGuards = noGuards
			w := eng.NewWorker()
			var out []string
			for _, in := range append(records, envelopeCorpus(records[:300])...) {
				ms, err := w.EvalJSON(context.Background(), in, nil)
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range ms {
					out = append(out, m.Rule.ID+"|"+m.EventID+"|"+m.Title)
				}
			}
			return out
		}
		with, without := run(false), run(true)
		if !reflect.DeepEqual(with, without) {
			t.Errorf("guards changed verdicts: %d matches with, %d without", len(with), len(without))
		}
	}
}

// TestDetectEnvelopeJSONAgreesWithDetect: the detector Lambda's path (envelope bytes through
// the scanner) raises the same alerts as Detect over decoded envelopes, and names the
// envelope it read.
func TestDetectEnvelopeJSONAgreesWithDetect(t *testing.T) {
	rs := shippedRules(t)
	ctx := context.Background()
	byJSON := NewEngine(rs, NewMemState(), Options{})
	byStruct := NewEngine(rs, NewMemState(), Options{})
	var got, want []string
	view := func(as []alert.Alert) (out []string) {
		for _, a := range as {
			b, _ := json.Marshal(a)
			out = append(out, string(b))
		}
		return out
	}
	for _, data := range envelopeCorpus(mixedCorpusUsers(3000, 11, 40)) {
		var e event.Envelope
		if err := json.Unmarshal(data, &e); err != nil {
			t.Fatal(err)
		}
		info, as, err := byJSON.DetectEnvelopeJSON(ctx, data)
		if err != nil {
			t.Fatal(err)
		}
		if info != (EnvelopeInfo{ID: e.ID, Source: e.Source, LogType: e.LogType}) {
			t.Fatalf("info %+v, want %s %s %s", info, e.ID, e.Source, e.LogType)
		}
		bs, err := byStruct.Detect(ctx, []event.Envelope{e})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range as {
			_ = byJSON.Ack(ctx, a)
		}
		for _, a := range bs {
			_ = byStruct.Ack(ctx, a)
		}
		got, want = append(got, view(as)...), append(want, view(bs)...)
	}
	if len(want) == 0 || !slices.Equal(got, want) {
		t.Fatalf("DetectEnvelopeJSON raised %d alerts, Detect %d; they differ or there are none", len(got), len(want))
	}
	for name, data := range map[string]string{
		"not json": `{"id":`, "no id": `{"log_type":"Zoom.Operation","raw":{}}`,
		"unknown type": `{"id":"x","log_type":"Zoom.Chat","raw":{}}`, "no raw": `{"id":"x","log_type":"Zoom.Activity"}`,
		"array": `[1,2]`, "raw record": `{"operator":"a@x.io","operation_detail":"x"}`,
		"bad time": `{"id":"x","log_type":"Zoom.Activity","time":"yesterday","raw":{}}`,
	} {
		var bad *InputError
		if _, _, err := byJSON.DetectEnvelopeJSON(ctx, []byte(data)); !errors.As(err, &bad) {
			t.Errorf("%s: error %v, want an InputError", name, err)
		}
	}
}
