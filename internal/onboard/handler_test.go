package onboard

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zoomwatch/zoomwatch/internal/zoom"
	"github.com/zoomwatch/zoomwatch/internal/zoomsim"
)

// TestCallbackOutcomes runs the whole flow against the simulator for each way it can end
// after Zoom's consent page.
func TestCallbackOutcomes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		opt      envOption
		decision string
		// between runs after Zoom's redirect, before the browser follows it.
		between    func(e *env)
		want       OutcomeKind
		wantStatus int
		wantStored bool
		wantText   []string
	}{
		{
			name: "success", decision: "allow", want: Connected, wantStatus: 200, wantStored: true,
			wantText: []string{"Zoom is connected", "Operation logs", "Sign-in/sign-out activity", "Readable", "report:read:admin"},
		},
		{
			name: "access denied", decision: "decline", want: AccessDenied, wantStatus: 403,
			wantText: []string{"Access was not allowed", "Nothing was stored"},
		},
		{
			name: "expired code", decision: "allow", want: CodeRejected, wantStatus: 400,
			between:  func(e *env) { e.clock.Advance(6 * time.Minute) }, // codes live 5 minutes
			wantText: []string{"Zoom rejected the authorization code", "expired"},
		},
		{
			name: "missing scopes", decision: "allow", want: MissingScopes, wantStatus: 403, wantStored: true,
			opt:      func(s *zoomsim.Config, _ *Config, _ *memCreds) { s.Scopes = []string{} },
			wantText: []string{"missing a scope", "4700", "report:read:admin", "Not readable"},
		},
		{
			name: "one granular scope only", decision: "allow", want: MissingScopes, wantStatus: 403, wantStored: true,
			opt:      func(s *zoomsim.Config, _ *Config, _ *memCreds) { s.Scopes = []string{zoom.ScopeOperationLogsRead} },
			wantText: []string{"missing a scope", "Readable", "Not readable"},
		},
		{
			name: "no report permission", decision: "allow", want: NoReportPermission, wantStatus: 403, wantStored: true,
			opt:      func(s *zoomsim.Config, _ *Config, _ *memCreds) { s.NoReportPermission = true },
			wantText: []string{"cannot view reports", "Zoom error 200", "Roles"},
		},
		{
			name: "wrong client secret", decision: "allow", want: BadClient, wantStatus: 502,
			between: func(e *env) {
				c, _ := e.creds.get("main")
				c.ClientSecret = "not-the-secret"
				e.creds.creds["main"] = c
			},
			wantText: []string{"Client ID or Client Secret"},
		},
		{
			name: "secret not writable", decision: "allow", want: StoreFailed, wantStatus: 500,
			between:  func(e *env) { e.creds.saveErr = errors.New("AccessDeniedException") },
			wantText: []string{"could not be read or written"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var opts []envOption
			if tt.opt != nil {
				opts = append(opts, tt.opt)
			}
			e := newEnv(t, opts...)
			b := newBrowser(t)
			cb := e.authorize(t, b, "main", tt.decision)
			if tt.between != nil {
				tt.between(e)
			}
			r := b.get(t, cb)
			if r.status != tt.wantStatus {
				t.Errorf("status %d, want %d", r.status, tt.wantStatus)
			}
			o := e.outcome(t)
			if o.Kind != tt.want {
				t.Fatalf("outcome %q (err %v), want %q; page:\n%s", o.Kind, o.Err, tt.want, r.body)
			}
			if o.Source != "main" {
				t.Errorf("outcome source %q, want main", o.Source)
			}
			for _, s := range tt.wantText {
				if !strings.Contains(r.body, s) {
					t.Errorf("page lacks %q:\n%s", s, r.body)
				}
			}
			creds, saves := e.creds.get("main")
			if stored := saves > 0; stored != tt.wantStored || o.Stored() != tt.wantStored {
				t.Fatalf("stored=%v (saves %d, Outcome.Stored %v), want %v", stored, saves, o.Stored(), tt.wantStored)
			}
			if tt.wantStored {
				if err := creds.Validate(); err != nil {
					t.Errorf("stored credentials invalid: %v", err)
				}
				if creds.AuthType != zoom.AuthOAuth || creds.AccessToken.IsZero() || creds.Expiry.IsZero() {
					t.Errorf("stored credentials incomplete: %+v", creds)
				}
				assertNoSecrets(t, r.body, creds)
			}
			assertSecurityHeaders(t, r.header)
			if got := e.sim.Stats().CodesRedeemed; (tt.want == Connected) && got != 1 {
				t.Errorf("codes redeemed %d, want 1", got)
			}
		})
	}
}

// TestConnectedCounts checks that the success page shows what the simulator holds.
func TestConnectedCounts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newBrowser(t)
	r := b.get(t, e.authorize(t, b, "main", "allow"))
	o := e.outcome(t)
	if !o.OK() || len(o.Verify.Checks) != 2 {
		t.Fatalf("outcome %+v", o)
	}
	for _, c := range o.Verify.Checks {
		if c.Records == 0 {
			t.Errorf("%s: no records read; the simulated account has activity every day", c.LogType)
		}
		cell := regexp.MustCompile(`<code>` + regexp.QuoteMeta(c.Path) + `</code></th><td class="pass">Readable</td><td class="num">(\d+)`)
		m := cell.FindStringSubmatch(r.body)
		if m == nil {
			t.Fatalf("no row for %s in:\n%s", c.Path, r.body)
		}
		if want := strings.TrimSuffix(m[1], "+"); want == "" {
			t.Errorf("row for %s has no count", c.Path)
		}
	}
}

// TestStateAttacks covers callbacks that must never reach the token endpoint.
func TestStateAttacks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// tamper turns the genuine callback URL into the attacker's request; b is the victim's
		// browser (with the cookie).
		tamper     func(t *testing.T, e *env, b *browser, cb string) (*browser, string)
		want       OutcomeKind
		wantStatus int
		wantText   string
	}{
		{
			name: "forged state",
			tamper: func(t *testing.T, _ *env, b *browser, cb string) (*browser, string) {
				return b, withQuery(t, cb, "state", "eyJzb3VyY2UiOiJtYWluIn0.c2lnbmF0dXJl")
			},
			want: BadState, wantStatus: 400, wantText: "not valid",
		},
		{
			name: "missing state",
			tamper: func(t *testing.T, _ *env, b *browser, cb string) (*browser, string) {
				return b, withQuery(t, cb, "state", "")
			},
			want: BadState, wantStatus: 400,
		},
		{
			name: "state signed with another key",
			tamper: func(t *testing.T, _ *env, b *browser, cb string) (*browser, string) {
				st := state{Expiry: testStart.Add(time.Minute), Source: "main"}
				return b, withQuery(t, cb, "state", st.encode(DeriveKey("another deployment's setup token")))
			},
			want: BadState, wantStatus: 400,
		},
		{
			name: "state with a flipped payload bit",
			tamper: func(t *testing.T, _ *env, b *browser, cb string) (*browser, string) {
				u, _ := url.Parse(cb)
				s := []byte(u.Query().Get("state"))
				s[5] ^= 1
				return b, withQuery(t, cb, "state", string(s))
			},
			want: BadState, wantStatus: 400,
		},
		{
			name: "expired state",
			tamper: func(t *testing.T, e *env, b *browser, cb string) (*browser, string) {
				e.clock.Advance(DefaultStateTTL + time.Second)
				return b, cb
			},
			want: ExpiredState, wantStatus: 400, wantText: "took too long",
		},
		{
			name: "callback opened in another browser",
			tamper: func(t *testing.T, _ *env, _ *browser, cb string) (*browser, string) {
				return newBrowser(t), cb
			},
			want: OtherBrowser, wantStatus: 400, wantText: "browser you started in",
		},
		{
			name: "attacker's own code with the victim's state",
			tamper: func(t *testing.T, e *env, b *browser, cb string) (*browser, string) {
				// The attacker authorizes in their browser and swaps in their code: PKCE binds
				// the code to the attacker's verifier, so the exchange fails.
				ab := newBrowser(t)
				acb := e.authorize(t, ab, "main", "allow")
				au, _ := url.Parse(acb)
				return b, withQuery(t, cb, "code", au.Query().Get("code"))
			},
			want: CodeRejected, wantStatus: 400,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := newBrowser(t)
			cb := e.authorize(t, b, "main", "allow")
			who, u := tt.tamper(t, e, b, cb)
			r := who.get(t, u)
			if r.status != tt.wantStatus {
				t.Errorf("status %d, want %d", r.status, tt.wantStatus)
			}
			o := e.outcome(t)
			if o.Kind != tt.want {
				t.Fatalf("outcome %q (%v), want %q; page:\n%s", o.Kind, o.Err, tt.want, r.body)
			}
			if !strings.Contains(r.body, tt.wantText) {
				t.Errorf("page lacks %q:\n%s", tt.wantText, r.body)
			}
			if _, saves := e.creds.get("main"); saves != 0 {
				t.Errorf("credentials saved %d times, want 0", saves)
			}
			if tt.want != CodeRejected && e.sim.Stats().CodesRedeemed != 0 {
				t.Errorf("a code was redeemed although the state was refused")
			}
		})
	}
}

// TestReplayedState replays a callback that already connected, cookie and all (a captured
// browser, or the back button): the state is single-use.
func TestReplayedState(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newBrowser(t)
	cb := e.authorize(t, b, "main", "allow")
	cookies := b.Jar.Cookies(mustURL(t, e.url))
	if len(cookies) != 1 {
		t.Fatalf("browser holds %d cookies after /start, want 1", len(cookies))
	}
	if r := b.get(t, cb); r.status != 200 {
		t.Fatalf("first callback: status %d:\n%s", r.status, r.body)
	}
	if o := e.outcome(t); o.Kind != Connected {
		t.Fatalf("first callback: %q", o.Kind)
	}
	if left := b.Jar.Cookies(mustURL(t, e.url)); len(left) != 0 {
		t.Errorf("binding cookie not cleared after the callback: %v", left)
	}
	b.Jar.SetCookies(mustURL(t, e.url), cookies)
	r := b.get(t, cb)
	if o := e.outcome(t); o.Kind != ReplayedState || r.status != 400 || !strings.Contains(r.body, "already used") {
		t.Fatalf("replay: outcome %q status %d:\n%s", o.Kind, r.status, r.body)
	}
	if _, saves := e.creds.get("main"); saves != 1 {
		t.Errorf("saves %d, want 1 (the replay must store nothing)", saves)
	}
}

// TestZoomErrorRedirect covers error redirects other than access_denied, and that a crafted
// error parameter cannot put prose on the page.
func TestZoomErrorRedirect(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newBrowser(t)
	cb := e.authorize(t, b, "main", "allow")
	u := withQuery(t, cb, "code", "")
	u = withQuery(t, u, "error", "server_error<script>Call +1 555 0100 now</script>")
	r := b.get(t, u)
	o := e.outcome(t)
	if o.Kind != ZoomRefused || r.status != http.StatusBadGateway {
		t.Fatalf("outcome %q status %d", o.Kind, r.status)
	}
	if o.ZoomError != "unrecognized error" {
		t.Errorf("ZoomError %q", o.ZoomError)
	}
	if strings.Contains(r.body, "<script>") || strings.Contains(r.body, "555") {
		t.Errorf("page echoes the crafted error:\n%s", r.body)
	}
}

// TestStart covers /start's checks and the authorization request it builds.
func TestStart(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(_ *zoomsim.Config, _ *Config, c *memCreds) {
		c.creds["other"] = zoom.Credentials{AuthType: zoom.AuthOAuth}
	})
	tests := []struct {
		name       string
		query      url.Values
		want       OutcomeKind
		wantStatus int
	}{
		{"no setup token", url.Values{"source": {"main"}}, BadSetupToken, 403},
		{"wrong setup token", url.Values{"source": {"main"}, "setup": {"setup-token-0123456789abcdeX"}}, BadSetupToken, 403},
		{"setup token prefix", url.Values{"source": {"main"}, "setup": {testSetupToken[:20]}}, BadSetupToken, 403},
		{"setup token with suffix", url.Values{"source": {"main"}, "setup": {testSetupToken + "x"}}, BadSetupToken, 403},
		{"unknown source", url.Values{"source": {"nope"}, "setup": {testSetupToken}}, UnknownSource, 404},
		{"source without client credentials", url.Values{"source": {"other"}, "setup": {testSetupToken}}, NotConfigured, 409},
		{"ok", url.Values{"source": {"main"}, "setup": {testSetupToken}}, "", 302},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBrowser(t)
			r := b.get(t, e.url+startPath+"?"+tt.query.Encode())
			if r.status != tt.wantStatus {
				t.Fatalf("status %d, want %d:\n%s", r.status, tt.wantStatus, r.body)
			}
			assertSecurityHeaders(t, r.header)
			if tt.want != "" {
				if loc := r.header.Get("Location"); loc != "" {
					t.Errorf("refused /start redirects to %q", loc)
				}
				if c := r.header.Get("Set-Cookie"); c != "" {
					t.Errorf("refused /start sets a cookie: %q", c)
				}
				if !strings.Contains(r.body, "<code>"+string(tt.want)+"</code>") {
					t.Errorf("page is not the %s page:\n%s", tt.want, r.body)
				}
				if strings.Contains(r.body, testSetupToken) {
					t.Error("page shows the setup token")
				}
				return
			}
			checkAuthorizeRequest(t, e, r)
		})
	}
}

// checkAuthorizeRequest checks /start's redirect to Zoom and its cookie.
func checkAuthorizeRequest(t *testing.T, e *env, r reply) {
	t.Helper()
	loc, err := url.Parse(r.header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	q := loc.Query()
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != e.simURL+"/oauth/authorize" {
		t.Errorf("redirects to %s", got)
	}
	for k, want := range map[string]string{
		"response_type": "code", "client_id": zoomsim.DefaultOAuthClientID,
		"redirect_uri": e.url + callbackPath, "code_challenge_method": "S256",
	} {
		if q.Get(k) != want {
			t.Errorf("%s=%q, want %q", k, q.Get(k), want)
		}
	}
	st, err := decodeState(DeriveKey(testSetupToken), q.Get("state"))
	if err != nil {
		t.Fatalf("state does not verify: %v", err)
	}
	if st.Source != "main" || !st.Expiry.Equal(testStart.Add(DefaultStateTTL)) {
		t.Errorf("state = source %q expiry %s", st.Source, st.Expiry)
	}
	cookies := (&http.Response{Header: r.header}).Cookies()
	if len(cookies) != 1 {
		t.Fatalf("Set-Cookie: %v", r.header.Values("Set-Cookie"))
	}
	c := cookies[0]
	if c.Name != cookiePlain || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.MaxAge != int(DefaultStateTTL/time.Second) {
		t.Errorf("cookie %+v", c)
	}
	if !st.boundTo(c.Value) {
		t.Error("state is not bound to the cookie")
	}
	verifier := pkceVerifier(DeriveKey(testSetupToken), st.Nonce, c.Value)
	sum := sha256.Sum256([]byte(verifier))
	if q.Get("code_challenge") != base64.RawURLEncoding.EncodeToString(sum[:]) {
		t.Error("code_challenge is not S256 of the derived verifier")
	}
	if strings.Contains(loc.String(), verifier) || strings.Contains(loc.String(), c.Value) {
		t.Error("the authorize URL carries the verifier or the cookie")
	}
}

// TestMethodsAndPaths covers everything that is not the happy path's GETs.
func TestMethodsAndPaths(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct {
		method, path string
		wantStatus   int
		wantText     string
	}{
		{"GET", "/", 200, e.url + callbackPath},
		{"HEAD", "/", 200, ""},
		{"POST", "/callback", 405, ""},
		{"HEAD", "/start", 405, ""},
		{"GET", "/favicon.ico", 404, "Page not found"},
		{"GET", "/callback", 400, "not valid"},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, e.url+tt.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r := read(t, resp)
		if r.status != tt.wantStatus || !strings.Contains(r.body, tt.wantText) {
			t.Errorf("%s %s: status %d, want %d with %q:\n%s", tt.method, tt.path, r.status, tt.wantStatus, tt.wantText, r.body)
		}
		assertSecurityHeaders(t, r.header)
	}
	<-e.outcomes // GET /callback reported its bad state
}

func TestRedirectURLFromHost(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct {
		host    string
		tls     bool
		want    string
		wantErr bool
	}{
		{"abc.lambda-url.eu-west-1.on.aws", false, "https://abc.lambda-url.eu-west-1.on.aws/callback", false},
		{"127.0.0.1:8976", false, "http://127.0.0.1:8976/callback", false},
		{"localhost:8976", true, "https://localhost:8976/callback", false},
		{"[::1]:8976", false, "http://[::1]:8976/callback", false},
		{"evil.example/x?", false, "", true},
		{"", false, "", true},
	}
	for _, tt := range tests {
		r := &http.Request{Host: tt.host, URL: &url.URL{Path: "/"}}
		if tt.tls {
			r.TLS = &tls.ConnectionState{}
		}
		got, err := e.h.redirectURL(r)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("host %q: %q, %v; want %q", tt.host, got, err, tt.want)
		}
	}
}

func TestMemoryNonces(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: testStart}
	m := &MemoryNonces{Now: clock.Now}
	ctx := context.Background()
	exp := testStart.Add(time.Minute)
	for i, want := range []bool{true, false, false} {
		if fresh, err := m.Consume(ctx, "n1", exp); err != nil || fresh != want {
			t.Fatalf("consume %d: fresh=%v err=%v, want %v", i, fresh, err, want)
		}
	}
	if fresh, _ := m.Consume(ctx, "n2", exp); !fresh {
		t.Fatal("another nonce is not fresh")
	}
	clock.Advance(2 * time.Minute)
	m.Consume(ctx, "n3", clock.Now().Add(time.Minute))
	if len(m.seen) != 1 {
		t.Errorf("expired nonces kept: %d entries", len(m.seen))
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	good := Config{
		Sources: []string{"main"}, Credentials: &memCreds{}, Nonces: &MemoryNonces{},
		SetupToken: testSetupToken, Key: DeriveKey(testSetupToken),
	}
	if err := good.Validate(); err != nil {
		t.Fatalf("good config: %v", err)
	}
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"bad source id", func(c *Config) { c.Sources = []string{"a/b"} }, "source id"},
		{"no credentials", func(c *Config) { c.Credentials = nil }, "credential store"},
		{"no nonces", func(c *Config) { c.Nonces = nil }, "nonce store"},
		{"short setup token", func(c *Config) { c.SetupToken = "short" }, "setup token"},
		{"short key", func(c *Config) { c.Key = []byte("k") }, "key is shorter"},
		{"http redirect off loopback", func(c *Config) { c.RedirectURL = "http://example.com/callback" }, "https"},
		{"redirect to another path", func(c *Config) { c.RedirectURL = "https://example.com/cb" }, "/callback"},
		{"ttl too long", func(c *Config) { c.StateTTL = 2 * time.Hour }, "state TTL"},
		{"bad zoom base", func(c *Config) { c.Zoom.AuthBase = "ftp://x" }, "AuthBase"},
	}
	for _, tt := range tests {
		c := good
		tt.mutate(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error with %q", tt.name, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), testSetupToken) {
			t.Errorf("%s: error shows the setup token", tt.name)
		}
	}
}

func assertSecurityHeaders(t *testing.T, h http.Header) {
	t.Helper()
	csp := h.Get("Content-Security-Policy")
	if !strings.HasPrefix(csp, "default-src 'none'; style-src 'sha256-") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	for k, want := range map[string]string{
		"Cache-Control": "no-store", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
		"X-Content-Type-Options": "nosniff",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
}

// assertNoSecrets fails if body shows any credential.
func assertNoSecrets(t *testing.T, body string, c zoom.Credentials) {
	t.Helper()
	for name, v := range map[string]string{
		"access token": c.AccessToken.Reveal(), "refresh token": c.RefreshToken.Reveal(),
		"client secret": c.ClientSecret.Reveal(), "setup token": testSetupToken,
	} {
		if v != "" && strings.Contains(body, v) {
			t.Errorf("page shows the %s", name)
		}
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestSanitizeZoomError(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"server_error": "server_error", "invalid_scope": "invalid_scope", "": "unrecognized error",
		"server_error ": "unrecognized error", "Call 555": "unrecognized error",
	} {
		if got := sanitizeZoomError(in); got != want {
			t.Errorf("sanitizeZoomError(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestLogsCarryNoSecrets connects once and replays once with a JSON logger attached: the log
// names the outcome and source but no token, code, state, cookie or setup token.
func TestLogsCarryNoSecrets(t *testing.T) {
	t.Parallel()
	var logs syncBuf
	e := newEnv(t, func(_ *zoomsim.Config, c *Config, _ *memCreds) {
		c.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	b := newBrowser(t)
	cb := e.authorize(t, b, "main", "allow")
	cookies := b.Jar.Cookies(mustURL(t, e.url))
	b.get(t, cb)
	b.Jar.SetCookies(mustURL(t, e.url), cookies)
	b.get(t, cb)
	creds, _ := e.creds.get("main")
	q := mustURL(t, cb).Query()
	out := logs.String()
	for name, v := range map[string]string{
		"access token": creds.AccessToken.Reveal(), "refresh token": creds.RefreshToken.Reveal(),
		"client secret": creds.ClientSecret.Reveal(), "setup token": testSetupToken,
		"code": q.Get("code"), "state": q.Get("state"), "cookie": cookies[0].Value,
	} {
		if v == "" {
			t.Fatalf("%s is empty", name)
		}
		if strings.Contains(out, v) {
			t.Errorf("log shows the %s", name)
		}
	}
	for _, want := range []string{`"outcome":"connected"`, `"outcome":"replayed_state"`, `"source":"main"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
