package zoom

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/zoomwatch/zoomwatch/internal/event"
	"github.com/zoomwatch/zoomwatch/internal/zoomsim"
)

// These tests run the client against the Zoom simulator (internal/zoomsim), which follows
// Zoom's documented behaviour: the client and the simulator share the fake clock, so token
// lifetimes, page-token expiry, Retry-After and backoff all play out without real waiting.

// simEnv is a simulator on a loopback server, and a client Config pointing at it.
type simEnv struct {
	sim   *zoomsim.Server
	clock *fakeClock
	cfg   Config
}

func newSimEnv(t *testing.T, sc zoomsim.Config) *simEnv {
	t.Helper()
	clock := newClock()
	sc.Now = clock.Now
	if sc.PerSecondLimit == 0 {
		sc.PerSecondLimit = -1
	}
	if sc.HistoryDays == 0 {
		sc.HistoryDays = 20
	}
	sim, err := zoomsim.New(sc)
	if err != nil {
		t.Fatal(err)
	}
	srv := serve(t, sim)
	cfg := testConfig(t, srv.URL, clock)
	cfg.PageSize = 50
	return &simEnv{sim: sim, clock: clock, cfg: cfg}
}

func (e *simEnv) s2s() Credentials {
	c := e.sim.Config()
	return Credentials{AuthType: AuthS2S, ClientID: c.ClientID, ClientSecret: Secret(c.ClientSecret), AccountID: c.AccountID}
}

func (e *simEnv) client(t *testing.T, creds Credentials, store TokenStore) *Client {
	t.Helper()
	ts, err := NewTokenSource(context.Background(), e.cfg, creds, store)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(e.cfg, ts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// window is the last days of history up to the clock, as whole UTC days.
func (e *simEnv) window(days int) (from, to time.Time) {
	to = e.clock.Now().UTC().Truncate(24 * time.Hour)
	return to.AddDate(0, 0, -(days - 1)), to
}

// truth is what the simulator shows for lt between from and to (whole days) at the clock.
func (e *simEnv) truth(t *testing.T, lt event.LogType, from, to time.Time) []string {
	t.Helper()
	var out []string
	for _, r := range e.sim.Records(string(lt), e.clock.Now()) {
		var v struct {
			Time time.Time `json:"time"`
		}
		if err := json.Unmarshal(r, &v); err != nil {
			t.Fatal(err)
		}
		if !v.Time.Before(from) && v.Time.Before(to.Add(24*time.Hour)) {
			out = append(out, string(r))
		}
	}
	return out
}

func wantSameRecords(t *testing.T, got, want []string) {
	t.Helper()
	if len(want) == 0 {
		t.Fatal("ground truth is empty: the test would prove nothing")
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %d records, want the simulator's %d (first difference at %d)", len(got), len(want), firstDiff(got, want))
	}
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func TestSimServerToServer(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t, zoomsim.Config{})
	c := e.client(t, e.s2s(), nil)
	from, to := e.window(7)
	for _, lt := range []event.LogType{event.Operation, event.Activity} {
		got, err := collect(context.Background(), c, lt, from, to)
		if err != nil {
			t.Fatalf("%s: %v", lt, err)
		}
		wantSameRecords(t, got, e.truth(t, lt, from, to))
	}
	st := e.sim.Stats()
	if st.TokensIssued != 1 || st.ReportPages < 4 {
		t.Errorf("Stats %+v: want one token reused over several pages", st)
	}
	// The token is replaced before its hour is up, never used expired.
	e.clock.Advance(time.Hour - TokenExpiryMargin + time.Second)
	if _, err := collect(context.Background(), c, event.Activity, to, to); err != nil {
		t.Fatal(err)
	}
	if st := e.sim.Stats(); st.TokensIssued != 2 || st.Unauthorized != 0 {
		t.Errorf("after 55 minutes: Stats %+v, want a second token and no 401", st)
	}
}

func TestSimServerToServerRejected(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t, zoomsim.Config{})
	for name, creds := range map[string]Credentials{
		"wrong secret": func() Credentials { c := e.s2s(); c.ClientSecret = "not-the-secret"; return c }(),
		"wrong client": func() Credentials { c := e.s2s(); c.ClientID = "someone-else"; return c }(),
	} {
		t.Run(name, func(t *testing.T) {
			from, to := e.window(1)
			_, err := collect(context.Background(), e.client(t, creds, nil), event.Activity, from, to)
			var ae *AuthError
			if !errors.As(err, &ae) || ae.OAuthError != "invalid_client" || KindOf(err) != KindAuth {
				t.Fatalf("error %v (%T), want an AuthError with invalid_client", err, err)
			}
			assertNoSecret(t, "error", err.Error())
		})
	}
}

// authorizeInSim walks the simulator's consent page the way an admin's browser would and
// returns the authorization code.
func authorizeInSim(t *testing.T, authURL string) string {
	t.Helper()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="request_id" value="([^"]+)"`).FindSubmatch(body)
	if resp.StatusCode != 200 || m == nil {
		t.Fatalf("consent page: %d %s", resp.StatusCode, body)
	}
	u, _ := url.Parse(authURL)
	u.RawQuery = ""
	resp, err = noRedirect.PostForm(u.String(), url.Values{"request_id": {string(m[1])}, "decision": {"allow"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("consent answer %d, Location %q: no code", resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc.Query().Get("code")
}

// TestSimAuthorizationCodeAndRotation: authorize with PKCE, exchange the code, then read
// reports through the rotating source across several token lifetimes. Each refresh token is
// saved before its access token is used, and every refresh token used once is dead.
func TestSimAuthorizationCodeAndRotation(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t, zoomsim.Config{})
	sc := e.sim.Config()
	const redirect = "http://127.0.0.1:8765/callback"
	verifier := oauth2.GenerateVerifier()
	authURL, err := AuthCodeURL(e.cfg, sc.OAuthClientID, redirect, "state-1", verifier)
	if err != nil {
		t.Fatal(err)
	}
	code := authorizeInSim(t, authURL)
	ctx := context.Background()

	// A wrong verifier is a rejected grant (and uses the code up, as Zoom does).
	if _, err := ExchangeCode(ctx, e.cfg, sc.OAuthClientID, Secret(sc.OAuthClientSecret), code, redirect, oauth2.GenerateVerifier()); KindOf(err) != KindGrantRejected {
		t.Fatalf("exchange with a wrong verifier: %v, want a GrantRejectedError", err)
	}
	code = authorizeInSim(t, authURL)
	tok, err := ExchangeCode(ctx, e.cfg, sc.OAuthClientID, Secret(sc.OAuthClientSecret), code, redirect, verifier)
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if _, err := ExchangeCode(ctx, e.cfg, sc.OAuthClientID, Secret(sc.OAuthClientSecret), code, redirect, verifier); KindOf(err) != KindGrantRejected {
		t.Fatalf("second exchange of one code: %v, want a GrantRejectedError", err)
	}
	if _, err := ExchangeCode(ctx, e.cfg, sc.OAuthClientID, "wrong-secret", code, redirect, verifier); KindOf(err) != KindAuth {
		t.Fatalf("exchange with a wrong secret: %v, want an AuthError", err)
	}

	// Start from the refresh token only, as a new process would.
	creds := Credentials{AuthType: AuthOAuth, ClientID: sc.OAuthClientID, ClientSecret: Secret(sc.OAuthClientSecret), RefreshToken: Secret(tok.RefreshToken)}
	used := []string{tok.RefreshToken}
	store := &memStore{}
	reportsBeforeSave := -1
	store.onSave = func(*oauth2.Token) { reportsBeforeSave = e.sim.Stats().ReportRequests }
	c := e.client(t, creds, store)
	from, to := e.window(3)
	for round := range 3 {
		before := e.sim.Stats().ReportRequests
		got, err := collect(ctx, c, event.Operation, from, to)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		wantSameRecords(t, got, e.truth(t, event.Operation, from, to))
		saved := store.last()
		if saved == nil || saved.RefreshToken == used[len(used)-1] {
			t.Fatalf("round %d: no new refresh token saved", round)
		}
		if reportsBeforeSave != before {
			t.Errorf("round %d: the new token was saved after %d report requests, want before any", round, reportsBeforeSave-before)
		}
		used = append(used, saved.RefreshToken)
		e.clock.Advance(time.Hour)
	}
	if st := e.sim.Stats(); st.Refreshes != 3 || st.RejectedRefreshTokens != 0 {
		t.Errorf("Stats %+v: want 3 refreshes, none rejected", st)
	}
	// Every refresh token but the last was retired by rotation; a source holding one fails
	// with a typed, final error.
	for i, old := range used[:len(used)-1] {
		stale := creds
		stale.RefreshToken = Secret(old)
		_, err := collect(ctx, e.client(t, stale, &memStore{}), event.Activity, to, to)
		var ge *GrantRejectedError
		if !errors.As(err, &ge) || ge.OAuthError != "invalid_grant" || ge.Reason != "Invalid Token!" || KindOf(err) != KindGrantRejected {
			t.Errorf("refresh token %d after rotation: %v, want GrantRejectedError invalid_grant \"Invalid Token!\"", i, err)
		}
		assertNoSecret(t, "error", err.Error())
		if strings.Contains(err.Error(), old) {
			t.Errorf("error names the refresh token: %v", err)
		}
	}
	// The latest one still works: the rejected attempts did not burn it.
	if _, err := collect(ctx, e.client(t, Credentials{AuthType: AuthOAuth, ClientID: sc.OAuthClientID, ClientSecret: Secret(sc.OAuthClientSecret), RefreshToken: Secret(used[len(used)-1])}, &memStore{}), event.Activity, to, to); err != nil {
		t.Errorf("latest refresh token: %v", err)
	}
}

// TestSimPaginationAndPageTokenExpiry reads many pages, with page tokens that expire (by
// time, and by the simulator's fault), and checks nothing is lost.
func TestSimPaginationAndPageTokenExpiry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		faults zoomsim.Faults
		// slowConsumer advances the clock past the 15-minute token life on the first page.
		slowConsumer bool
		restarts     int
	}{
		{name: "plain paging"},
		{name: "page token expired by the clock", slowConsumer: true, restarts: 1},
		{name: "page token refused by Zoom", faults: zoomsim.Faults{ExpirePageTokens: true}, restarts: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newSimEnv(t, zoomsim.Config{})
			e.cfg.PageSize = 25
			c := e.client(t, e.s2s(), nil)
			e.sim.SetFaults(tc.faults)
			from, to := e.window(10)
			var got []string
			pages := 0
			err := c.Pages(context.Background(), event.Operation, from, to, func(recs []json.RawMessage) error {
				pages++
				if tc.slowConsumer && pages == 1 {
					e.clock.Advance(15*time.Minute + time.Second)
				}
				for _, r := range recs {
					got = append(got, string(r))
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			// At the clock after paging: a restarted window also shows what arrived meanwhile.
			want := e.truth(t, event.Operation, from, to)
			// A restart serves the first pages again; the caller dedupes. Nothing may be missing.
			seen := map[string]int{}
			for _, r := range got {
				seen[r]++
			}
			for _, r := range want {
				if seen[r] == 0 {
					t.Fatalf("record missing after %d restarts: %s", tc.restarts, r)
				}
			}
			if len(seen) != len(want) {
				t.Errorf("%d distinct records, want %d", len(seen), len(want))
			}
			if st := e.sim.Stats(); st.PageTokensRejected != tc.restarts {
				t.Errorf("page tokens rejected %d, want %d", st.PageTokensRejected, tc.restarts)
			}
			if pages < len(want)/25 {
				t.Errorf("%d pages for %d records of 25 a page", pages, len(want))
			}
		})
	}
}

// TestSimMonthWindowSplitting reads 90 days as SplitWindows cuts them; the simulator refuses
// any request over a month, and the union is the whole history.
func TestSimMonthWindowSplitting(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t, zoomsim.Config{HistoryDays: 90})
	e.cfg.PageSize = 300
	c := e.client(t, e.s2s(), nil)
	from, to := e.window(91)
	windows := SplitWindows(from, to, MaxWindowDays)
	if len(windows) != 4 {
		t.Fatalf("%d windows for 91 days, want 4", len(windows))
	}
	var got []string
	for _, w := range slices.Backward(windows) { // newest first, as Zoom orders records
		recs, err := collect(context.Background(), c, event.Activity, w.From, w.To)
		if err != nil {
			t.Fatalf("window %s..%s: %v", day(w.From), day(w.To), err)
		}
		got = append(got, recs...)
	}
	wantSameRecords(t, got, e.truth(t, event.Activity, from, to))
	if st := e.sim.Stats(); st.ValidationErrors != 0 {
		t.Errorf("the simulator refused %d requests", st.ValidationErrors)
	}
	// The same range in one request is refused before it is sent.
	if err := c.Pages(context.Background(), event.Activity, from, to, func([]json.RawMessage) error { return nil }); KindOf(err) != KindBadWindow {
		t.Errorf("91 days at once: %v, want a WindowError", err)
	}
}

// TestSimRateLimits: per-second 429s with Retry-After in seconds, as a timestamp, or missing
// are waited out; the daily limit is returned at once, typed, with its reset time.
func TestSimRateLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		sc     zoomsim.Config
		faults zoomsim.Faults
		check  func(t *testing.T, err error, e *simEnv)
	}{
		{name: "retry-after seconds", faults: zoomsim.Faults{Burst429: 2, RetryAfter: zoomsim.RetryAfterSeconds},
			check: func(t *testing.T, err error, e *simEnv) {
				if err != nil {
					t.Fatal(err)
				}
				if s := e.clock.Sleeps(); !slices.Equal(s[:2], []time.Duration{time.Second, time.Second}) {
					t.Errorf("sleeps %v, want 1s twice first", s)
				}
			}},
		{name: "retry-after timestamp", faults: zoomsim.Faults{Burst429: 2, RetryAfter: zoomsim.RetryAfterTimestamp},
			check: func(t *testing.T, err error, e *simEnv) {
				if err != nil {
					t.Fatal(err)
				}
				s := e.clock.Sleeps()
				if len(s) < 2 || s[0] <= 0 || s[0] > time.Second || s[1] <= 0 || s[1] > time.Second {
					t.Errorf("sleeps %v, want two waits until the stamped second", s)
				}
			}},
		{name: "no retry-after backs off", faults: zoomsim.Faults{Burst429: 2, RetryAfter: zoomsim.RetryAfterNone},
			check: func(t *testing.T, err error, e *simEnv) {
				if err != nil {
					t.Fatal(err)
				}
				if s := e.clock.Sleeps(); len(s) < 2 || s[0] > backoffBase || s[1] > 2*backoffBase {
					t.Errorf("sleeps %v, want jittered backoff under %s then %s", s, backoffBase, 2*backoffBase)
				}
			}},
		{name: "per-second limit outlasting the retries", faults: zoomsim.Faults{Burst429: 50},
			check: func(t *testing.T, err error, e *simEnv) {
				var rl *RateLimitError
				if !errors.As(err, &rl) || rl.Daily || rl.Type != zoomsim.RateLimitPerSecond || KindOf(err) != KindRateLimit {
					t.Fatalf("error %v, want a per-second RateLimitError", err)
				}
				if got := e.sim.Stats().ReportRequests; got != 4 {
					t.Errorf("%d requests, want 1 + 3 retries", got)
				}
			}},
		{name: "real per-second limit", sc: zoomsim.Config{PerSecondLimit: 2},
			check: func(t *testing.T, err error, e *simEnv) {
				if err != nil {
					t.Fatal(err)
				}
				if st := e.sim.Stats(); st.PerSecond429 == 0 {
					t.Errorf("Stats %+v: the test never hit the limit", st)
				}
			}},
		{name: "daily limit", faults: zoomsim.Faults{DailyLimitExhausted: true},
			check: func(t *testing.T, err error, e *simEnv) {
				var rl *RateLimitError
				if !errors.As(err, &rl) || !rl.Daily || KindOf(err) != KindDailyLimit {
					t.Fatalf("error %v, want a daily RateLimitError", err)
				}
				midnight := e.clock.Now().UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
				if !rl.RetryAt.Equal(midnight) {
					t.Errorf("RetryAt %s, want the next UTC midnight %s", rl.RetryAt, midnight)
				}
				if got := e.sim.Stats().ReportRequests; got != 1 || len(e.clock.Sleeps()) != 0 {
					t.Errorf("%d requests and sleeps %v: the daily limit must not be retried", got, e.clock.Sleeps())
				}
			}},
		{name: "real daily limit", sc: zoomsim.Config{DailyLimit: 2},
			check: func(t *testing.T, err error, e *simEnv) {
				if KindOf(err) != KindDailyLimit {
					t.Fatalf("error %v, want the daily limit", err)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newSimEnv(t, tc.sc)
			e.cfg.PageSize = 20
			c := e.client(t, e.s2s(), nil)
			e.sim.SetFaults(tc.faults)
			from, to := e.window(2)
			got, err := collect(context.Background(), c, event.Activity, from, to)
			if err == nil {
				wantSameRecords(t, got, e.truth(t, event.Activity, from, to))
			}
			tc.check(t, err, e)
		})
	}
}

// TestSimDamagedBodies: truncated JSON, HTML error pages and empty 5xx bodies are retried, and
// when they persist the error names the endpoint and status, never "no events".
func TestSimDamagedBodies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		faults  zoomsim.Faults
		problem string
	}{
		{"truncated", zoomsim.Faults{TruncateRate: 1}, "truncated"},
		{"html", zoomsim.Faults{HTMLRate: 1}, "server error"},
		{"5xx with and without a body", zoomsim.Faults{ServerErrorRate: 1}, "server error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newSimEnv(t, zoomsim.Config{})
			c := e.client(t, e.s2s(), nil)
			e.sim.SetFaults(tc.faults)
			from, to := e.window(2)
			called := false
			err := c.Pages(context.Background(), event.Operation, from, to, func([]json.RawMessage) error { called = true; return nil })
			var re *ResponseError
			if !errors.As(err, &re) || KindOf(err) != KindBadResponse {
				t.Fatalf("error %v (%T), want a ResponseError", err, err)
			}
			if called {
				t.Error("a damaged page reached the callback")
			}
			msg := err.Error()
			if !strings.Contains(msg, "/report/operationlogs") || !strings.Contains(msg, "HTTP ") || !strings.Contains(msg, tc.problem) {
				t.Errorf("error %q does not name the endpoint, the status and %q", msg, tc.problem)
			}
			if got := e.sim.Stats().ReportRequests; got != 4 {
				t.Errorf("%d requests, want 1 + 3 retries", got)
			}
		})
	}
	t.Run("recovers when the damage stops", func(t *testing.T) {
		t.Parallel()
		e := newSimEnv(t, zoomsim.Config{})
		c := e.client(t, e.s2s(), nil)
		e.sim.SetFaults(zoomsim.Faults{ServerErrorRate: 0.3, TruncateRate: 0.2, HTMLRate: 0.1})
		e.cfg.MaxRetries = 10
		c, _ = New(e.cfg, c.ts)
		from, to := e.window(5)
		got, err := collect(context.Background(), c, event.Operation, from, to)
		if err != nil {
			t.Fatal(err)
		}
		wantSameRecords(t, got, e.truth(t, event.Operation, from, to))
		if st := e.sim.Stats(); st.ServerErrors+st.Truncated == 0 {
			t.Errorf("Stats %+v: no fault happened", st)
		}
	})
}

// staticSource hands out one fixed access token and cannot replace it.
type staticSource struct{ tok string }

func (s staticSource) Token() (*oauth2.Token, error) {
	return &oauth2.Token{AccessToken: s.tok, TokenType: "Bearer"}, nil
}

// TestSimTypedErrors: the Zoom codes callers branch on come back as their typed errors.
func TestSimTypedErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		sc    zoomsim.Config
		setup func(t *testing.T, e *simEnv) *Client
		check func(t *testing.T, err error)
	}{
		{name: "124 invalid token", setup: func(t *testing.T, e *simEnv) *Client {
			c, err := New(e.cfg, staticSource{"not-a-zoom-token"})
			if err != nil {
				t.Fatal(err)
			}
			return c
		}, check: func(t *testing.T, err error) {
			var ae *AuthError
			if !errors.As(err, &ae) || ae.Code != 124 || ae.Status != 401 || KindOf(err) != KindAuth {
				t.Fatalf("error %v, want AuthError code 124", err)
			}
		}},
		{name: "124 on a revoked token is recovered once", setup: func(t *testing.T, e *simEnv) *Client {
			c := e.client(t, e.s2s(), nil)
			if _, err := c.ts.Token(); err != nil {
				t.Fatal(err)
			}
			e.sim.SetFaults(zoomsim.Faults{ExpireAccessTokens: true})
			return c
		}, check: func(t *testing.T, err error) {
			if err != nil {
				t.Fatalf("error %v, want a new token and success", err)
			}
		}},
		{name: "200 no permission", sc: zoomsim.Config{NoReportPermission: true}, check: func(t *testing.T, err error) {
			var pe *PermissionError
			if !errors.As(err, &pe) || pe.Code != 200 || pe.MissingScopes || KindOf(err) != KindPermission {
				t.Fatalf("error %v, want PermissionError code 200", err)
			}
		}},
		{name: "4700 missing scopes", sc: zoomsim.Config{Scopes: []string{"report:read:operation_logs:admin"}}, check: func(t *testing.T, err error) {
			var pe *PermissionError
			if !errors.As(err, &pe) || pe.Code != 4700 || !pe.MissingScopes || !slices.Contains(pe.Scopes, ScopeUserActivitiesRead) {
				t.Fatalf("error %v, want PermissionError code 4700 naming %s", err, ScopeUserActivitiesRead)
			}
		}},
		{name: "invalid_client", setup: func(t *testing.T, e *simEnv) *Client {
			cr := e.s2s()
			cr.ClientSecret = "wrong"
			return e.client(t, cr, nil)
		}, check: func(t *testing.T, err error) {
			var ae *AuthError
			if !errors.As(err, &ae) || ae.OAuthError != "invalid_client" {
				t.Fatalf("error %v, want AuthError invalid_client", err)
			}
		}},
		{name: "invalid_grant", setup: func(t *testing.T, e *simEnv) *Client {
			sc := e.sim.Config()
			return e.client(t, Credentials{AuthType: AuthOAuth, ClientID: sc.OAuthClientID, ClientSecret: Secret(sc.OAuthClientSecret), RefreshToken: "never-issued"}, &memStore{})
		}, check: func(t *testing.T, err error) {
			var ge *GrantRejectedError
			if !errors.As(err, &ge) || ge.OAuthError != "invalid_grant" {
				t.Fatalf("error %v, want GrantRejectedError invalid_grant", err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newSimEnv(t, tc.sc)
			var c *Client
			if tc.setup != nil {
				c = tc.setup(t, e)
			} else {
				c = e.client(t, e.s2s(), nil)
			}
			from, to := e.window(1)
			_, err := collect(context.Background(), c, event.Activity, from, to)
			tc.check(t, err)
			if err != nil {
				assertNoSecret(t, "error", err.Error())
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error spans lines: %q", err)
				}
			}
		})
	}
}

// TestSimVerify: Verify against the simulator says which report is readable and which lacks
// a scope.
func TestSimVerify(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t, zoomsim.Config{Scopes: []string{ScopeOperationLogsRead}})
	res, err := e.client(t, e.s2s(), nil).Verify(context.Background())
	if err == nil || res.OK() || len(res.Checks) != 2 {
		t.Fatalf("Verify = %+v, %v: want one failed check", res, err)
	}
	for _, chk := range res.Checks {
		want := KindOK
		if chk.LogType == event.Activity {
			want = KindPermission
		}
		if chk.Kind != want {
			t.Errorf("%s: kind %s, want %s (%s)", chk.LogType, chk.Kind, want, chk.Error)
		}
	}
}
