package detect

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/zoomwatch/zoomwatch/internal/event"
)

// FuzzParseRule: rule loading never panics, and a rule that loads can run its tests.
func FuzzParseRule(f *testing.F) {
	files, _ := filepath.Glob("testdata/rules/*.yaml")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(goodRule))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseRule("fuzz.yaml", data)
		if err != nil {
			if _, ok := err.(*LoadError); !ok {
				t.Fatalf("error %T is not a *LoadError: %v", err, err)
			}
			return
		}
		rs, err := NewRuleSet(r)
		if err != nil {
			t.Fatal(err)
		}
		_ = rs.Test()
	})
}

// FuzzEvalJSON: the decoder never panics, rejects what encoding/json rejects as an object
// record, and fills the environment exactly as event.Normalize would.
func FuzzEvalJSON(f *testing.F) {
	for _, r := range mixedCorpus(8, 9) {
		f.Add(r)
	}
	for _, r := range envelopeCorpus(mixedCorpus(2, 10)) {
		f.Add(r)
	}
	f.Add([]byte(`{"operation_logs":[{"operator":"a@x.io","operation_detail":"x"}]}`))
	f.Add([]byte(`{"operator":"a\u00e9\"@x.io","operation_detail":"Update User B@X.io  - User Role: from Member to Admin","n":[1,{"a":null}]}`))
	now := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	eng := NewEngine(everyEventRules(f), NewMemState(), Options{Source: "s", Now: func() time.Time { return now }})
	f.Fuzz(func(t *testing.T, data []byte) {
		w := eng.NewWorker()
		_, evalErr := w.EvalJSON(context.Background(), data, nil)
		var obj map[string]json.RawMessage
		if json.Unmarshal(data, &obj) != nil || obj == nil {
			// Not an object (JSON null unmarshals into a nil map): the scanner may be more
			// lenient (e.g. control bytes), never less.
			return
		}
		var d decoder
		if err := d.object(data); err != nil {
			t.Fatalf("scanner rejects a valid object: %v", err)
		}
		if d.f.isEnvelope(data) || d.f.isPage(data) {
			return
		}
		lt, ierr := event.InferLogType(data)
		if ierr != nil {
			// Fields of the wrong type make InferLogType fail; the scanner ignores them, as
			// Normalize does. Only a record of no known shape must be rejected by both.
			if errors.Is(ierr, event.ErrUnknownLogType) && evalErr == nil {
				t.Fatalf("EvalJSON accepted a record InferLogType rejects: %v", ierr)
			}
			return
		}
		if canon, err := event.Canonical(data); err == nil {
			if got, _, ok := canonicalFlat(data, nil, nil); ok && !bytes.Equal(got, canon) {
				t.Fatalf("canonicalFlat = %s, want %s", got, canon)
			}
		}
		want, err := event.Normalize("s", lt, data, now)
		if err != nil {
			return
		}
		if err := w.dec.object(data); err != nil {
			t.Fatal(err)
		}
		if _, err := w.evalRecord(context.Background(), data, lt, nil); err != nil {
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
		if lt == event.Activity {
			// Zoom's activity records have no detail text; Normalize leaves it empty.
			got.Text = ""
		}
		if !reflect.DeepEqual(got, wantEnv) {
			t.Fatalf("env differs from Normalize:\n got %+v\nwant %+v", got, wantEnv)
		}
	})
}
