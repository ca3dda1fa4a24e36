package kinesissink

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/zoomwatch/zoomwatch/internal/event"
)

func recs(sizes ...int) []record {
	out := make([]record, len(sizes))
	for i, n := range sizes {
		out[i] = record{idx: i, key: "k", data: make([]byte, n-1)} // size = data + 1-byte key
	}
	return out
}

func repeat(n, size int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = size
	}
	return out
}

func TestChunkLimits(t *testing.T) {
	tests := []struct {
		name  string
		sizes []int
		want  []int // records per call
	}{
		{"empty", nil, nil},
		{"one", []int{10}, []int{1}},
		{"exactly 500", repeat(500, 10), []int{500}},
		{"501 splits by count", repeat(501, 10), []int{500, 1}},
		{"1201 splits by count", repeat(1201, 10), []int{500, 500, 201}},
		{"five 1 MiB records fill a call", repeat(5, MaxRecordBytes), []int{5}},
		{"six 1 MiB records split by bytes", repeat(6, MaxRecordBytes), []int{5, 1}},
		{"bytes before count", repeat(20, 300<<10), []int{17, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := chunk(recs(tt.sizes...))
			var got []int
			next := 0
			for _, c := range calls {
				got = append(got, len(c))
				bytes := 0
				for _, r := range c {
					if r.idx != next {
						t.Fatalf("order broken: record %d where %d expected", r.idx, next)
					}
					next++
					bytes += r.size()
				}
				if len(c) > MaxRecordsPerCall || bytes > MaxBytesPerCall {
					t.Errorf("call of %d records, %d bytes exceeds the limits", len(c), bytes)
				}
			}
			if next != len(tt.sizes) {
				t.Errorf("%d records sent, want %d", next, len(tt.sizes))
			}
			if fmtInts(got) != fmtInts(tt.want) {
				t.Errorf("calls %v, want %v", got, tt.want)
			}
		})
	}
}

func fmtInts(v []int) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func envelope(id string, rawBytes int) event.Envelope {
	raw := `{"operation_detail":"` + strings.Repeat("x", rawBytes) + `"}`
	return event.Envelope{
		ID: id, Source: "acme", LogType: event.Operation,
		Time: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), IngestedAt: time.Date(2026, 11, 1, 0, 5, 0, 0, time.UTC),
		Actor: "admin@acme.test", Emails: []string{"admin@acme.test"},
		Detail: event.Detail{Category: "Account", Action: "Update", Setting: "Require a passcode", From: "On", To: "Off", Text: strings.Repeat("y", rawBytes/2)},
		Raw:    json.RawMessage(raw),
	}
}

type countObserver struct{ n int }

func (c *countObserver) Truncated(string, event.LogType) { c.n++ }

func TestEncodeShrinksOversizeEnvelopes(t *testing.T) {
	id := strings.Repeat("ab", 32)
	tests := []struct {
		name          string
		env           event.Envelope
		wantTruncated bool
		wantDetail    bool
	}{
		{"small goes as is", envelope(id, 100), false, true},
		{"just under the limit goes as is", envelope(id, 600<<10), false, true},
		{"raw over the limit is replaced, detail kept", envelope(id, 1200<<10), true, true},
		{"detail over the limit too is dropped", envelope(id, 3<<20), true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obs := &countObserver{}
			s, err := New(noAPI{}, Config{Stream: "s", Observer: obs})
			if err != nil {
				t.Fatal(err)
			}
			r, err := s.encode(t.Context(), 3, tt.env)
			if err != nil {
				t.Fatal(err)
			}
			if r.size() > MaxRecordBytes || r.key != PartitionKey(tt.env) || r.idx != 3 {
				t.Fatalf("record of %d bytes, key %q, idx %d", r.size(), r.key, r.idx)
			}
			var got event.Envelope
			if err := json.Unmarshal(r.data, &got); err != nil {
				t.Fatal(err)
			}
			if got.ID != id || got.Source != "acme" || got.LogType != event.Operation || !got.Time.Equal(tt.env.Time) {
				t.Errorf("identity lost: %+v", got)
			}
			var marker truncatedRaw
			_ = json.Unmarshal(got.Raw, &marker)
			if marker.Truncated != tt.wantTruncated || (obs.n == 1) != tt.wantTruncated {
				t.Errorf("truncated marker %v, observer %d, want %v", marker.Truncated, obs.n, tt.wantTruncated)
			}
			if tt.wantTruncated && marker.OriginalBytes <= MaxRecordBytes-len(id) {
				t.Errorf("original size %d not recorded", marker.OriginalBytes)
			}
			if (got.Detail.Setting != "") != tt.wantDetail || marker.DetailDropped == tt.wantDetail && tt.wantTruncated {
				t.Errorf("detail kept=%v (dropped marker %v), want kept=%v", got.Detail.Setting != "", marker.DetailDropped, tt.wantDetail)
			}
		})
	}
}

func TestPartitionKey(t *testing.T) {
	user := func(source, actor, id string) string {
		return PartitionKey(event.Envelope{Source: source, Actor: actor, ID: id})
	}
	if a, b := user("main", "Marge@x.io", "1"), user("main", "marge@x.io", "2"); a != b || len(a) != 64 {
		t.Errorf("one user's events keyed %q and %q; want one 64-char key", a, b)
	}
	if user("main", "marge@x.io", "1") == user("main", "homer@x.io", "1") || user("main", "marge@x.io", "1") == user("other", "marge@x.io", "1") {
		t.Error("two users, or one user of two sources, share a key")
	}
	id := strings.Repeat("0f", 32)
	if got := PartitionKey(event.Envelope{ID: id}); got != id {
		t.Errorf("key %q, want the envelope id", got)
	}
	a := PartitionKey(event.Envelope{Raw: json.RawMessage(`{"a":1}`)})
	b := PartitionKey(event.Envelope{Raw: json.RawMessage(`{"a":2}`)})
	if len(a) != 64 || a == b {
		t.Errorf("keys without id: %q %q; want distinct 64-char hashes", a, b)
	}
	if got := PartitionKey(event.Envelope{ID: strings.Repeat("x", 300), Raw: json.RawMessage(`{}`)}); len(got) > 256 {
		t.Errorf("key of %d chars exceeds Kinesis' 256", len(got))
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"name", Config{Stream: "zoomwatch-prod"}, true},
		{"arn", Config{Stream: "arn:aws:kinesis:us-east-1:000000000000:stream/x"}, true},
		{"empty", Config{}, false},
		{"negative attempts", Config{Stream: "s", MaxAttempts: -1}, false},
		{"base above max", Config{Stream: "s", BaseBackoff: time.Second, MaxBackoff: time.Millisecond}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.Validate(); (err == nil) != tt.ok {
				t.Errorf("Validate() = %v, want ok=%v", err, tt.ok)
			}
		})
	}
	if _, err := New(nil, Config{Stream: "s"}); err == nil {
		t.Error("nil client accepted")
	}
}

func TestBackoffBounded(t *testing.T) {
	s, _ := New(noAPI{}, Config{Stream: "s", BaseBackoff: 10 * time.Millisecond, MaxBackoff: 80 * time.Millisecond})
	for attempt := 1; attempt < 70; attempt++ {
		for range 20 {
			if d := s.backoff(attempt); d <= 0 || d > 80*time.Millisecond {
				t.Fatalf("attempt %d: backoff %s outside (0, 80ms]", attempt, d)
			}
		}
	}
}

func TestPartialFailureErrorMessage(t *testing.T) {
	err := error(&PartialFailureError{Stream: "s", Failed: 3, Attempts: 5, Codes: map[string]int{"InternalFailure": 1, "ProvisionedThroughputExceededException": 2}})
	want := "put records to s: 3 records failed after 5 attempts (InternalFailure×1, ProvisionedThroughputExceededException×2)"
	if err.Error() != want {
		t.Errorf("got %q\nwant %q", err, want)
	}
	var pf *PartialFailureError
	if !errors.As(err, &pf) {
		t.Error("errors.As failed")
	}
}
