package zoomsim

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// faultSim is a simulator with faults set after the token is issued.
func faultSim(t *testing.T, f Faults) (*sim, string) {
	t.Helper()
	s := newSim(t, Config{})
	tok := s.s2sToken(t)
	s.SetFaults(f)
	return s, tok
}

var actsQuery = url.Values{"page_size": {"5"}}

func TestServerErrorFault(t *testing.T) {
	t.Parallel()
	s, tok := faultSim(t, Faults{ServerErrorRate: 1})
	statuses := map[int]bool{}
	empty, jsonBody := 0, 0
	for range 40 {
		r := s.get(t, tok, "/v2/report/activities", actsQuery)
		statuses[r.status] = true
		switch {
		case len(r.body) == 0:
			empty++
		case json.Valid(r.body):
			if e := zoomErr(t, r); e.Code != r.status || e.Message == "" {
				t.Errorf("5xx body %s, want Zoom's error shape with code %d", r.body, r.status)
			}
			jsonBody++
		default:
			t.Errorf("5xx body neither empty nor JSON: %q", r.body)
		}
	}
	for _, want := range []int{500, 502, 503} {
		if !statuses[want] {
			t.Errorf("no %d among %v", want, statuses)
		}
	}
	if len(statuses) != 3 || empty == 0 || jsonBody == 0 {
		t.Errorf("statuses %v, %d empty and %d JSON bodies: want only 500/502/503, both kinds of body", statuses, empty, jsonBody)
	}
	if st := s.Stats(); st.ServerErrors != 40 || st.ReportPages != 0 {
		t.Errorf("Stats %+v, want 40 server errors and no pages", st)
	}
	s.SetFaults(Faults{})
	if r := s.get(t, tok, "/v2/report/activities", actsQuery); r.status != 200 {
		t.Errorf("after clearing faults: %d", r.status)
	}
}

// TestFaultRateIsDeterministic: a rate fails a seeded share of requests, the same ones each run.
func TestFaultRateIsDeterministic(t *testing.T) {
	t.Parallel()
	run := func() []int {
		s, tok := faultSim(t, Faults{ServerErrorRate: 0.3})
		var out []int
		for range 60 {
			out = append(out, s.get(t, tok, "/v2/report/activities", actsQuery).status)
		}
		return out
	}
	a, b := run(), run()
	if !slices.Equal(a, b) {
		t.Errorf("two runs with the same seed differ:\n%v\n%v", a, b)
	}
	failed := 0
	for _, st := range a {
		if st >= 500 {
			failed++
		}
	}
	if failed < 6 || failed > 30 {
		t.Errorf("%d of 60 failed at rate 0.3", failed)
	}
}

func TestBurst429Fault(t *testing.T) {
	t.Parallel()
	tests := []struct {
		form  string
		check func(t *testing.T, retryAfter string, ok bool, now time.Time)
	}{
		{RetryAfterSeconds, func(t *testing.T, v string, ok bool, _ time.Time) {
			if v != "1" {
				t.Errorf("Retry-After %q, want 1", v)
			}
		}},
		{"", func(t *testing.T, v string, ok bool, _ time.Time) {
			if v != "1" {
				t.Errorf("default Retry-After %q, want seconds (1)", v)
			}
		}},
		{RetryAfterTimestamp, func(t *testing.T, v string, ok bool, now time.Time) {
			at, err := time.Parse(time.RFC3339, v)
			if err != nil || !at.After(now) || at.Sub(now) > time.Second {
				t.Errorf("Retry-After %q, want an RFC 3339 time within a second after %s", v, now)
			}
		}},
		{RetryAfterNone, func(t *testing.T, v string, ok bool, _ time.Time) {
			if ok {
				t.Errorf("Retry-After %q sent, want none", v)
			}
		}},
	}
	for _, tc := range tests {
		t.Run("retry-after="+tc.form, func(t *testing.T) {
			t.Parallel()
			s, tok := faultSim(t, Faults{Burst429: 3, RetryAfter: tc.form})
			for i := range 3 {
				r := s.get(t, tok, "/v2/report/activities", actsQuery)
				if r.status != 429 || r.header.Get("X-RateLimit-Type") != RateLimitPerSecond {
					t.Fatalf("request %d: %d %s, want a per-second 429", i+1, r.status, r.body)
				}
				if e := zoomErr(t, r); e.Code != 429 || e.Message != msgPerSecondLimit {
					t.Errorf("body %s", r.body)
				}
				_, ok := r.header["Retry-After"]
				tc.check(t, r.header.Get("Retry-After"), ok, s.clock.Now())
			}
			if r := s.get(t, tok, "/v2/report/activities", actsQuery); r.status != 200 {
				t.Errorf("request after the burst: %d", r.status)
			}
			if st := s.Stats(); st.Injected429 != 3 || st.PerSecond429 != 3 {
				t.Errorf("Stats %+v, want 3 injected per-second 429s", st)
			}
		})
	}
}

func TestDailyLimitFault(t *testing.T) {
	t.Parallel()
	s, tok := faultSim(t, Faults{DailyLimitExhausted: true})
	r := s.get(t, tok, "/v2/report/operationlogs", dateQuery(testStart, testStart))
	want429(t, r, RateLimitDaily, DefaultDailyLimit, testStart.Truncate(24*time.Hour).Add(24*time.Hour).Format(time.RFC3339))
	if st := s.Stats(); st.Daily429 != 1 || st.Injected429 != 1 {
		t.Errorf("Stats %+v", st)
	}
}

func TestSlowFault(t *testing.T) {
	t.Parallel()
	s, tok := faultSim(t, Faults{SlowRate: 1, Slow: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/v2/report/activities?page_size=5", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("slowed request answered %d before the client gave up", resp.StatusCode)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v, want the client's deadline", err)
	}
	if st := s.Stats(); st.Slowed != 1 {
		t.Errorf("Stats.Slowed %d, want 1", st.Slowed)
	}
}

func TestTruncateFault(t *testing.T) {
	t.Parallel()
	s, tok := faultSim(t, Faults{TruncateRate: 1})
	r := s.get(t, tok, "/v2/report/activities", actsQuery)
	if r.status != 200 || json.Valid(r.body) || !strings.HasPrefix(string(r.body), "{") {
		t.Fatalf("%d %q, want 200 with a cut-off JSON body", r.status, r.body)
	}
	if st := s.Stats(); st.Truncated != 1 || st.ReportPages != 0 || st.RecordsServed != 0 {
		t.Errorf("Stats %+v, want 1 truncated and nothing counted as served", st)
	}
}

func TestHTMLFault(t *testing.T) {
	t.Parallel()
	s, tok := faultSim(t, Faults{HTMLRate: 1})
	for range 10 {
		r := s.get(t, tok, "/v2/report/activities", actsQuery)
		if (r.status != 502 && r.status != 503) || r.header.Get("Content-Type") != "text/html" || !strings.HasPrefix(string(r.body), "<html>") {
			t.Fatalf("%d %s %q, want a 502/503 HTML page", r.status, r.header.Get("Content-Type"), r.body)
		}
	}
}

// TestExpirePageTokensFault: the first follow-up page of each window is refused once; reading
// the window again from page 1 then pages through.
func TestExpirePageTokensFault(t *testing.T) {
	t.Parallel()
	s, tok := faultSim(t, Faults{ExpirePageTokens: true})
	for _, days := range []int{3, 4} {
		q := dateQuery(testStart.AddDate(0, 0, -days), testStart, "page_size", "20")
		r := s.get(t, tok, "/v2/report/operationlogs", q)
		var p page
		r.json(t, &p)
		q.Set("next_page_token", p.NextPageToken)
		r = s.get(t, tok, "/v2/report/operationlogs", q)
		if e := zoomErr(t, r); r.status != 400 || e.Code != CodeValidation || e.Message != msgBadPageToken {
			t.Fatalf("window of %d days, page 2: %d %s, want 400 code 300", days, r.status, r.body)
		}
		q.Del("next_page_token")
		if _, pages := s.fetchAll(t, tok, "/v2/report/operationlogs", q); pages < 2 {
			t.Errorf("restarted window read in %d pages, want several", pages)
		}
	}
	if st := s.Stats(); st.PageTokensRejected != 2 {
		t.Errorf("Stats.PageTokensRejected %d, want 2", st.PageTokensRejected)
	}
}

// TestExpireAccessTokensFault: tokens issued before the fault are refused with 401 code 124;
// a fresh one works.
func TestExpireAccessTokensFault(t *testing.T) {
	t.Parallel()
	s, tok := faultSim(t, Faults{ExpireAccessTokens: true})
	r := s.get(t, tok, "/v2/report/activities", actsQuery)
	if e := zoomErr(t, r); r.status != 401 || e.Code != CodeInvalidToken {
		t.Fatalf("old token: %d %s, want 401 code 124", r.status, r.body)
	}
	if r := s.get(t, s.s2sToken(t), "/v2/report/activities", actsQuery); r.status != 200 {
		t.Errorf("new token: %d %s", r.status, r.body)
	}
}

// TestFaultsNeverTouchOAuth: the token endpoint works whatever faults are set.
func TestFaultsNeverTouchOAuth(t *testing.T) {
	t.Parallel()
	s, _ := faultSim(t, Faults{ServerErrorRate: 1, HTMLRate: 1, TruncateRate: 1, Burst429: 5, DailyLimitExhausted: true})
	s.s2sToken(t)
}

func TestParseFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		spec    string
		want    Faults
		wantErr string
	}{
		{spec: "", want: Faults{}},
		{spec: "  ", want: Faults{}},
		{spec: "5xx=0.1", want: Faults{ServerErrorRate: 0.1}},
		{spec: "5xx=0.1,429=5,truncate=0.05,html=0.05,slow=0.1:3s,expire-page-tokens",
			want: Faults{ServerErrorRate: 0.1, Burst429: 5, TruncateRate: 0.05, HTMLRate: 0.05, SlowRate: 0.1, Slow: 3 * time.Second, ExpirePageTokens: true}},
		{spec: "429=3, retry-after=timestamp", want: Faults{Burst429: 3, RetryAfter: RetryAfterTimestamp}},
		{spec: "429=1,retry-after=none", want: Faults{Burst429: 1, RetryAfter: RetryAfterNone}},
		{spec: "retry-after=seconds", want: Faults{RetryAfter: RetryAfterSeconds}},
		{spec: "daily-limit,expire-access-tokens", want: Faults{DailyLimitExhausted: true, ExpireAccessTokens: true}},
		{spec: "5xx=1,html=0", want: Faults{ServerErrorRate: 1}},
		{spec: "5xx=1.5", wantErr: `fault 5xx="1.5": want a rate between 0 and 1`},
		{spec: "5xx=-0.1", wantErr: "want a rate between 0 and 1"},
		{spec: "5xx=NaN", wantErr: "want a rate between 0 and 1"},
		{spec: "5xx=lots", wantErr: "want a rate between 0 and 1"},
		{spec: "5xx", wantErr: `fault "5xx" needs a value`},
		{spec: "5xx=", wantErr: `fault "5xx" needs a value`},
		{spec: "429=-1", wantErr: "want a count of requests"},
		{spec: "429=2.5", wantErr: "want a count of requests"},
		{spec: "retry-after=later", wantErr: "want seconds, timestamp or none"},
		{spec: "slow=0.1", wantErr: "want RATE:DURATION"},
		{spec: "slow=0.1:fast", wantErr: `"fast" is not a positive duration`},
		{spec: "slow=0.1:0s", wantErr: "is not a positive duration"},
		{spec: "slow=2:1s", wantErr: "want a rate between 0 and 1"},
		{spec: "daily-limit=yes", wantErr: `fault "daily-limit" takes no value`},
		{spec: "expire-page-tokens=1", wantErr: "takes no value"},
		{spec: "5xx=0.1,5xx=0.2", wantErr: `fault "5xx" given twice`},
		{spec: "5xx=0.1,,html=0.1", wantErr: "empty item"},
		{spec: "teapot=1", wantErr: `unknown fault "teapot" (known: 5xx=RATE`},
	}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			got, err := ParseFaults(tc.spec)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseFaults(%q) error %v, want one containing %q", tc.spec, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseFaults(%q): %v", tc.spec, err)
			}
			if got != tc.want {
				t.Fatalf("ParseFaults(%q) = %+v, want %+v", tc.spec, got, tc.want)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("parsed faults do not validate: %v", err)
			}
			// String is ParseFaults' inverse.
			again, err := ParseFaults(got.String())
			if err != nil || again != got {
				t.Errorf("ParseFaults(%q.String() = %q) = %+v, %v", tc.spec, got.String(), again, err)
			}
		})
	}
}

func TestFaultsValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		f    Faults
		want string
	}{
		{"none", Faults{}, ""},
		{"rate above 1", Faults{HTMLRate: 1.1}, "HTMLRate"},
		{"negative burst", Faults{Burst429: -1}, "Burst429"},
		{"unknown retry-after", Faults{RetryAfter: "soon"}, "RetryAfter"},
		{"slow without delay", Faults{SlowRate: 0.5}, "Slow is not a positive duration"},
		{"negative delay", Faults{Slow: -time.Second}, "must not be negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.f.Validate()
			if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("Validate() = %v, want error containing %q", err, tc.want)
			}
		})
	}
}

// FuzzParseFaults: any spec either fails with an error or yields valid faults that String
// renders back to the same value.
func FuzzParseFaults(f *testing.F) {
	for _, seed := range []string{"", "5xx=0.1,429=5,truncate=0.05,html=0.05,slow=0.1:3s,expire-page-tokens", "429=3,retry-after=timestamp", "daily-limit,expire-access-tokens", "slow=0:1s", "5xx=1e-1"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		got, err := ParseFaults(spec)
		if err != nil {
			if got != (Faults{}) {
				t.Errorf("ParseFaults(%q) failed but returned %+v", spec, got)
			}
			return
		}
		if err := got.Validate(); err != nil {
			t.Fatalf("ParseFaults(%q) = %+v, which does not validate: %v", spec, got, err)
		}
		again, err := ParseFaults(got.String())
		if err != nil || again != got {
			t.Fatalf("ParseFaults(%q) = %+v; its String %q parses to %+v, %v", spec, got, got.String(), again, err)
		}
	})
}
