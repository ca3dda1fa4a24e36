package zoomsim

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"
)

// want429 checks a 429 answer's headers and body against Zoom's.
func want429(t *testing.T, r response, kind string, limit int, retryAfter string) {
	t.Helper()
	if r.status != http.StatusTooManyRequests {
		t.Fatalf("status %d, want 429: %s", r.status, r.body)
	}
	for name, want := range map[string]string{
		"X-RateLimit-Category":  "Heavy",
		"X-RateLimit-Type":      kind,
		"X-RateLimit-Limit":     strconv.Itoa(limit),
		"X-RateLimit-Remaining": "0",
		"Retry-After":           retryAfter,
	} {
		if got := r.header.Get(name); got != want {
			t.Errorf("%s %q, want %q", name, got, want)
		}
	}
	if _, ok := r.header["Retry-After"]; !ok && retryAfter != "" {
		t.Error("no Retry-After header")
	}
	msg := msgPerSecondLimit
	if kind == RateLimitDaily {
		msg = msgDailyLimit
	}
	if e := zoomErr(t, r); e.Code != 429 || e.Message != msg {
		t.Errorf("body %s, want code 429 %q", r.body, msg)
	}
}

func TestPerSecondLimit(t *testing.T) {
	t.Parallel()
	s := newSim(t, Config{PerSecondLimit: 3})
	tok := s.s2sToken(t)
	q := url.Values{"page_size": {"1"}}
	for i := range 3 {
		if r := s.get(t, tok, "/v2/report/activities", q); r.status != 200 {
			t.Fatalf("request %d within the budget: %d %s", i+1, r.status, r.body)
		}
	}
	want429(t, s.get(t, tok, "/v2/report/operationlogs", dateQuery(testStart, testStart)), RateLimitPerSecond, 3, "1")
	// The budget refills at 3 per second: a third of a second buys one request.
	s.clock.Advance(time.Second / 3)
	if r := s.get(t, tok, "/v2/report/activities", q); r.status != 200 {
		t.Fatalf("after refill: %d %s", r.status, r.body)
	}
	want429(t, s.get(t, tok, "/v2/report/activities", q), RateLimitPerSecond, 3, "1")
	if st := s.Stats(); st.PerSecond429 != 2 || st.Daily429 != 0 || st.Injected429 != 0 {
		t.Errorf("Stats %+v, want 2 per-second 429s", st)
	}
}

func TestDailyLimit(t *testing.T) {
	t.Parallel()
	s := newSim(t, Config{DailyLimit: 3})
	tok := s.s2sToken(t)
	q := url.Values{"page_size": {"1"}}
	for i := range 3 {
		r := s.get(t, tok, "/v2/report/activities", q)
		if r.status != 200 {
			t.Fatalf("request %d within the budget: %d %s", i+1, r.status, r.body)
		}
		if got, want := r.header.Get("X-RateLimit-Remaining"), strconv.Itoa(2-i); got != want {
			t.Errorf("request %d: X-RateLimit-Remaining %q, want %q", i+1, got, want)
		}
	}
	midnight := testStart.Truncate(24 * time.Hour).Add(24 * time.Hour).Format(time.RFC3339)
	want429(t, s.get(t, tok, "/v2/report/activities", q), RateLimitDaily, 3, midnight)
	s.clock.Advance(5 * time.Minute)
	want429(t, s.get(t, tok, "/v2/report/activities", q), RateLimitDaily, 3, midnight)
	// The budget resets at UTC midnight (with a fresh access token: the old one has expired).
	s.clock.Advance(testStart.Truncate(24 * time.Hour).Add(24 * time.Hour).Sub(s.clock.Now()))
	tok = s.s2sToken(t)
	if r := s.get(t, tok, "/v2/report/activities", q); r.status != 200 {
		t.Fatalf("after midnight: %d %s", r.status, r.body)
	}
	if st := s.Stats(); st.Daily429 != 2 || st.PerSecond429 != 0 {
		t.Errorf("Stats %+v, want 2 daily 429s", st)
	}
}

func TestLimitsDisabled(t *testing.T) {
	t.Parallel()
	s := newSim(t, Config{PerSecondLimit: -1, DailyLimit: -1})
	tok := s.s2sToken(t)
	for i := range 50 {
		if r := s.get(t, tok, "/v2/report/activities", url.Values{"page_size": {"1"}}); r.status != 200 {
			t.Fatalf("request %d: %d %s", i+1, r.status, r.body)
		}
	}
}
