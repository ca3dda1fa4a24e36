package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zoomwatch/zoomwatch/internal/alert"
)

const (
	tfaOff  = `{"time":"2026-11-20T10:00:00Z","operator":"admin@x.io","category_type":"Account","action":"Update","operation_detail":"Security  - Sign in with Two-Factor Authentication: from On to Off"}`
	tfaOn   = `{"time":"2026-11-20T10:05:00Z","operator":"admin@x.io","category_type":"Account","action":"Update","operation_detail":"Security  - Sign in with Two-Factor Authentication: from Off to On"}`
	tfaOff2 = `{"time":"2026-11-20T10:10:00Z","operator":"admin@x.io","category_type":"Account","action":"Update","operation_detail":"Security  - Sign in with Two-Factor Authentication: from On to Off"}`
)

// runCLI runs zoomwatch with args and stdin, returning exit code, stdout and stderr.
func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), streams{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut}, args)
	return code, out.String(), errOut.String()
}

// testAlerts returns the alerts of the test rules (Test.*) in output order.
func testAlerts(t *testing.T, stdout string) []alert.Alert {
	t.Helper()
	var out []alert.Alert
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		if line == "" {
			continue
		}
		var a alert.Alert
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatalf("output line is not an alert: %q: %v", line, err)
		}
		if strings.HasPrefix(a.RuleID, "Test.") {
			out = append(out, a)
		}
	}
	return out
}

func TestDetectInputShapes(t *testing.T) {
	t.Parallel()
	page := `{"from":"2026-11-01","to":"2026-11-30","page_size":300,"next_page_token":"","operation_logs":[` + tfaOff + `,` + tfaOn + `,` + tfaOff2 + `]}`
	env := `{"id":"abc","source":"acme","log_type":"Zoom.Operation","time":"2026-11-20T10:00:00Z","ingested_at":"2026-11-21T00:00:00Z","actor":"admin@x.io","emails":["admin@x.io"],"detail":{"category":"Account","action":"Update","object":"Security","setting":"Sign in with Two-Factor Authentication","from":"On","to":"Off","text":"Security  - Sign in with Two-Factor Authentication: from On to Off","parsed":true},"raw":` + tfaOff + `}`
	tests := []struct {
		name    string
		stdin   string
		args    []string
		want    int // alerts of Test.* rules
		wantErr string
		code    int
	}{
		{"json lines grouped", tfaOff + "\n" + tfaOn + "\n" + tfaOff2 + "\n", nil, 1, "", 0},
		{"no-dedup", tfaOff + "\n" + tfaOn + "\n" + tfaOff2 + "\n", []string{"--no-dedup"}, 2, "", 0},
		{"array", "[\n" + tfaOff + ",\n" + tfaOff2 + "\n]\n", []string{"--no-dedup"}, 2, "", 0},
		{"report page", page, []string{"--no-dedup"}, 2, "", 0},
		{"pretty page", strings.ReplaceAll(page, ",", ",\n  "), []string{"--no-dedup"}, 2, "", 0},
		{"envelope", env + "\n", nil, 1, "", 0},
		{"explicit log type", `{"log_type":"Zoom.Operation",` + tfaOff[1:] + "\n", nil, 1, "", 0},
		{"malformed lines skipped", tfaOff + "\n{oops\n\n" + `{"nothing":"known"}` + "\n" + tfaOff2 + "\n", []string{"--no-dedup"}, 2, "stdin:2: skipped", 1},
		{"empty input", "", nil, 0, "", 0},
		{"page with a bad record", `{"operation_logs":[` + tfaOff + `,7,` + tfaOff2 + `]}` + "\n", []string{"--no-dedup"}, 2, "stdin:1: skipped: page record 2", 1},
		{"bad flag", "", []string{"--workers", "0"}, 0, "--workers must be at least 1", 2},
		{"unknown flag", "", []string{"--nope"}, 0, "flag provided but not defined", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"detect", "--rules", "testdata/detect", "--source", "acme"}, tt.args...)
			code, stdout, stderr := runCLI(t, tt.stdin, args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tt.code, stderr)
			}
			if got := testAlerts(t, stdout); len(got) != tt.want {
				t.Errorf("got %d alerts, want %d:\n%s", len(got), tt.want, stdout)
			}
			if tt.wantErr != "" && !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("stderr %q lacks %q", stderr, tt.wantErr)
			}
		})
	}
}

func TestDetectFilesInOrderAcrossWorkers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var sb strings.Builder
	const n = 5000
	for i := 0; i < n; i++ {
		// Every tenth line is a sign-in from a new IP for a new user: alerts are numbered.
		if i%10 == 0 {
			for k := 0; k < 3; k++ {
				sb.WriteString(`{"email":"u` + itoa(i) + `@x.io","time":"2026-11-20T10:00:0` + itoa(k) + `Z","type":"Sign in","ip_address":"10.0.0.` + itoa(k) + `","client_type":"Mac","version":"6.0"}` + "\n")
			}
			continue
		}
		sb.WriteString(tfaOn + "\n")
	}
	file := filepath.Join(dir, "in.jsonl")
	if err := os.WriteFile(file, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "", "detect", "--rules", "testdata/detect", "--workers", "4", file)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	alerts := testAlerts(t, stdout)
	if len(alerts) != n/10 {
		t.Fatalf("%d alerts, want %d", len(alerts), n/10)
	}
	for i, a := range alerts {
		if want := "u" + itoa(i*10) + "@x.io"; a.DedupKey != want || a.EventCount != 3 {
			t.Fatalf("alert %d = %s (count %d), want %s: output out of input order", i, a.DedupKey, a.EventCount, want)
		}
	}
	if code, _, stderr := runCLI(t, "", "detect", filepath.Join(dir, "missing.jsonl")); code != 1 || !strings.Contains(stderr, "missing.jsonl") {
		t.Errorf("missing file: exit %d, stderr %q", code, stderr)
	}
}

func itoa(i int) string { return strconvItoa(i) }

// TestDetectRepeatedRecordAlertsOnce: the same record twice (an overlapping export, a replay)
// is one event, so one alert — also when the repeat lands in a later batch.
func TestDetectRepeatedRecordAlertsOnce(t *testing.T) {
	t.Parallel()
	rec := `{"time":"2026-11-20T10:00:00Z","operator":"marge@x.io","category_type":"User","action":"Update","operation_detail":"Update User bart@x.io  - User Role: from Member to Admin"}` + "\n"
	filler := strings.Repeat(`{"time":"2026-11-20T09:00:00Z","email":"lisa@x.io","type":"Sign out","ip_address":"192.0.2.1","client_type":"Mac","version":"6.2.5"}`+"\n", 5000)
	for _, workers := range []string{"1", "2"} {
		code, stdout, stderr := runCLI(t, rec+filler+rec, "detect", "--workers", workers)
		if code != 0 {
			t.Fatalf("workers %s: exit %d: %s", workers, code, stderr)
		}
		if got := strings.Count(stdout, `"rule_id":"Zoom.UserGrantedAdmin"`); got != 1 {
			t.Errorf("workers %s: %d alerts for one event seen twice, want 1:\n%s", workers, got, stdout)
		}
	}
}

// TestDetectTuning: --tuning applies the same overrides as SSM, and a bad one fails the run
// with the rule and the reason.
func TestDetectTuning(t *testing.T) {
	t.Parallel()
	const (
		op     = `{"time":"2026-11-20T08:00:00Z","operator":"admin@x.io","category_type":"User","action":"Add","operation_detail":"Add User  - m@x.io"}`
		signIn = `{"time":"2026-11-20T09:00:00Z","email":"admin@x.io","type":"Sign in","ip_address":"192.0.2.7","client_type":"Mac","version":"6.2.5.1"}`
		newIP  = "Zoom.SignIn.New.IP.For.Admin"
	)
	input := op + "\n" + signIn + "\n"
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantNew  int    // alerts of the new-IP rule
		wantErr  string // in stderr
	}{
		{"shipped: the first sign-in is learned", nil, 0, 0,
			"zoomwatch detect: " + newIP + " learned 1 first sighting(s) silently during the first 7 days of events it saw"},
		{"learning off", []string{"--tuning", write("off.json", `{"rules/`+newIP+`":{"learn_days":0}}`)}, 0, 1, ""},
		{"bad override", []string{"--tuning", write("bad.json", `{"rules/`+newIP+`":{"learn_days":-3}}`)}, 2, 0,
			"tuning rejected: rules/" + newIP + ": learn_days must be between 0 and 180, got -3"},
		{"bad min_severity", []string{"--tuning", write("sev.json", `{"detect/min_severity":"loud"}`)}, 2, 0,
			"tuning rejected: detect/min_severity: severity \"loud\""},
		{"not a JSON object", []string{"--tuning", write("list.json", `[1]`)}, 2, 0, "not a JSON object"},
		{"missing file", []string{"--tuning", filepath.Join(dir, "none.json")}, 2, 0, "--tuning:"},
	}
	for _, tt := range tests {
		code, stdout, stderr := runCLI(t, input, append(append([]string{"detect"}, tt.args...), "-")...)
		if code != tt.wantCode {
			t.Errorf("%s: exit %d, want %d: %s", tt.name, code, tt.wantCode, stderr)
		}
		if got := strings.Count(stdout, `"rule_id":"`+newIP+`"`); got != tt.wantNew {
			t.Errorf("%s: %d %s alerts, want %d:\n%s", tt.name, got, newIP, tt.wantNew, stdout)
		}
		if !strings.Contains(stderr, tt.wantErr) || (tt.wantErr == "" && stderr != "") {
			t.Errorf("%s: stderr = %q, want it to contain %q", tt.name, stderr, tt.wantErr)
		}
	}
}

func TestDurationText(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{24 * time.Hour: "day", 7 * 24 * time.Hour: "7 days", 36 * time.Hour: "36h0m0s", 90 * time.Minute: "1h30m0s"} {
		if got := durationText(d); got != want {
			t.Errorf("durationText(%v) = %q, want %q", d, got, want)
		}
	}
}
