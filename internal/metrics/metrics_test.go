package metrics

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zoomwatch/zoomwatch/internal/event"
	"github.com/zoomwatch/zoomwatch/internal/zoom"
)

var fixed = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func newRecorder(t *testing.T, buf *bytes.Buffer, ns string) *Recorder {
	t.Helper()
	r, err := New(buf, Config{Namespace: ns, Stage: "prod", Now: func() time.Time { return fixed }})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestGolden pins the exact EMF lines of every measurement.
func TestGolden(t *testing.T) {
	var buf bytes.Buffer
	r := newRecorder(t, &buf, "")
	r.Polled("acme", event.Operation, 42, 330*time.Second)
	r.Polled("acme", event.Activity, 0, 0)
	r.PollFailed("acme", zoom.KindAuth)
	r.PollFailed("acme", zoom.KindTokenSave)
	r.PollFailed("acme", zoom.KindRateLimit)
	r.PollFailed("acme", zoom.KindNetwork) // no metric of its own
	r.RateLimited("beta", 3)
	r.Evaluated("acme", event.Operation, 40)
	r.Alerted("Zoom.PasscodeDisabled", "MEDIUM")
	r.RuleFailed("Zoom.UserGrantedAdmin", 1)
	r.Learned("Zoom.SignIn.New.IP.For.Admin", 12)
	r.Poison(2)
	r.Truncated("", event.Operation) // empty dimension value becomes "unknown"

	golden := filepath.Join("testdata", "emf.golden.jsonl")
	if os.Getenv("UPDATE_GOLDEN") == "1" {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with UPDATE_GOLDEN=1 to create)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("EMF output differs from %s:\ngot:\n%s\nwant:\n%s", golden, buf.Bytes(), want)
	}
	if n := strings.Count(buf.String(), "\n"); n != 12 {
		t.Errorf("got %d lines, want 12 (PollFailed with a network error emits nothing)", n)
	}
	validateEMF(t, buf.Bytes())
}

// validateEMF checks every line against the EMF specification: a _aws object with an integer
// millisecond Timestamp and CloudWatchMetrics directives whose dimension keys are top-level
// strings and whose metric names are top-level numbers.
func validateEMF(t *testing.T, out []byte) {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(out))
	for n := 1; sc.Scan(); n++ {
		var line map[string]any
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.UseNumber()
		if err := dec.Decode(&line); err != nil {
			t.Fatalf("line %d: not JSON: %v", n, err)
		}
		aws, ok := line["_aws"].(map[string]any)
		if !ok {
			t.Fatalf("line %d: no _aws object", n)
		}
		ts, ok := aws["Timestamp"].(json.Number)
		if !ok {
			t.Fatalf("line %d: _aws.Timestamp missing", n)
		}
		if ms, err := ts.Int64(); err != nil || ms != fixed.UnixMilli() {
			t.Errorf("line %d: Timestamp %v, want %d (integer ms)", n, ts, fixed.UnixMilli())
		}
		ds, ok := aws["CloudWatchMetrics"].([]any)
		if !ok || len(ds) == 0 {
			t.Fatalf("line %d: CloudWatchMetrics missing or empty", n)
		}
		for _, d := range ds {
			dir := d.(map[string]any)
			if ns, _ := dir["Namespace"].(string); ns == "" || len(ns) > 255 {
				t.Errorf("line %d: bad Namespace %q", n, ns)
			}
			sets, _ := dir["Dimensions"].([]any)
			if len(sets) == 0 {
				t.Errorf("line %d: no dimension sets", n)
			}
			for _, s := range sets {
				keys := s.([]any)
				if len(keys) == 0 || len(keys) > 30 {
					t.Errorf("line %d: dimension set %v has %d keys (1..30)", n, keys, len(keys))
				}
				if keys[0] != DimStage {
					t.Errorf("line %d: dimension set %v does not start with Stage", n, keys)
				}
				for _, k := range keys {
					v, ok := line[k.(string)].(string)
					if !ok || v == "" {
						t.Errorf("line %d: dimension %v has no top-level string value", n, k)
					}
				}
			}
			ms, _ := dir["Metrics"].([]any)
			if len(ms) == 0 || len(ms) > 100 {
				t.Errorf("line %d: %d metrics (1..100)", n, len(ms))
			}
			for _, m := range ms {
				def := m.(map[string]any)
				name, _ := def["Name"].(string)
				if _, ok := line[name].(json.Number); !ok {
					t.Errorf("line %d: metric %q has no top-level number", n, name)
				}
				if u, _ := def["Unit"].(string); u != "Count" && u != "Seconds" {
					t.Errorf("line %d: metric %q unit %q", n, name, u)
				}
			}
		}
	}
}

func TestNamespaceAndDimensions(t *testing.T) {
	tests := []struct {
		name     string
		ns       string
		record   func(*Recorder)
		wantNS   string
		wantSets [][]string
		wantVals map[string]any
	}{
		{
			name: "default namespace, poll dimensions", record: func(r *Recorder) { r.Polled("s1", event.Activity, 7, 90*time.Second) },
			wantNS:   "zoomwatch",
			wantSets: [][]string{{"Stage"}, {"Stage", "Source", "LogType"}},
			wantVals: map[string]any{"EventsPolled": 7.0, "PollLagSeconds": 90.0, "Source": "s1", "LogType": "Zoom.Activity", "Stage": "prod"},
		},
		{
			name: "configured namespace, alert dimensions", ns: "acme/zoomwatch", record: func(r *Recorder) { r.Alerted("Zoom.UserGrantedAdmin", "HIGH") },
			wantNS:   "acme/zoomwatch",
			wantSets: [][]string{{"Stage"}, {"Stage", "RuleID", "Severity"}},
			wantVals: map[string]any{"Alerts": 1.0, "RuleID": "Zoom.UserGrantedAdmin", "Severity": "HIGH"},
		},
		{
			name: "grant rejected counts as auth failure", record: func(r *Recorder) { r.PollFailed("s2", zoom.KindGrantRejected) },
			wantNS:   "zoomwatch",
			wantSets: [][]string{{"Stage"}, {"Stage", "Source"}},
			wantVals: map[string]any{"AuthFailures": 1.0, "Source": "s2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			tt.record(newRecorder(t, &buf, tt.ns))
			var line struct {
				AWS struct {
					CloudWatchMetrics []struct {
						Namespace  string
						Dimensions [][]string
					}
				} `json:"_aws"`
			}
			if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
				t.Fatal(err)
			}
			d := line.AWS.CloudWatchMetrics[0]
			if d.Namespace != tt.wantNS {
				t.Errorf("namespace %q, want %q", d.Namespace, tt.wantNS)
			}
			if got, want := jsonOf(d.Dimensions), jsonOf(tt.wantSets); got != want {
				t.Errorf("dimensions %s, want %s", got, want)
			}
			var flat map[string]any
			_ = json.Unmarshal(buf.Bytes(), &flat)
			for k, v := range tt.wantVals {
				if flat[k] != v {
					t.Errorf("%s = %v, want %v", k, flat[k], v)
				}
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	if _, err := New(&bytes.Buffer{}, Config{}); err == nil {
		t.Error("empty stage accepted")
	}
	if _, err := New(&bytes.Buffer{}, Config{Stage: "x", Namespace: strings.Repeat("n", 256)}); err == nil {
		t.Error("256-character namespace accepted")
	}
	if _, err := New(nil, Config{Stage: "x"}); err == nil {
		t.Error("nil writer accepted")
	}
}

// TestConcurrentLinesStayWhole checks that concurrent measurements never interleave bytes.
func TestConcurrentLinesStayWhole(t *testing.T) {
	var buf bytes.Buffer
	r := newRecorder(t, &buf, "")
	done := make(chan struct{})
	for range 8 {
		go func() {
			for range 100 {
				r.Evaluated("acme", event.Operation, 1)
			}
			done <- struct{}{}
		}()
	}
	for range 8 {
		<-done
	}
	validateEMF(t, buf.Bytes())
	if n := strings.Count(buf.String(), "\n"); n != 800 {
		t.Errorf("%d lines, want 800", n)
	}
}

func jsonOf(v any) string { b, _ := json.Marshal(v); return string(b) }

func BenchmarkPolled(b *testing.B) {
	r, _ := New(&bytes.Buffer{}, Config{Stage: "prod"})
	b.ReportAllocs()
	for b.Loop() {
		r.Polled("acme", event.Operation, 10, time.Minute)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}
