package zoom

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestDecodePage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		body      string
		field     string
		records   []string
		next      string
		wantErr   string
		wantShape bool // the error is about the page's shape, not damage
	}{
		{name: "records and token", body: `{"next_page_token":"abc","page_size":300,"operation_logs":[` + opRecord1 + `,` + opRecord2 + `]}`,
			field: "operation_logs", records: []string{opRecord1, opRecord2}, next: "abc"},
		{name: "last page", body: `{"next_page_token":"","activity_logs":[` + actRecord + `]}`, field: "activity_logs", records: []string{actRecord}},
		{name: "no token field", body: `{"activity_logs":[]}`, field: "activity_logs", records: []string{}},
		{name: "null token", body: `{"next_page_token":null,"activity_logs":[]}`, field: "activity_logs", records: []string{}},
		{name: "whitespace around", body: "\n\t {\"operation_logs\" : [ {\"a\" : 1} ] } \n", field: "operation_logs", records: []string{`{"a" : 1}`}},
		{name: "empty", body: "", field: "operation_logs", wantErr: "empty body"},
		{name: "blank", body: " \n", field: "operation_logs", wantErr: "empty body"},
		{name: "html", body: "<html><body>502 Bad Gateway</body></html>", field: "operation_logs", wantErr: "HTML"},
		{name: "truncated", body: `{"operation_logs":[{"time":"2026-01-15T10:00:00Z","oper`, field: "operation_logs", wantErr: "truncated"},
		{name: "garbage inside", body: `{"operation_logs":[{"a":1}},]}`, field: "operation_logs", wantErr: "not valid JSON"},
		{name: "plain text", body: `Service Unavailable`, field: "operation_logs", wantErr: "not JSON"},
		{name: "array at top", body: `[{"a":1}]`, field: "operation_logs", wantErr: "not an object", wantShape: true},
		{name: "missing array", body: `{"next_page_token":"","page_size":300}`, field: "operation_logs", wantErr: "missing operation_logs", wantShape: true},
		{name: "null array", body: `{"operation_logs":null}`, field: "operation_logs", wantErr: "missing operation_logs", wantShape: true},
		{name: "object not array", body: `{"operation_logs":{"a":1}}`, field: "operation_logs", wantErr: "not an array", wantShape: true},
		{name: "record a string", body: `{"operation_logs":["x"]}`, field: "operation_logs", wantErr: "[0] is not an object", wantShape: true},
		{name: "record null", body: `{"operation_logs":[{"a":1},null]}`, field: "operation_logs", wantErr: "[1] is not an object", wantShape: true},
		{name: "token not a string", body: `{"next_page_token":5,"operation_logs":[]}`, field: "operation_logs", wantErr: "next_page_token", wantShape: true},
		{name: "other report's page", body: `{"activity_logs":[` + actRecord + `]}`, field: "operation_logs", wantErr: "missing operation_logs", wantShape: true},
	}
	for _, tc := range tests {
		p, err := decodePage([]byte(tc.body), tc.field)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || errors.Is(err, errPageShape) != tc.wantShape {
				t.Errorf("%s: err = %v, want %q (shape error: %v)", tc.name, err, tc.wantErr, tc.wantShape)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if p.next != tc.next || len(p.records) != len(tc.records) {
			t.Errorf("%s: got %d records, next %q", tc.name, len(p.records), p.next)
			continue
		}
		for i := range p.records {
			if string(p.records[i]) != tc.records[i] {
				t.Errorf("%s: record %d = %s, want the bytes as sent %s", tc.name, i, p.records[i], tc.records[i])
			}
		}
	}
}

// FuzzDecodePage checks that no body makes the decoder panic, and that whatever it accepts
// really is a page: records that are JSON objects copied byte for byte from the body.
func FuzzDecodePage(f *testing.F) {
	f.Add([]byte(`{"next_page_token":"abc","operation_logs":[` + opRecord1 + `]}`))
	f.Add([]byte(`{"activity_logs":[` + actRecord + `],"from":"2026-01-14T00:00:00Z"}`))
	f.Add([]byte(`<html></html>`))
	f.Add([]byte(`{"operation_logs":[{"a":`))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, field := range []string{"operation_logs", "activity_logs"} {
			p, err := decodePage(body, field)
			if err != nil {
				if len(p.records) != 0 || p.next != "" {
					t.Fatalf("error %v with a partial page", err)
				}
				continue
			}
			var top map[string]json.RawMessage
			if json.Unmarshal(body, &top) != nil {
				t.Fatalf("accepted a body that is not a JSON object: %q", body)
			}
			if _, ok := top[field]; !ok {
				t.Fatalf("accepted a page without %s: %q", field, body)
			}
			for _, r := range p.records {
				var obj map[string]any
				if err := json.Unmarshal(r, &obj); err != nil || obj == nil {
					t.Fatalf("record %q is not an object", r)
				}
				if !bytes.Contains(body, r) {
					t.Fatalf("record %q is not the bytes of the body", r)
				}
			}
		}
	})
}

// BenchmarkDecodePage measures decoding a full 300-record operation log page.
func BenchmarkDecodePage(b *testing.B) {
	recs := make([]string, 300)
	for i := range recs {
		recs[i] = opRecord1
	}
	body := []byte(opPage("next", recs...))
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := decodePage(body, "operation_logs"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(recs))/b.Elapsed().Seconds(), "records/s")
}
