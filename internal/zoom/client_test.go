package zoom

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/zoomwatch/zoomwatch/internal/event"
)

const (
	opRecord1 = `{"time":"2026-01-15T10:00:00Z","operator":"admin@example.com","category_type":"User","action":"Update","operation_detail":"Change Role  - bart@example.com: from Member to Admin"}`
	opRecord2 = `{ "time" : "2026-01-15T09:00:00Z", "operator":"a@example.com","category_type":"Account","action":"Update","operation_detail":"Security  - Sign in with Two-Factor Authentication: from On to Off","extra":"\u00e9"}`
	actRecord = `{"email":"lisa@example.com","time":"2026-01-15T08:00:00Z","type":"Sign in","ip_address":"192.0.2.1","client_type":"Browser","version":"-"}`
)

func opPage(next string, records ...string) string {
	return fmt.Sprintf(`{"from":"2026-01-14","to":"2026-01-15","page_size":300,"next_page_token":%q,"operation_logs":[%s]}`,
		next, strings.Join(records, ","))
}

var okPage = respond(200, opPage("", opRecord1, opRecord2))

// echoToken refuses the request, quoting its bearer token and a JWT-shaped one in the message.
func echoToken(w http.ResponseWriter, r *http.Request) {
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	respond(401, `{"code":124,"message":"Invalid access token `+tok+` eyJhbGciOiJIUzUxMiJ9.eyJ2ZXIiOjl9.c2lnbmF0dXJl"}`)(w, r)
}

func newTestClient(t *testing.T, h http.Handler, mod func(*Config)) (*Client, *fakeClock, *tokenList) {
	t.Helper()
	srv := serve(t, h)
	clock := newClock()
	if s, ok := h.(*script); ok {
		s.clock = clock
	}
	cfg := testConfig(t, srv.URL, clock)
	if mod != nil {
		mod(&cfg)
	}
	ts := &tokenList{tokens: []string{testToken, testToken + "-2"}}
	c, err := New(cfg, ts)
	if err != nil {
		t.Fatal(err)
	}
	return c, clock, ts
}

// collect reads one window and returns every record handed to fn.
func collect(ctx context.Context, c *Client, lt event.LogType, from, to time.Time) ([]string, error) {
	var got []string
	err := c.Pages(ctx, lt, from, to, func(recs []json.RawMessage) error {
		for _, r := range recs {
			got = append(got, string(r))
		}
		return nil
	})
	return got, err
}

var (
	jan14 = time.Date(2026, 1, 14, 0, 0, 0, 0, time.UTC)
	jan15 = time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)
)

func TestPagesOutcomes(t *testing.T) {
	t.Parallel()
	now := newClock().Now()
	inSecs := func(s int) string { return now.Add(time.Duration(s) * time.Second).Format(time.RFC3339) }
	rate429 := `{"code":429,"message":"You have reached the maximum per-second rate limit for this API. Try again later."}`
	hangUntilCancelled := func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
	cutBody := func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"operation_logs\":[")
		_ = buf.Flush()
	}
	tests := []struct {
		name     string
		steps    []http.HandlerFunc
		timeout  time.Duration
		wantRecs int
		wantReqs int
		check    func(t *testing.T, err error, clock *fakeClock)
	}{
		{name: "ok", steps: []http.HandlerFunc{okPage}, wantRecs: 2, wantReqs: 1},
		{
			name:     "429 retry-after seconds",
			steps:    []http.HandlerFunc{respond(429, rate429, "Retry-After", "2", "X-RateLimit-Type", "QPS"), okPage},
			wantRecs: 2, wantReqs: 2,
			check: func(t *testing.T, _ error, clock *fakeClock) { wantSlept(t, clock, 2*time.Second) },
		},
		{
			name:     "429 retry-after RFC3339 timestamp",
			steps:    []http.HandlerFunc{respond(429, rate429, "Retry-After", inSecs(3)), okPage},
			wantRecs: 2, wantReqs: 2,
			check: func(t *testing.T, _ error, clock *fakeClock) { wantSlept(t, clock, 3*time.Second) },
		},
		{
			name:     "429 retry-after HTTP-date",
			steps:    []http.HandlerFunc{respond(429, rate429, "Retry-After", now.Add(4*time.Second).Format(http.TimeFormat)), okPage},
			wantRecs: 2, wantReqs: 2,
			check: func(t *testing.T, _ error, clock *fakeClock) { wantSlept(t, clock, 4*time.Second) },
		},
		{
			name:     "429 without retry-after backs off",
			steps:    []http.HandlerFunc{respond(429, rate429), respond(429, rate429), okPage},
			wantRecs: 2, wantReqs: 3,
			check: func(t *testing.T, _ error, clock *fakeClock) {
				s := clock.Sleeps()
				if len(s) != 2 || s[0] > backoffBase || s[1] > 2*backoffBase {
					t.Errorf("backoff sleeps %v, want at most 0.5s then at most 1s", s)
				}
			},
		},
		{
			name:     "429 forever",
			steps:    []http.HandlerFunc{respond(429, rate429, "Retry-After", "1")},
			wantReqs: 4,
			check: func(t *testing.T, err error, _ *fakeClock) {
				var rle *RateLimitError
				if !errors.As(err, &rle) || rle.Daily || rle.RetryAt.IsZero() {
					t.Errorf("err = %v, want a per-second *RateLimitError with RetryAt", err)
				}
			},
		},
		{
			name: "daily limit is not retried",
			steps: []http.HandlerFunc{respond(429, `{"code":429,"message":"You have reached the maximum daily rate limit for this API."}`,
				"Retry-After", "2026-01-16T00:00:00Z", "X-RateLimit-Type", "Daily-limit", "X-RateLimit-Category", "Heavy")},
			wantReqs: 1,
			check: func(t *testing.T, err error, _ *fakeClock) {
				var rle *RateLimitError
				if !errors.As(err, &rle) || !rle.Daily || !rle.RetryAt.Equal(time.Date(2026, 1, 16, 0, 0, 0, 0, time.UTC)) || rle.Category != "Heavy" {
					t.Errorf("err = %#v, want daily *RateLimitError retrying 2026-01-16", err)
				}
				if KindOf(err) != KindDailyLimit {
					t.Errorf("KindOf = %s", KindOf(err))
				}
			},
		},
		{
			name:     "daily limit recognised by its message",
			steps:    []http.HandlerFunc{respond(429, `{"code":429,"message":"You have reached the maximum daily rate limit for this API."}`)},
			wantReqs: 1,
			check:    wantKind(KindDailyLimit),
		},
		{
			name:     "long per-second retry-after is returned, not waited",
			steps:    []http.HandlerFunc{respond(429, rate429, "Retry-After", "600")},
			wantReqs: 1,
			check:    wantKind(KindRateLimit),
		},
		{name: "5xx then ok", steps: []http.HandlerFunc{respond(502, "bad gateway", "Content-Type", "text/plain"), respond(500, `{"code":500,"message":"internal"}`), okPage}, wantRecs: 2, wantReqs: 3},
		{
			name:     "5xx forever",
			steps:    []http.HandlerFunc{respond(503, `<html><body>Service Unavailable</body></html>`, "Content-Type", "text/html")},
			wantReqs: 4,
			check:    wantResponseError(503, "server error"),
		},
		{name: "truncated JSON then ok", steps: []http.HandlerFunc{respond(200, opPage("", opRecord1)[:40]), okPage}, wantRecs: 2, wantReqs: 2},
		{
			name:     "truncated JSON forever",
			steps:    []http.HandlerFunc{respond(200, opPage("", opRecord1)[:40])},
			wantReqs: 4,
			check:    wantResponseError(200, "truncated"),
		},
		{name: "body cut off then ok", steps: []http.HandlerFunc{cutBody, okPage}, wantRecs: 2, wantReqs: 2},
		{
			name:     "HTML page with status 200",
			steps:    []http.HandlerFunc{respond(200, "<!DOCTYPE html><html><title>Maintenance</title></html>", "Content-Type", "text/html")},
			wantReqs: 4,
			check:    wantResponseError(200, "HTML"),
		},
		{name: "empty body", steps: []http.HandlerFunc{respond(200, "")}, wantReqs: 4, check: wantResponseError(200, "empty body")},
		{name: "not JSON", steps: []http.HandlerFunc{respond(200, "operation_logs: []")}, wantReqs: 4, check: wantResponseError(200, "not JSON")},
		{
			name:     "missing records array is not retried",
			steps:    []http.HandlerFunc{respond(200, `{"from":"2026-01-14","to":"2026-01-15","page_size":300,"next_page_token":""}`)},
			wantReqs: 1,
			check:    wantResponseError(200, "missing operation_logs array"),
		},
		{name: "null records array", steps: []http.HandlerFunc{respond(200, `{"operation_logs":null}`)}, wantReqs: 1, check: wantResponseError(200, "missing operation_logs")},
		{name: "wrong array", steps: []http.HandlerFunc{respond(200, `{"activity_logs":[]}`)}, wantReqs: 1, check: wantResponseError(200, "missing operation_logs")},
		{name: "record not an object", steps: []http.HandlerFunc{respond(200, `{"operation_logs":[{"a":1},"x"]}`)}, wantReqs: 1, check: wantResponseError(200, "operation_logs[1] is not an object")},
		{name: "empty window", steps: []http.HandlerFunc{respond(200, `{"operation_logs":[]}`)}, wantReqs: 1},
		{name: "timeout then ok", steps: []http.HandlerFunc{hangUntilCancelled, okPage}, timeout: 50 * time.Millisecond, wantRecs: 2, wantReqs: 2},
		{
			name:     "401 code 124 gets a new token once",
			steps:    []http.HandlerFunc{respond(401, `{"code":124,"message":"Invalid access token."}`), okPage},
			wantRecs: 2, wantReqs: 2,
		},
		{
			name:     "401 twice is an AuthError",
			steps:    []http.HandlerFunc{echoToken},
			wantReqs: 2,
			check: func(t *testing.T, err error, _ *fakeClock) {
				var ae *AuthError
				if !errors.As(err, &ae) || ae.Code != 124 || ae.Status != 401 {
					t.Errorf("err = %v, want *AuthError code 124", err)
				}
			},
		},
		{
			name:     "no permission",
			steps:    []http.HandlerFunc{respond(400, `{"code":200,"message":"No permission."}`)},
			wantReqs: 1,
			check: func(t *testing.T, err error, _ *fakeClock) {
				var pe *PermissionError
				if !errors.As(err, &pe) || pe.MissingScopes || pe.Code != 200 {
					t.Errorf("err = %v, want *PermissionError code 200", err)
				}
			},
		},
		{
			name:     "missing scopes",
			steps:    []http.HandlerFunc{respond(400, `{"code":4700,"message":"Invalid access token, does not contain scopes:[report:read:admin, report:read:operation_logs:admin]."}`)},
			wantReqs: 1,
			check: func(t *testing.T, err error, _ *fakeClock) {
				var pe *PermissionError
				if !errors.As(err, &pe) || !pe.MissingScopes || !strings.Contains(err.Error(), ScopeOperationLogsRead) || !strings.Contains(err.Error(), ScopeReportRead) {
					t.Errorf("err = %v, want *PermissionError naming both scopes", err)
				}
			},
		},
		{
			name:     "validation error on the first page",
			steps:    []http.HandlerFunc{respond(400, `{"code":300,"message":"The next page token is invalid or expired."}`)},
			wantReqs: 1,
			check:    wantResponseError(400, "unexpected status"),
		},
		{name: "unexpected 404", steps: []http.HandlerFunc{respond(404, `{"code":1001,"message":"User does not exist."}`)}, wantReqs: 1, check: wantResponseError(404, "unexpected status")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := &script{steps: tc.steps}
			c, clock, _ := newTestClient(t, s, func(cfg *Config) {
				if tc.timeout != 0 {
					cfg.Timeout = tc.timeout
				}
			})
			recs, err := collect(context.Background(), c, event.Operation, jan14, jan15)
			wantErr := tc.wantRecs == 0 && tc.check != nil
			switch {
			case wantErr && err == nil:
				t.Fatal("Pages succeeded, want an error")
			case !wantErr && err != nil:
				t.Fatalf("Pages: %v", err)
			case err != nil:
				assertNoSecret(t, "error", err.Error())
				assertNoSecret(t, "error %#v", fmt.Sprintf("%#v", err))
			}
			if tc.check != nil {
				tc.check(t, err, clock)
			}
			if len(recs) != tc.wantRecs {
				t.Errorf("got %d records, want %d", len(recs), tc.wantRecs)
			}
			if got := len(s.Requests()); got != tc.wantReqs {
				t.Errorf("%d requests, want %d", got, tc.wantReqs)
			}
		})
	}
}

func wantSlept(t *testing.T, clock *fakeClock, want time.Duration) {
	t.Helper()
	for _, d := range clock.Sleeps() {
		if d == want {
			return
		}
	}
	t.Errorf("sleeps %v, want one of %v", clock.Sleeps(), want)
}

func wantKind(k ErrorKind) func(*testing.T, error, *fakeClock) {
	return func(t *testing.T, err error, _ *fakeClock) {
		t.Helper()
		if got := KindOf(err); got != k {
			t.Errorf("KindOf(%v) = %s, want %s", err, got, k)
		}
	}
}

func wantResponseError(status int, problem string) func(*testing.T, error, *fakeClock) {
	return func(t *testing.T, err error, _ *fakeClock) {
		t.Helper()
		var re *ResponseError
		if !errors.As(err, &re) || re.Status != status || re.Endpoint != "/report/operationlogs" || !strings.Contains(err.Error(), problem) {
			t.Errorf("err = %v, want *ResponseError for /report/operationlogs, HTTP %d, %q", err, status, problem)
		}
		if !strings.Contains(err.Error(), "/report/operationlogs") || !strings.Contains(err.Error(), fmt.Sprint(status)) {
			t.Errorf("error text %q does not name the endpoint and status", err)
		}
	}
}

func TestPagesReauthUsesTheNewToken(t *testing.T) {
	t.Parallel()
	s := &script{steps: []http.HandlerFunc{respond(401, `{"code":124,"message":"Invalid access token."}`), okPage}}
	c, _, ts := newTestClient(t, s, nil)
	if _, err := collect(context.Background(), c, event.Operation, jan14, jan15); err != nil {
		t.Fatal(err)
	}
	reqs := s.Requests()
	if got := reqs[0].Header.Get("Authorization"); got != "Bearer "+testToken {
		t.Errorf("first request Authorization = %q", got)
	}
	if got := reqs[1].Header.Get("Authorization"); got != "Bearer "+testToken+"-2" {
		t.Errorf("retry Authorization = %q, want the replacement token", got)
	}
	if ts.invalidated != 1 {
		t.Errorf("invalidated %d times, want 1", ts.invalidated)
	}
}

func TestPagesPaginates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		lt        event.LogType
		steps     []http.HandlerFunc
		want      []string
		wantPath  string
		wantToken []string // next_page_token per request
		wantErr   string
	}{
		{
			name: "three pages",
			lt:   event.Operation,
			steps: []http.HandlerFunc{
				respond(200, opPage("p2", opRecord1)),
				respond(200, opPage("p3", opRecord2)),
				respond(200, opPage("", opRecord1)),
			},
			want:      []string{opRecord1, opRecord2, opRecord1},
			wantPath:  "/v2/report/operationlogs",
			wantToken: []string{"", "p2", "p3"},
		},
		{
			name: "activity report",
			lt:   event.Activity,
			steps: []http.HandlerFunc{
				respond(200, `{"from":"2026-01-14T00:00:00Z","to":"2026-01-15T00:00:00Z","page_size":300,"next_page_token":"n","activity_logs":[`+actRecord+`]}`),
				respond(200, `{"activity_logs":[]}`),
			},
			want:      []string{actRecord},
			wantPath:  "/v2/report/activities",
			wantToken: []string{"", "n"},
		},
		{
			name: "expired page token restarts the window",
			lt:   event.Operation,
			steps: []http.HandlerFunc{
				respond(200, opPage("p2", opRecord1)),
				respond(400, `{"code":300,"message":"The next page token is invalid or expired."}`),
				respond(200, opPage("q2", opRecord1)),
				respond(200, opPage("", opRecord2)),
			},
			want:      []string{opRecord1, opRecord1, opRecord2},
			wantPath:  "/v2/report/operationlogs",
			wantToken: []string{"", "p2", "", "q2"},
		},
		{
			name: "page token rejected with 404",
			lt:   event.Operation,
			steps: []http.HandlerFunc{
				respond(200, opPage("p2", opRecord1)),
				respond(404, `{"code":300,"message":"Invalid next page token."}`),
				respond(200, opPage("", opRecord2)),
			},
			want:      []string{opRecord1, opRecord2},
			wantPath:  "/v2/report/operationlogs",
			wantToken: []string{"", "p2", ""},
		},
		{
			name: "restarts are bounded",
			lt:   event.Operation,
			steps: []http.HandlerFunc{
				respond(200, opPage("p2", opRecord1)), respond(400, `{"code":300,"message":"expired"}`),
				respond(200, opPage("p2", opRecord1)), respond(400, `{"code":300,"message":"expired"}`),
				respond(200, opPage("p2", opRecord1)), respond(400, `{"code":300,"message":"expired"}`),
				respond(200, opPage("p2", opRecord1)), respond(400, `{"code":300,"message":"expired"}`),
			},
			want:      []string{opRecord1, opRecord1, opRecord1, opRecord1},
			wantPath:  "/v2/report/operationlogs",
			wantToken: []string{"", "p2", "", "p2", "", "p2", "", "p2"},
			wantErr:   "page token rejected 4 times",
		},
		{
			name: "page token that does not advance",
			lt:   event.Operation,
			steps: []http.HandlerFunc{
				respond(200, opPage("same", opRecord1)),
				respond(200, opPage("same", opRecord2)),
			},
			want:      []string{opRecord1, opRecord2},
			wantPath:  "/v2/report/operationlogs",
			wantToken: []string{"", "same"},
			wantErr:   "did not change",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := &script{steps: tc.steps}
			c, _, _ := newTestClient(t, s, nil)
			got, err := collect(context.Background(), c, tc.lt, jan14, jan15)
			if tc.wantErr == "" && err != nil {
				t.Fatalf("Pages: %v", err)
			}
			if tc.wantErr != "" {
				var re *ResponseError
				if !errors.As(err, &re) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want *ResponseError %q", err, tc.wantErr)
				}
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("records\n%s\nwant (byte for byte)\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			reqs := s.Requests()
			if len(reqs) != len(tc.wantToken) {
				t.Fatalf("%d requests, want %d", len(reqs), len(tc.wantToken))
			}
			for i, r := range reqs {
				q := r.URL.Query()
				if r.URL.Path != tc.wantPath || q.Get("from") != "2026-01-14" || q.Get("to") != "2026-01-15" || q.Get("page_size") != "300" {
					t.Errorf("request %d: %s", i, r.URL)
				}
				if q.Has("category_type") {
					t.Errorf("request %d sends category_type; all categories are wanted", i)
				}
				if got := q.Get("next_page_token"); got != tc.wantToken[i] || (got == "" && q.Has("next_page_token")) {
					t.Errorf("request %d next_page_token = %q, want %q", i, got, tc.wantToken[i])
				}
			}
		})
	}
}

func TestPagesStopsOnCallbackError(t *testing.T) {
	t.Parallel()
	s := &script{steps: []http.HandlerFunc{respond(200, opPage("p2", opRecord1)), okPage}}
	c, _, _ := newTestClient(t, s, nil)
	stop := errors.New("stop")
	err := c.Pages(context.Background(), event.Operation, jan14, jan15, func([]json.RawMessage) error { return stop })
	if err != stop {
		t.Errorf("err = %v, want the callback's error as is", err)
	}
	if n := len(s.Requests()); n != 1 {
		t.Errorf("%d requests after the callback stopped, want 1", n)
	}
}

func TestPagesRejectsBadWindows(t *testing.T) {
	t.Parallel()
	s := &script{steps: []http.HandlerFunc{okPage}}
	c, _, _ := newTestClient(t, s, nil)
	tests := []struct {
		name     string
		from, to time.Time
		lt       event.LogType
	}{
		{"29 days", jan14, jan14.AddDate(0, 0, 28), event.Operation},
		{"a month", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), event.Activity},
		{"from after to", jan15, jan14, event.Operation},
		{"unknown log type", jan14, jan15, event.LogType("Zoom.Meeting")},
	}
	for _, tc := range tests {
		err := c.Pages(context.Background(), tc.lt, tc.from, tc.to, func([]json.RawMessage) error { return nil })
		var we *WindowError
		if tc.lt.Valid() && !errors.As(err, &we) {
			t.Errorf("%s: err = %v, want *WindowError", tc.name, err)
		}
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
	if err := c.Pages(context.Background(), event.Operation, jan14, jan14.AddDate(0, 0, MaxWindowDays-1), func([]json.RawMessage) error { return nil }); err != nil {
		t.Errorf("a %d-day window was refused: %v", MaxWindowDays, err)
	}
	if n := len(s.Requests()); n != 1 {
		t.Errorf("%d requests, want only the valid window's", n)
	}
}

func TestRateLimiterSpacesRequests(t *testing.T) {
	t.Parallel()
	steps := []http.HandlerFunc{}
	for i := 1; i < 8; i++ {
		steps = append(steps, respond(200, opPage(fmt.Sprint("p", i+1), opRecord1)))
	}
	steps = append(steps, respond(200, opPage("", opRecord1)))
	s := &script{steps: steps}
	c, clock, _ := newTestClient(t, s, func(cfg *Config) { cfg.MaxRPS = 4 })
	if len(clock.Sleeps()) != 0 {
		t.Fatal("clock already used")
	}
	recs, err := collect(context.Background(), c, event.Operation, jan14, jan15)
	if err != nil || len(recs) != 8 {
		t.Fatalf("Pages = %d records, %v", len(recs), err)
	}
	for i := 1; i < len(s.times); i++ {
		if gap := s.times[i].Sub(s.times[i-1]); gap < 250*time.Millisecond {
			t.Errorf("requests %d and %d %v apart, want ≥ 250ms at 4 req/s", i-1, i, gap)
		}
	}
	if got := clock.TotalSlept(); got != 7*250*time.Millisecond {
		t.Errorf("waited %v in total, want 1.75s for 8 requests at 4/s", got)
	}
}

func TestPagesHonoursContext(t *testing.T) {
	t.Parallel()
	s := &script{steps: []http.HandlerFunc{respond(503, `{"code":503,"message":"down"}`)}}
	c, _, _ := newTestClient(t, s, func(cfg *Config) {
		cfg.Sleep = func(context.Context, time.Duration) error { return context.Canceled }
	})
	_, err := collect(context.Background(), c, event.Operation, jan14, jan15)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled from the interrupted wait", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := collect(ctx, c, event.Operation, jan14, jan15); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: err = %v", err)
	}
}

func TestPagesConnectionRefused(t *testing.T) {
	t.Parallel()
	srv := serve(t, http.NotFoundHandler())
	srv.Close()
	clock := newClock()
	c, err := New(testConfig(t, srv.URL, clock), &tokenList{tokens: []string{testToken}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = collect(context.Background(), c, event.Operation, jan14, jan15)
	if err == nil || KindOf(err) != KindNetwork {
		t.Fatalf("err = %v (kind %s), want a network error", err, KindOf(err))
	}
	if n := len(clock.Sleeps()); n != 3 {
		t.Errorf("%d backoff waits, want MaxRetries (3)", n)
	}
	assertNoSecret(t, "error", err.Error())
}

func TestVerify(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("/v2/report/operationlogs", respond(200, opPage("more", opRecord1, opRecord2)))
	mux.HandleFunc("/v2/report/activities", respond(400, `{"code":4700,"message":"Invalid access token, does not contain scopes:[report:read:user_activities:admin]."}`))
	var seen []string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.URL.Path+"?"+r.URL.RawQuery)
		mux.ServeHTTP(w, r)
	})
	c, _, _ := newTestClient(t, h, nil)
	res, err := c.Verify(context.Background())
	var pe *PermissionError
	if !errors.As(err, &pe) || !pe.MissingScopes || pe.LogType != event.Activity {
		t.Fatalf("err = %v, want the activity report's *PermissionError", err)
	}
	if res.OK() || len(res.Checks) != 2 {
		t.Fatalf("result %+v", res)
	}
	op, act := res.Checks[0], res.Checks[1]
	if !op.OK || op.Records != 2 || !op.More || op.Kind != KindOK || op.LogType != event.Operation {
		t.Errorf("operation check %+v", op)
	}
	if act.OK || act.Kind != KindPermission || !strings.Contains(act.Error, ScopeUserActivitiesRead) {
		t.Errorf("activity check %+v", act)
	}
	if len(seen) != 2 || !strings.Contains(seen[0], "from=2026-01-14&") || !strings.Contains(seen[0], "to=2026-01-15") {
		t.Errorf("requests %v, want one page of each report for yesterday..today", seen)
	}
	b, err := json.Marshal(res)
	if err != nil || !strings.Contains(string(b), `"kind":"permission"`) {
		t.Errorf("JSON %s, %v", b, err)
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"5", 5 * time.Second, true},
		{" 0 ", 0, true},
		{"1.5", 1500 * time.Millisecond, true},
		{"-3", 0, false},
		{"2026-01-15T12:00:30Z", 30 * time.Second, true},
		{"2026-01-15T13:00:30+01:00", 30 * time.Second, true},
		{"Thu, 15 Jan 2026 12:01:00 GMT", time.Minute, true},
		{"Thursday, 15-Jan-26 12:01:00 GMT", time.Minute, true},
		{"2026-01-15T11:00:00Z", 0, true}, // in the past: now
		{"2026-01-16 00:00:00", 12 * time.Hour, true},
		{"soon", 0, false},
		{"NaN", 0, false},
		{"1e300", 0, false},
	}
	for _, tc := range tests {
		at, ok := parseRetryAfter(tc.in, now)
		if ok != tc.ok || (ok && at.Sub(now) != tc.want) {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want +%v, %v", tc.in, at, ok, tc.want, tc.ok)
		}
	}
}

func TestBackoffIsBoundedFullJitter(t *testing.T) {
	t.Parallel()
	for retry := range 40 {
		ceiling := min(backoffCap, backoffBase<<min(retry, 16))
		for range 50 {
			if d := backoff(retry); d < 0 || d > ceiling {
				t.Fatalf("backoff(%d) = %v, want within [0, %v]", retry, d, ceiling)
			}
		}
	}
}

// TestNoSecretInRequestErrors makes a transport fail while the request carries the bearer
// token and checks the error does not repeat it.
func TestNoSecretInRequestErrors(t *testing.T) {
	t.Parallel()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, buf, _ := w.(http.Hijacker).Hijack()
		_, _ = buf.WriteString("garbage " + r.Header.Get("Authorization") + "\r\n\r\n")
		_ = buf.Flush()
		_ = conn.Close()
	})
	c, _, _ := newTestClient(t, h, nil)
	_, err := collect(context.Background(), c, event.Operation, jan14, jan15)
	if err == nil {
		t.Fatal("garbage answer accepted")
	}
	assertNoSecret(t, "error", err.Error())
}

func TestKindOfTimeoutIsNetwork(t *testing.T) {
	t.Parallel()
	s := &script{steps: []http.HandlerFunc{func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }}}
	c, _, _ := newTestClient(t, s, func(cfg *Config) { cfg.Timeout = 20 * time.Millisecond; cfg.MaxRetries = 1 })
	_, err := collect(context.Background(), c, event.Operation, jan14, jan15)
	if KindOf(err) != KindNetwork || len(s.Requests()) != 2 {
		t.Errorf("err = %v (kind %s) after %d requests; want a network error after 2", err, KindOf(err), len(s.Requests()))
	}
	if got := KindOf(fmt.Errorf("x: %w", context.DeadlineExceeded)); got != KindCanceled {
		t.Errorf("caller deadline classified %s", got)
	}
}
