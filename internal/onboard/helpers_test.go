package onboard

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zoomwatch/zoomwatch/internal/zoom"
	"github.com/zoomwatch/zoomwatch/internal/zoomsim"
)

// testStart is the clock at the start of each test.
var testStart = time.Date(2026, 11, 25, 15, 4, 5, 0, time.UTC)

const testSetupToken = "setup-token-0123456789abcdef"

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
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

// memCreds is an in-memory CredentialStore that records every save.
type memCreds struct {
	mu      sync.Mutex
	creds   map[string]zoom.Credentials
	saves   int
	loadErr error
	saveErr error
}

func (m *memCreds) Credentials(_ context.Context, source string) (zoom.Credentials, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.loadErr != nil {
		return zoom.Credentials{}, m.loadErr
	}
	c, ok := m.creds[source]
	if !ok {
		return zoom.Credentials{}, errors.New("no secret for source " + source)
	}
	return c, nil
}

func (m *memCreds) SaveCredentials(_ context.Context, source string, c zoom.Credentials) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.saveErr != nil {
		return m.saveErr
	}
	m.creds[source] = c
	m.saves++
	return nil
}

func (m *memCreds) get(source string) (zoom.Credentials, int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.creds[source], m.saves
}

// env is a simulator and an onboarding handler, each behind a loopback server, sharing a clock.
type env struct {
	sim      *zoomsim.Server
	simURL   string
	h        *Handler
	url      string
	clock    *fakeClock
	creds    *memCreds
	outcomes chan Outcome
}

type envOption func(*zoomsim.Config, *Config, *memCreds)

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	return newEnvOrigin(t, false, opts...)
}

// newEnvOrigin is newEnv; with sameOrigin the simulator's /oauth/ and /v2/ paths and the
// onboarding pages share one server. The browser test needs that: the simulator's consent page
// sends form-action 'self', and Chromium applies it to the redirect after the form is posted,
// so it would block the redirect to a callback on another origin.
func newEnvOrigin(t *testing.T, sameOrigin bool, opts ...envOption) *env {
	t.Helper()
	clock := &fakeClock{t: testStart}
	simCfg := zoomsim.Config{Now: clock.Now, PerSecondLimit: -1}
	creds := &memCreds{creds: map[string]zoom.Credentials{
		"main": {AuthType: zoom.AuthOAuth, ClientID: zoomsim.DefaultOAuthClientID, ClientSecret: zoomsim.DefaultOAuthClientSecret},
	}}
	e := &env{clock: clock, creds: creds, outcomes: make(chan Outcome, 10)}
	cfg := Config{
		Sources:     []string{"main", "other"},
		Credentials: creds,
		Nonces:      &MemoryNonces{Now: clock.Now},
		SetupToken:  testSetupToken,
		Key:         DeriveKey(testSetupToken),
		Now:         clock.Now,
		OnOutcome:   func(_ context.Context, o Outcome) { e.outcomes <- o },
	}
	for _, o := range opts {
		o(&simCfg, &cfg, creds)
	}
	sim, err := zoomsim.New(simCfg)
	if err != nil {
		t.Fatalf("zoomsim.New: %v", err)
	}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	simURL := srv.URL
	if sameOrigin {
		mux.Handle("/oauth/", sim)
		mux.Handle("/v2/", sim)
	} else {
		simSrv := httptest.NewServer(sim)
		t.Cleanup(simSrv.Close)
		simURL = simSrv.URL
	}
	cfg.Zoom = zoom.Config{AuthBase: simURL, APIBase: simURL + "/v2", MaxRPS: math.Inf(1), MaxRetries: -1, Now: clock.Now}
	h, err := New(cfg)
	if err != nil {
		t.Fatalf("onboard.New: %v", err)
	}
	mux.Handle("/", h)
	e.sim, e.simURL, e.h, e.url = sim, simURL, h, srv.URL
	return e
}

// browser is a cookie-keeping client that stops at every redirect, so a test can look at (and
// tamper with) each hop.
type browser struct {
	*http.Client
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{&http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       10 * time.Second,
	}}
}

type reply struct {
	status int
	header http.Header
	body   string
}

func (b *browser) get(t *testing.T, u string) reply {
	t.Helper()
	resp, err := b.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return read(t, resp)
}

func (b *browser) post(t *testing.T, u string, form url.Values) reply {
	t.Helper()
	resp, err := b.PostForm(u, form)
	if err != nil {
		t.Fatalf("POST %s: %v", u, err)
	}
	return read(t, resp)
}

func read(t *testing.T, resp *http.Response) reply {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func (e *env) startURL(source string) string {
	return StartURL(e.url, source, testSetupToken)
}

var requestIDPattern = regexp.MustCompile(`name="request_id" value="([^"]+)"`)

// authorize runs /start and answers the simulator's consent page with decision ("allow" or
// "decline"); it returns the callback URL Zoom redirected to, without following it.
func (e *env) authorize(t *testing.T, b *browser, source, decision string) string {
	t.Helper()
	start := b.get(t, e.startURL(source))
	if start.status != http.StatusFound {
		t.Fatalf("/start: status %d, want 302; body:\n%s", start.status, start.body)
	}
	consent := b.get(t, start.header.Get("Location"))
	if consent.status != http.StatusOK {
		t.Fatalf("consent page: status %d; body:\n%s", consent.status, consent.body)
	}
	m := requestIDPattern.FindStringSubmatch(consent.body)
	if m == nil {
		t.Fatalf("consent page has no request_id:\n%s", consent.body)
	}
	answer := b.post(t, e.simURL+"/oauth/authorize", url.Values{"request_id": {m[1]}, "decision": {decision}})
	if answer.status != http.StatusFound {
		t.Fatalf("consent answer: status %d; body:\n%s", answer.status, answer.body)
	}
	cb := answer.header.Get("Location")
	if !strings.HasPrefix(cb, e.url+callbackPath+"?") {
		t.Fatalf("Zoom redirected to %q, want %s%s?…", cb, e.url, callbackPath)
	}
	return cb
}

// outcome returns the Outcome the handler reported for the last callback.
func (e *env) outcome(t *testing.T) Outcome {
	t.Helper()
	select {
	case o := <-e.outcomes:
		return o
	default:
		t.Fatal("no outcome reported")
		return Outcome{}
	}
}

// withQuery returns u with key set to value.
func withQuery(t *testing.T, u, key, value string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	q := p.Query()
	q.Set(key, value)
	p.RawQuery = q.Encode()
	return p.String()
}
