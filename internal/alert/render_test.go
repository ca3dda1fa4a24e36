package alert

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func sampleAlert() Alert {
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	return Alert{
		ID:     "3f1c2a9e7b5d4c6a8e0f1a2b3c4d5e6f",
		RuleID: "Zoom.Two.Factor.Authentication.Disabled", Name: "Two-factor sign-in disabled",
		Severity: High, Title: "admin@x.io disabled two-factor sign-in", DedupKey: "admin@x.io",
		EventCount: 2, FirstSeen: t0, LastSeen: t0.Add(5 * time.Minute), Source: "acme",
		LogType: "Zoom.Operation", Runbook: "Re-enable two-factor sign-in.\nAsk the operator why.",
		Reference: "https://support.zoom.com/", MITRE: []string{"TA0005:T1556"},
		EventIDs: []string{"e1", "e2"},
		Samples:  []json.RawMessage{json.RawMessage(`{ "operator": "admin@x.io", "action": "Update" }`)},
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if os.Getenv("UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with UPDATE_GOLDEN=1)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden:\n got: %s\nwant: %s", name, got, want)
	}
}

func TestRenderingsGolden(t *testing.T) {
	a := sampleAlert()
	slack, err := a.Slack()
	if err != nil {
		t.Fatal(err)
	}
	js, err := a.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var indented bytes.Buffer
	if err := json.Indent(&indented, slack, "", "  "); err != nil {
		t.Fatal(err)
	}
	golden(t, "alert.txt", []byte(a.Text()))
	golden(t, "alert.slack.json", indented.Bytes())
	golden(t, "alert.json", js)
	golden(t, "alert.subject.txt", []byte(a.Subject()))
}

func TestSubject(t *testing.T) {
	tests := []struct {
		name, title string
		sev         Severity
		want        string
	}{
		{"plain", "admin@x.io disabled two-factor sign-in", High, "[HIGH] admin@x.io disabled two-factor sign-in"},
		{"newlines and tabs fold", "a\n\tb  c", Low, "[LOW] a b c"},
		{"non-ascii replaced", "José changed a setting", Info, "[INFO] Jos? changed a setting"},
		{"control chars dropped", "a\x00b\x7f", Medium, "[MEDIUM] ab"},
		{"long cut", strings.Repeat("x", 200), Critical, "[CRITICAL] " + strings.Repeat("x", MaxSubject-len("[CRITICAL] ")-3) + "..."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Alert{Severity: tt.sev, Title: tt.title}.Subject()
			if got != tt.want {
				t.Errorf("Subject() = %q, want %q", got, tt.want)
			}
			if len(got) > MaxSubject {
				t.Errorf("subject is %d bytes, more than %d", len(got), MaxSubject)
			}
		})
	}
}

func TestJSONRoundTrip(t *testing.T) {
	a := sampleAlert()
	b, err := a.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var back Alert
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.RuleID != a.RuleID || back.EventCount != 2 || !back.LastSeen.Equal(a.LastSeen) || len(back.Samples) != 1 {
		t.Errorf("round trip lost data: %+v", back)
	}
	empty, _ := Alert{}.JSON()
	if !bytes.Contains(empty, []byte(`"event_ids":[]`)) {
		t.Errorf("event_ids must be an array even when empty: %s", empty)
	}
}
