package zoomsim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// testStart is the clock at New in most tests: a Wednesday afternoon.
var testStart = time.Date(2026, 11, 25, 15, 4, 5, 0, time.UTC)

// fakeClock is an injectable clock that moves only when told to.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *fakeClock { return &fakeClock{t: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// sim is a simulator behind a real loopback HTTP server, with its clock.
type sim struct {
	*Server
	URL   string
	clock *fakeClock
}

// newSim starts a simulator at testStart. Unless the test sets a per-second limit, it is
// disabled so tests can page quickly on a frozen clock.
func newSim(t *testing.T, cfg Config) *sim {
	t.Helper()
	clock := newClock(testStart)
	if cfg.Now == nil {
		cfg.Now = clock.Now
	}
	if cfg.PerSecondLimit == 0 {
		cfg.PerSecondLimit = -1
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return &sim{Server: s, URL: ts.URL, clock: clock}
}

// response is a finished HTTP exchange.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %d response %q: %v", r.status, r.body, err)
	}
}

func do(t *testing.T, req *http.Request) response {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", req.URL.Path, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: body}
}

// postToken calls /oauth/token with Basic client credentials and a form body.
func (s *sim) postToken(t *testing.T, clientID, secret string, form url.Values) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+"/oauth/token", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if clientID != "" {
		req.SetBasicAuth(clientID, secret)
	}
	return do(t, req)
}

// s2sToken gets a Server-to-Server access token.
func (s *sim) s2sToken(t *testing.T) string {
	t.Helper()
	c := s.Config()
	resp := s.postToken(t, c.ClientID, c.ClientSecret, url.Values{"grant_type": {"account_credentials"}, "account_id": {c.AccountID}})
	if resp.status != http.StatusOK {
		t.Fatalf("s2s token: %d %s", resp.status, resp.body)
	}
	var tok tokenResponse
	resp.json(t, &tok)
	return tok.AccessToken
}

// get calls a /v2 path with a bearer token.
func (s *sim) get(t *testing.T, token, path string, query url.Values) response {
	t.Helper()
	u := s.URL + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return do(t, req)
}

// page is either report's page, decoded.
type page struct {
	From          string            `json:"from"`
	To            string            `json:"to"`
	NextPageToken string            `json:"next_page_token"`
	PageSize      int               `json:"page_size"`
	OperationLogs []json.RawMessage `json:"operation_logs"`
	ActivityLogs  []json.RawMessage `json:"activity_logs"`
}

func (p page) records() []json.RawMessage {
	if p.OperationLogs != nil {
		return p.OperationLogs
	}
	return p.ActivityLogs
}

// zoomErr decodes a Zoom error body.
func zoomErr(t *testing.T, r response) zoomError {
	t.Helper()
	var e zoomError
	r.json(t, &e)
	return e
}

// fetchAll pages through one window and returns every record, checking each page.
func (s *sim) fetchAll(t *testing.T, token, path string, query url.Values) ([]json.RawMessage, int) {
	t.Helper()
	var all []json.RawMessage
	pages := 0
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	for {
		resp := s.get(t, token, path, q)
		if resp.status != http.StatusOK {
			t.Fatalf("page %d of %s: %d %s", pages+1, path, resp.status, resp.body)
		}
		var p page
		resp.json(t, &p)
		all = append(all, p.records()...)
		pages++
		if p.NextPageToken == "" {
			return all, pages
		}
		q.Set("next_page_token", p.NextPageToken)
	}
}

func dateQuery(from, to time.Time, extra ...string) url.Values {
	q := url.Values{"from": {from.Format(time.DateOnly)}, "to": {to.Format(time.DateOnly)}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return q
}

// inWindow filters ground-truth records to those dated within [from, to] (whole days).
func inWindow(t *testing.T, recs []json.RawMessage, from, to time.Time) []json.RawMessage {
	t.Helper()
	var out []json.RawMessage
	for _, r := range recs {
		var v struct {
			Time string `json:"time"`
		}
		if err := json.Unmarshal(r, &v); err != nil {
			t.Fatal(err)
		}
		tm, err := time.Parse(time.RFC3339, v.Time)
		if err != nil {
			t.Fatal(err)
		}
		if !tm.Before(from) && tm.Before(to.Add(24*time.Hour)) {
			out = append(out, r)
		}
	}
	return out
}
