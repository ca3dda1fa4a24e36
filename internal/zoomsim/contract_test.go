package zoomsim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// The contract test holds the simulator to Zoom's own OpenAPI description of the two report
// endpoints (testdata/report-endpoints.openapi.json, a copy of shared/zoom's): every request the
// test sends is checked against the description (so the test knows which requests Zoom
// documents as valid), and every response the simulator gives is validated against it.
//
// Zoom's description lists the fields of a page and of a record but marks none required and
// allows extra ones, so a page missing its records would pass it. The test therefore also
// validates against a strict reading (contract.strict): every documented record field present
// and nothing else, page_size and next_page_token always present, as API-FACTS.md describes the
// records. Error bodies, which the description leaves without a schema, are validated against
// Zoom's documented error shape {"code", "message", "errors"?}.

const (
	pathOperations = "/report/operationlogs"
	pathActivities = "/report/activities"
)

// contract is the loaded description plus the strict reading of it.
type contract struct {
	doc, strict *openapi3.T
}

func loadContract(t *testing.T) *contract {
	t.Helper()
	load := func() *openapi3.T {
		doc, err := openapi3.NewLoader().LoadFromFile("testdata/report-endpoints.openapi.json")
		if err != nil {
			t.Fatalf("load OpenAPI description: %v", err)
		}
		// The description names security schemes it does not define; the simulator's auth is
		// tested separately, so the contract covers parameters and bodies only.
		for _, p := range []string{pathOperations, pathActivities} {
			doc.Paths.Value(p).Get.Security = nil
		}
		doc.SetStringFormatValidator("email", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForEmail))
		if err := doc.Validate(context.Background()); err != nil {
			t.Fatalf("OpenAPI description is not valid: %v", err)
		}
		return doc
	}
	c := &contract{doc: load(), strict: load()}
	no := false
	closed := func(s *openapi3.Schema) {
		s.Required = nil
		for name := range s.Properties {
			s.Required = append(s.Required, name)
		}
		slices.Sort(s.Required)
		s.AdditionalProperties = openapi3.AdditionalProperties{Has: &no}
	}
	ops := c.strict.Paths.Value(pathOperations).Get.Responses.Status(200).Value.Content.Get("application/json").Schema.Value
	ops.AllOf[0].Value.Required = []string{"next_page_token", "page_size"}
	ops.AllOf[1].Value.Required = []string{"operation_logs"}
	closed(ops.AllOf[1].Value.Properties["operation_logs"].Value.Items.Value)
	acts := c.strict.Paths.Value(pathActivities).Get.Responses.Status(200).Value.Content.Get("application/json").Schema.Value
	acts.Required = []string{"activity_logs", "next_page_token", "page_size"}
	acts.AdditionalProperties = openapi3.AdditionalProperties{Has: &no}
	closed(acts.Properties["activity_logs"].Value.Items.Value)
	return c
}

// errorSchema is Zoom's API error body (API-FACTS.md, "Errors").
func errorSchema() *openapi3.Schema {
	no := false
	str := openapi3.NewStringSchema()
	field := openapi3.NewObjectSchema().
		WithProperty("field", str).WithProperty("message", str)
	field.Required = []string{"field", "message"}
	field.AdditionalProperties = openapi3.AdditionalProperties{Has: &no}
	s := openapi3.NewObjectSchema().
		WithProperty("code", openapi3.NewIntegerSchema()).
		WithProperty("message", openapi3.NewStringSchema().WithMinLength(1)).
		WithProperty("errors", openapi3.NewArraySchema().WithItems(field))
	s.Required = []string{"code", "message"}
	s.AdditionalProperties = openapi3.AdditionalProperties{Has: &no}
	return s
}

func route(doc *openapi3.T, path string) *routers.Route {
	item := doc.Paths.Value(path)
	return &routers.Route{Spec: doc, Server: doc.Servers[0], Path: path, PathItem: item, Method: http.MethodGet, Operation: item.Get}
}

// exchange sends a report request, checks it against the description (reporting whether Zoom
// documents it as valid) and validates the response against both readings.
func (c *contract) exchange(t *testing.T, s *sim, token, path string, q url.Values) (resp response, requestOK bool) {
	t.Helper()
	u := s.URL + "/v2" + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	ctx := context.Background()
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true,
		SchemaValidationOptions: c.doc.GetSchemaValidationOptions()}
	in := &openapi3filter.RequestValidationInput{Request: req, Route: route(c.doc, path), Options: opts}
	requestOK = openapi3filter.ValidateRequest(ctx, in) == nil
	resp = do(t, req)
	for _, doc := range []*openapi3.T{c.doc, c.strict} {
		rin := &openapi3filter.RequestValidationInput{Request: req, Route: route(doc, path), Options: opts}
		out := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: rin,
			Status:                 resp.status,
			Header:                 resp.header,
			Body:                   io.NopCloser(bytes.NewReader(resp.body)),
			Options: &openapi3filter.Options{IncludeResponseStatus: resp.status != http.StatusUnauthorized, MultiError: true,
				SchemaValidationOptions: doc.GetSchemaValidationOptions()},
		}
		if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
			t.Fatalf("GET %s?%s: response %d does not match the description: %v\nbody: %.500s", path, q.Encode(), resp.status, err, resp.body)
		}
	}
	if resp.status != http.StatusOK {
		var v any
		if err := json.Unmarshal(resp.body, &v); err != nil {
			t.Fatalf("GET %s: error %d body is not JSON: %q", path, resp.status, resp.body)
		}
		if err := errorSchema().VisitJSON(v); err != nil {
			t.Fatalf("GET %s: error %d body %s is not a Zoom error: %v", path, resp.status, resp.body, err)
		}
	} else if !strings.HasPrefix(resp.header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET %s: Content-Type %q", path, resp.header.Get("Content-Type"))
	}
	return resp, requestOK
}

// TestContractPaging pages through the whole history of both reports, in windows and page sizes
// that need many pages, validating every request and response.
func TestContractPaging(t *testing.T) {
	t.Parallel()
	c := loadContract(t)
	s := newSim(t, Config{HistoryDays: 30})
	token := s.s2sToken(t)
	now := s.clock.Now()
	today := now.Truncate(24 * time.Hour)
	type window struct{ from, to time.Time }
	var windows []window
	for from := today.AddDate(0, 0, -30); !from.After(today); from = from.AddDate(0, 0, 10) {
		to := from.AddDate(0, 0, 9)
		if to.After(today) {
			to = today
		}
		windows = append(windows, window{from, to})
	}
	for _, tc := range []struct {
		path, field string
		logType     string
		pageSize    string
		extra       []string
	}{
		{pathOperations, "operation_logs", LogTypeOperation, "300", nil},
		{pathOperations, "operation_logs", LogTypeOperation, "37", []string{"category_type", "all"}},
		{pathActivities, "activity_logs", LogTypeActivity, "300", nil},
		{pathActivities, "activity_logs", LogTypeActivity, "41", nil},
	} {
		t.Run(tc.logType+"/"+tc.pageSize, func(t *testing.T) {
			truth := s.Records(tc.logType, now)
			pages := 0
			var got []json.RawMessage
			// Newest window first: within a window Zoom serves newest first.
			for _, w := range slices.Backward(windows) {
				q := dateQuery(w.from, w.to, append([]string{"page_size", tc.pageSize}, tc.extra...)...)
				for {
					resp, reqOK := c.exchange(t, s, token, tc.path, q)
					if !reqOK {
						t.Fatalf("request %s?%s does not match the description", tc.path, q.Encode())
					}
					if resp.status != http.StatusOK {
						t.Fatalf("page %d: %d %s", pages+1, resp.status, resp.body)
					}
					pages++
					var p page
					resp.json(t, &p)
					recs := p.records()
					if size, _ := json.Marshal(p.PageSize); string(size) != tc.pageSize {
						t.Errorf("page_size %d, asked %s", p.PageSize, tc.pageSize)
					}
					if p.NextPageToken != "" && len(p.NextPageToken) != 35 {
						t.Errorf("next_page_token %q: Zoom's are 35 characters", p.NextPageToken)
					}
					got = append(got, recs...)
					if p.NextPageToken == "" {
						break
					}
					q.Set("next_page_token", p.NextPageToken)
				}
			}
			if pages <= len(windows) {
				t.Errorf("only %d pages over %d windows: the test wants many pages", pages, len(windows))
			}
			want := inWindow(t, truth, windows[0].from, today)
			if len(got) != len(want) {
				t.Fatalf("served %d records over the history, ground truth has %d", len(got), len(want))
			}
			for i := range got {
				if !bytes.Equal(got[i], want[i]) {
					t.Fatalf("record %d: served %s, want %s", i, got[i], want[i])
				}
			}
		})
	}
}

// TestContractErrors sends requests Zoom refuses, and some it documents as valid but refuses
// anyway (a range over a month), and checks the answers' status, code and shape.
func TestContractErrors(t *testing.T) {
	t.Parallel()
	c := loadContract(t)
	s := newSim(t, Config{})
	token := s.s2sToken(t)
	today := s.clock.Now().Truncate(24 * time.Hour)
	d := func(days int) string { return today.AddDate(0, 0, days).Format(time.DateOnly) }
	tests := []struct {
		name      string
		path      string
		q         url.Values
		token     string
		requestOK bool // whether the description allows the request
		status    int
		code      int
		field     string // the field named in "errors", if any
	}{
		{name: "ok operations", path: pathOperations, q: url.Values{"from": {d(-2)}, "to": {d(0)}}, requestOK: true, status: 200},
		{name: "ok activities without dates", path: pathActivities, q: url.Values{}, requestOK: true, status: 200},
		{name: "ok one month", path: pathOperations, q: url.Values{"from": {d(-30)}, "to": {d(0)}}, requestOK: true, status: 200},
		{name: "bad from format", path: pathOperations, q: url.Values{"from": {"11/20/2026"}, "to": {d(0)}}, status: 400, code: 300, field: "from"},
		{name: "impossible date", path: pathActivities, q: url.Values{"from": {"2026-02-30"}, "to": {d(0)}}, status: 400, code: 300, field: "from"},
		{name: "bad to", path: pathActivities, q: url.Values{"from": {d(-1)}, "to": {"yesterday"}}, status: 400, code: 300, field: "to"},
		{name: "missing from", path: pathOperations, q: url.Values{"to": {d(0)}}, status: 400, code: 300, field: "from"},
		{name: "missing to", path: pathOperations, q: url.Values{"from": {d(0)}}, status: 400, code: 300, field: "to"},
		{name: "from after to", path: pathOperations, q: url.Values{"from": {d(0)}, "to": {d(-1)}}, requestOK: true, status: 400, code: 300},
		{name: "over a month", path: pathOperations, q: url.Values{"from": {d(-31)}, "to": {d(0)}}, requestOK: true, status: 400, code: 300},
		{name: "over a month activities", path: pathActivities, q: url.Values{"from": {d(-45)}, "to": {d(-1)}}, requestOK: true, status: 400, code: 300},
		{name: "older than six months", path: pathActivities, q: url.Values{"from": {d(-200)}, "to": {d(-190)}}, requestOK: true, status: 400, code: 300},
		{name: "page_size 300", path: pathOperations, q: url.Values{"from": {d(-1)}, "to": {d(0)}, "page_size": {"300"}}, requestOK: true, status: 200},
		{name: "page_size 301", path: pathOperations, q: url.Values{"from": {d(-1)}, "to": {d(0)}, "page_size": {"301"}}, status: 400, code: 300, field: "page_size"},
		// The activities description sets no maximum; Zoom's limit is the same 300.
		{name: "page_size 301 activities", path: pathActivities, q: url.Values{"page_size": {"301"}}, requestOK: true, status: 400, code: 300, field: "page_size"},
		{name: "page_size 0", path: pathActivities, q: url.Values{"page_size": {"0"}}, requestOK: true, status: 400, code: 300, field: "page_size"},
		{name: "page_size not a number", path: pathOperations, q: url.Values{"from": {d(-1)}, "to": {d(0)}, "page_size": {"many"}}, status: 400, code: 300, field: "page_size"},
		{name: "unknown category", path: pathOperations, q: url.Values{"from": {d(-1)}, "to": {d(0)}, "category_type": {"meetings"}}, status: 400, code: 300, field: "category_type"},
		{name: "unknown page token", path: pathOperations, q: url.Values{"from": {d(-1)}, "to": {d(0)}, "next_page_token": {"IAfJX3jsOLW7w3dokmFl84zOa0MAVGyMEB2"}}, requestOK: true, status: 400, code: 300},
		{name: "bad access token", path: pathActivities, q: url.Values{}, token: "not-a-token", requestOK: true, status: 401, code: 124},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok := token
			if tc.token != "" {
				tok = tc.token
			}
			resp, reqOK := c.exchange(t, s, tok, tc.path, tc.q)
			if reqOK != tc.requestOK {
				t.Errorf("description says request valid=%v, test expects %v", reqOK, tc.requestOK)
			}
			if resp.status != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.status, tc.status, resp.body)
			}
			if tc.status == 200 {
				return
			}
			e := zoomErr(t, resp)
			if e.Code != tc.code {
				t.Errorf("code %d, want %d: %s", e.Code, tc.code, resp.body)
			}
			if tc.field != "" && (len(e.Errors) != 1 || e.Errors[0].Field != tc.field) {
				t.Errorf("errors %+v, want one naming %q", e.Errors, tc.field)
			}
		})
	}
}

// TestContractRateLimitAnswers validates the per-second and daily 429 answers too.
func TestContractRateLimitAnswers(t *testing.T) {
	t.Parallel()
	c := loadContract(t)
	s := newSim(t, Config{PerSecondLimit: 1, DailyLimit: 2})
	token := s.s2sToken(t)
	q := url.Values{"page_size": {"5"}}
	var statuses []int
	var types []string
	for _, advance := range []time.Duration{0, 0, time.Second, time.Second} {
		s.clock.Advance(advance)
		resp, _ := c.exchange(t, s, token, pathActivities, q)
		statuses = append(statuses, resp.status)
		types = append(types, resp.header.Get("X-RateLimit-Type"))
	}
	if want := []int{200, 429, 200, 429}; !slices.Equal(statuses, want) {
		t.Errorf("statuses %v, want %v", statuses, want)
	}
	if want := []string{"", RateLimitPerSecond, "", RateLimitDaily}; !slices.Equal(types, want) {
		t.Errorf("X-RateLimit-Type %q, want %q", types, want)
	}
}

// TestContractCatchesBadPages shows the validation above can fail: pages that break the
// description (or its strict reading) are rejected.
func TestContractCatchesBadPages(t *testing.T) {
	t.Parallel()
	c := loadContract(t)
	const op = `{"time":"2026-11-25T10:00:00Z","operator":"a@b.c","category_type":"User","action":"Add","operation_detail":"x"}`
	const act = `{"email":"a@b.c","time":"2026-11-25T10:00:00Z","type":"Sign in","ip_address":"192.0.2.1","client_type":"Mac","version":"6.0.1"}`
	tests := []struct {
		name, path, body string
		ok               bool
	}{
		{"good operations", pathOperations, `{"next_page_token":"","page_size":30,"operation_logs":[` + op + `]}`, true},
		{"good activities", pathActivities, `{"from":"2026-11-25T00:00:00Z","to":"2026-11-25T00:00:00Z","page_size":30,"next_page_token":"","activity_logs":[` + act + `]}`, true},
		{"no records array", pathOperations, `{"next_page_token":"","page_size":30}`, false},
		{"page_size over 300", pathOperations, `{"next_page_token":"","page_size":301,"operation_logs":[]}`, false},
		{"record missing operator", pathOperations, `{"next_page_token":"","page_size":30,"operation_logs":[{"time":"2026-11-25T10:00:00Z","category_type":"User","action":"Add","operation_detail":"x"}]}`, false},
		{"record with extra field", pathOperations, `{"next_page_token":"","page_size":30,"operation_logs":[` + op[:len(op)-1] + `,"id":"1"}]}`, false},
		{"time not date-time", pathActivities, `{"page_size":30,"next_page_token":"","activity_logs":[` + strings.Replace(act, "2026-11-25T10:00:00Z", "2026-11-25 10:00:00", 1) + `]}`, false},
		{"unknown activity type", pathActivities, `{"page_size":30,"next_page_token":"","activity_logs":[` + strings.Replace(act, "Sign in", "Login", 1) + `]}`, false},
		{"bad email", pathActivities, `{"page_size":30,"next_page_token":"","activity_logs":[` + strings.Replace(act, "a@b.c", "nobody", 1) + `]}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, "https://api.zoom.us/v2"+tc.path, nil)
			var errs []error
			for _, doc := range []*openapi3.T{c.doc, c.strict} {
				out := &openapi3filter.ResponseValidationInput{
					RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, Route: route(doc, tc.path)},
					Status:                 200,
					Header:                 http.Header{"Content-Type": {"application/json;charset=UTF-8"}},
					Body:                   io.NopCloser(strings.NewReader(tc.body)),
					Options:                &openapi3filter.Options{SchemaValidationOptions: doc.GetSchemaValidationOptions()},
				}
				if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
					errs = append(errs, err)
				}
			}
			if ok := len(errs) == 0; ok != tc.ok {
				t.Errorf("valid=%v, want %v (%v)", ok, tc.ok, errs)
			}
		})
	}
}
