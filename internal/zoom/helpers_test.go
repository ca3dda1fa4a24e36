package zoom

import (
	"context"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// fakeClock is a clock whose Sleep advances time instead of waiting.
type fakeClock struct {
	mu     sync.Mutex
	t      time.Time
	sleeps []time.Duration
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)}
}

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

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	if d > 0 {
		c.t = c.t.Add(d)
	}
	return nil
}

func (c *fakeClock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// TotalSlept sums the waits, whatever asked for them (limiter, backoff, Retry-After).
func (c *fakeClock) TotalSlept() time.Duration {
	var sum time.Duration
	for _, d := range c.Sleeps() {
		sum += d
	}
	return sum
}

// testConfig points a Config at srv with a fake clock and no client-side rate limit, so every
// recorded sleep is a backoff or a Retry-After.
func testConfig(t *testing.T, srvURL string, clock *fakeClock) Config {
	t.Helper()
	return Config{
		APIBase:    srvURL + "/v2",
		AuthBase:   srvURL,
		MaxRPS:     math.Inf(1),
		Timeout:    5 * time.Second,
		MaxRetries: 3,
		Now:        clock.Now,
		Sleep:      clock.Sleep,
		Logger:     testLogger(t),
	}
}

// testLogger writes to the test log, so a failing test shows what the client logged, and
// checks that nothing logged carries a secret.
func testLogger(t *testing.T) *slog.Logger {
	t.Helper()
	return slog.New(slog.NewJSONHandler(&secretCheckWriter{t: t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// secretsInTests are the credential values the tests use; none may reach a log or an error.
var secretsInTests = []string{testToken, "eyJhbGciOiJIUzUxMiJ9", "sim-s2s-secret", "sim-oauth-secret", "client-secret-XYZ", "refresh-", "access-", "Bearer "}

type secretCheckWriter struct{ t *testing.T }

func (w *secretCheckWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Logf("log: %s", strings.TrimSpace(string(p)))
	assertNoSecret(w.t, "log line", string(p))
	return len(p), nil
}

func assertNoSecret(t *testing.T, what, s string) {
	t.Helper()
	for _, sec := range secretsInTests {
		if strings.Contains(s, sec) {
			t.Errorf("%s contains secret %q: %s", what, sec, s)
		}
	}
}

const testToken = "tok-SECRET-0123456789"

// tokenList is a token source handing out access tokens in order, one per Invalidate.
type tokenList struct {
	mu          sync.Mutex
	tokens      []string
	i           int
	invalidated int
}

func (l *tokenList) Token() (*oauth2.Token, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return &oauth2.Token{AccessToken: l.tokens[min(l.i, len(l.tokens)-1)], TokenType: "Bearer"}, nil
}

func (l *tokenList) Invalidate(tok *oauth2.Token) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if tok.AccessToken == l.tokens[min(l.i, len(l.tokens)-1)] {
		l.i++
	}
	l.invalidated++
}

// script serves its responders in order, repeating the last, and records each request.
type script struct {
	mu       sync.Mutex
	steps    []http.HandlerFunc
	requests []*http.Request
	clock    *fakeClock
	times    []time.Time
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	i := len(s.requests)
	s.requests = append(s.requests, r.Clone(context.Background()))
	if s.clock != nil {
		s.times = append(s.times, s.clock.Now())
	}
	step := s.steps[min(i, len(s.steps)-1)]
	s.mu.Unlock()
	step(w, r)
}

func (s *script) Requests() []*http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*http.Request(nil), s.requests...)
}

func serve(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// respond answers with status, headers (name, value pairs) and body.
func respond(status int, body string, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}
