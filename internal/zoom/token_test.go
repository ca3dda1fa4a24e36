package zoom

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/zoomwatch/zoomwatch/internal/event"
)

const (
	testClientID     = "client-id-ABC"
	testClientSecret = "client-secret-XYZ"
	testAccountID    = "account-123"
	testRedirect     = "https://zoomwatch.example/callback"
)

// tokenServer is a small Zoom OAuth token endpoint: account credentials, rotating refresh
// tokens (the old one dies when a new one is issued), and authorization codes with PKCE.
type tokenServer struct {
	mu        sync.Mutex
	refresh   string // the one refresh token that works
	n         int
	grants    map[string]int
	fail      func(w http.ResponseWriter) bool // answers instead of the normal logic when true
	verifier  string
	expiresIn int
	// api: the report endpoint accepts only the last issued access token.
	lastAccess string
	apiCalls   int
}

func newTokenServer() *tokenServer {
	return &tokenServer{refresh: "refresh-0", grants: map[string]int{}, expiresIn: 3600}
}

func (s *tokenServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if strings.HasPrefix(r.URL.Path, "/v2/report/") {
		s.apiCalls++
		if r.Header.Get("Authorization") != "Bearer "+s.lastAccess {
			respond(401, `{"code":124,"message":"Invalid access token."}`)(w, r)
			return
		}
		respond(200, opPage("", opRecord1))(w, r)
		return
	}
	if r.URL.Path != "/oauth/token" || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	grant := r.PostForm.Get("grant_type")
	s.grants[grant]++
	if s.fail != nil && s.fail(w) {
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok || id != testClientID || secret != testClientSecret || r.PostForm.Has("client_secret") {
		respond(401, `{"reason":"Invalid client_id or client_secret","error":"invalid_client"}`)(w, r)
		return
	}
	s.n++
	access := fmt.Sprintf("access-%d", s.n)
	switch grant {
	case "account_credentials":
		if r.PostForm.Get("account_id") != testAccountID {
			respond(400, `{"reason":"Invalid account_id","error":"invalid_request"}`)(w, r)
			return
		}
		s.lastAccess = access
		respond(200, fmt.Sprintf(`{"access_token":%q,"token_type":"bearer","expires_in":%d,"scope":"report:read:admin"}`, access, s.expiresIn))(w, r)
	case "refresh_token":
		if r.PostForm.Get("refresh_token") != s.refresh {
			respond(400, `{"reason":"Invalid Token!","error":"invalid_grant"}`)(w, r)
			return
		}
		s.refresh = fmt.Sprintf("refresh-%d", s.n)
		s.lastAccess = access
		respond(200, fmt.Sprintf(`{"access_token":%q,"token_type":"bearer","refresh_token":%q,"expires_in":%d,"scope":"report:read:admin"}`, access, s.refresh, s.expiresIn))(w, r)
	case "authorization_code":
		if r.PostForm.Get("code") != "good-code" || r.PostForm.Get("redirect_uri") != testRedirect ||
			r.PostForm.Get("code_verifier") != s.verifier {
			respond(400, `{"reason":"Invalid authorization code","error":"invalid_grant"}`)(w, r)
			return
		}
		s.refresh = fmt.Sprintf("refresh-%d", s.n)
		s.lastAccess = access
		respond(200, fmt.Sprintf(`{"access_token":%q,"token_type":"bearer","refresh_token":%q,"expires_in":3600}`, access, s.refresh))(w, r)
	default:
		respond(400, `{"reason":"Unsupported grant type","error":"unsupported_grant_type"}`)(w, r)
	}
}

func (s *tokenServer) count(grant string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.grants[grant]
}

// memStore is a TokenStore in memory that can be made to fail.
type memStore struct {
	mu    sync.Mutex
	saved []*oauth2.Token
	fail  error
	// onSave runs inside SaveToken, before the token counts as saved.
	onSave func(*oauth2.Token)
}

func (m *memStore) SaveToken(_ context.Context, tok *oauth2.Token) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.onSave != nil {
		m.onSave(tok)
	}
	if m.fail != nil {
		return m.fail
	}
	m.saved = append(m.saved, tok)
	return nil
}

func (m *memStore) last() *oauth2.Token {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.saved) == 0 {
		return nil
	}
	return m.saved[len(m.saved)-1]
}

func (m *memStore) setFail(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fail = err
}

func oauthCreds(refresh string) Credentials {
	return Credentials{AuthType: AuthOAuth, ClientID: testClientID, ClientSecret: testClientSecret, RefreshToken: Secret(refresh)}
}

func s2sCreds() Credentials {
	return Credentials{AuthType: AuthS2S, ClientID: testClientID, ClientSecret: testClientSecret, AccountID: testAccountID}
}

func newSource(t *testing.T, srv *tokenServer, creds Credentials, store TokenStore) (oauth2.TokenSource, *fakeClock, Config) {
	t.Helper()
	hs := serve(t, srv)
	clock := newClock()
	cfg := testConfig(t, hs.URL, clock)
	var ts oauth2.TokenSource
	var err error
	if store == nil {
		ts, err = NewTokenSource(context.Background(), cfg, creds, nil)
	} else {
		ts, err = NewTokenSource(context.Background(), cfg, creds, store)
	}
	if err != nil {
		t.Fatal(err)
	}
	return ts, clock, cfg
}

func TestServerToServerSource(t *testing.T) {
	t.Parallel()
	srv := newTokenServer()
	ts, clock, _ := newSource(t, srv, s2sCreds(), nil)
	for range 10 {
		tok, err := ts.Token()
		if err != nil || tok.AccessToken != "access-1" {
			t.Fatalf("Token = %v, %v", tok, err)
		}
	}
	if n := srv.count("account_credentials"); n != 1 {
		t.Errorf("%d token requests for 10 calls, want 1 (cached)", n)
	}
	clock.Advance(time.Hour - TokenExpiryMargin - time.Second)
	if tok, _ := ts.Token(); tok.AccessToken != "access-1" {
		t.Errorf("token replaced %v before the margin", TokenExpiryMargin)
	}
	clock.Advance(2 * time.Second)
	if tok, err := ts.Token(); err != nil || tok.AccessToken != "access-2" {
		t.Errorf("within %v of expiry: Token = %v, %v; want a new token", TokenExpiryMargin, tok, err)
	}
	ts.(Invalidator).Invalidate(&oauth2.Token{AccessToken: "access-1"}) // stale: ignored
	if tok, _ := ts.Token(); tok.AccessToken != "access-2" {
		t.Error("invalidating an older token dropped the current one")
	}
	ts.(Invalidator).Invalidate(&oauth2.Token{AccessToken: "access-2"})
	if tok, _ := ts.Token(); tok.AccessToken != "access-3" {
		t.Errorf("after Invalidate got %s, want a new token", tok.AccessToken)
	}
}

func TestServerToServerFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		creds  func(Credentials) Credentials
		fail   func(http.ResponseWriter) bool
		kind   ErrorKind
		temp   bool
		status int
	}{
		{name: "bad secret", creds: func(c Credentials) Credentials { c.ClientSecret = "wrong"; return c }, kind: KindAuth},
		{name: "bad account", creds: func(c Credentials) Credentials { c.AccountID = "other"; return c }, kind: KindTokenEndpoint, status: 400},
		{name: "server error", fail: func(w http.ResponseWriter) bool { w.WriteHeader(502); return true }, kind: KindTokenEndpoint, temp: true, status: 502},
		{
			name: "zoom code 4702", kind: KindAuth,
			fail: func(w http.ResponseWriter) bool {
				respond(400, `{"code":4702,"message":"Invalid client_id"}`)(w, nil)
				return true
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newTokenServer()
			srv.fail = tc.fail
			creds := s2sCreds()
			if tc.creds != nil {
				creds = tc.creds(creds)
			}
			ts, _, _ := newSource(t, srv, creds, nil)
			_, err := ts.Token()
			if KindOf(err) != tc.kind {
				t.Fatalf("err = %v (kind %s), want kind %s", err, KindOf(err), tc.kind)
			}
			var te *TokenEndpointError
			if errors.As(err, &te) && (te.Temporary() != tc.temp || te.Status != tc.status || te.MaybeConsumed) {
				t.Errorf("TokenEndpointError %+v: want temporary=%v status %d, never consumed", te, tc.temp, tc.status)
			}
			assertNoSecret(t, "error", err.Error()+fmt.Sprintf("%#v", err))
		})
	}
}

func TestS2SStoreIsBestEffort(t *testing.T) {
	t.Parallel()
	srv := newTokenServer()
	store := &memStore{fail: errors.New("disk full")}
	ts, _, _ := newSource(t, srv, s2sCreds(), store)
	if tok, err := ts.Token(); err != nil || tok.AccessToken != "access-1" {
		t.Fatalf("Token = %v, %v; a store failure must not stop a Server-to-Server token", tok, err)
	}
	store.setFail(nil)
	ts.(Invalidator).Invalidate(&oauth2.Token{AccessToken: "access-1"})
	if _, err := ts.Token(); err != nil || store.last().AccessToken != "access-2" {
		t.Errorf("minted token not saved: %v, %v", store.last(), err)
	}
}

func TestRotatingSourceRotatesAndSavesFirst(t *testing.T) {
	t.Parallel()
	srv := newTokenServer()
	store := &memStore{}
	var returned sync.Map
	store.onSave = func(tok *oauth2.Token) {
		if _, seen := returned.Load(tok.AccessToken); seen {
			t.Errorf("token %s was handed out before it was saved", tok.AccessToken)
		}
	}
	ts, clock, _ := newSource(t, srv, oauthCreds("refresh-0"), store)
	// Many callers at once share one refresh.
	var wg sync.WaitGroup
	toks := make([]string, 20)
	for i := range toks {
		wg.Go(func() {
			tok, err := ts.Token()
			if err != nil {
				t.Error(err)
				return
			}
			returned.Store(tok.AccessToken, true)
			toks[i] = tok.AccessToken
		})
	}
	wg.Wait()
	if n := srv.count("refresh_token"); n != 1 {
		t.Fatalf("%d refreshes for 20 concurrent callers, want 1", n)
	}
	for _, a := range toks {
		if a != "access-1" {
			t.Fatalf("callers got %v, want all access-1", toks)
		}
	}
	if got := store.last(); got == nil || got.RefreshToken != "refresh-1" || got.AccessToken != "access-1" ||
		!got.Expiry.Equal(clock.Now().Add(time.Hour)) {
		t.Fatalf("saved %+v, want access-1/refresh-1 expiring in an hour on the configured clock", got)
	}
	// Every refresh rotates, and the source keeps using the newest refresh token.
	for want := 2; want <= 4; want++ {
		clock.Advance(time.Hour)
		tok, err := ts.Token()
		if err != nil || tok.AccessToken != fmt.Sprintf("access-%d", want) {
			t.Fatalf("refresh %d: %v, %v", want, tok, err)
		}
		if got := store.last().RefreshToken; got != fmt.Sprintf("refresh-%d", want) {
			t.Errorf("saved refresh token %s, want refresh-%d", got, want)
		}
	}
}

func TestRotatingSourceStaleRefreshToken(t *testing.T) {
	t.Parallel()
	srv := newTokenServer()
	store := &memStore{}
	ts, _, _ := newSource(t, srv, oauthCreds("refresh-old"), store)
	for range 3 {
		_, err := ts.Token()
		var ge *GrantRejectedError
		if !errors.As(err, &ge) || ge.Reason != "Invalid Token!" || ge.OAuthError != "invalid_grant" {
			t.Fatalf("err = %v, want *GrantRejectedError", err)
		}
		if !strings.Contains(err.Error(), "authorize zoomwatch again") {
			t.Errorf("error %q does not tell what to do", err)
		}
	}
	if n := srv.count("refresh_token"); n != 1 {
		t.Errorf("%d refresh requests, want 1: a rejected grant is final", n)
	}
	if len(store.saved) != 0 {
		t.Error("something was saved")
	}
}

func TestRotatingSourceSaveFailure(t *testing.T) {
	t.Parallel()
	srv := newTokenServer()
	store := &memStore{fail: errors.New("secrets manager throttled")}
	ts, _, _ := newSource(t, srv, oauthCreds("refresh-0"), store)
	tok, err := ts.Token()
	var se *TokenSaveError
	if !errors.As(err, &se) || tok != nil || KindOf(err) != KindTokenSave {
		t.Fatalf("Token = %v, %v; want no token and a *TokenSaveError", tok, err)
	}
	if _, err := ts.Token(); !errors.As(err, &se) {
		t.Fatalf("second call: %v, want *TokenSaveError while the store fails", err)
	}
	store.setFail(nil)
	tok, err = ts.Token()
	if err != nil || tok.AccessToken != "access-1" || store.last().RefreshToken != "refresh-1" {
		t.Fatalf("after the store recovered: %v, %v; want the pending token saved then used", tok, err)
	}
	if n := srv.count("refresh_token"); n != 1 {
		t.Errorf("%d refreshes, want 1: the unsaved token is saved again, not replaced", n)
	}
}

func TestRotatingSourceUncertainRefreshIsNotRepeated(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		fail func(http.ResponseWriter) bool
	}{
		{"server error", func(w http.ResponseWriter) bool { w.WriteHeader(500); return true }},
		{"garbled 200", func(w http.ResponseWriter) bool { respond(200, `{"access_tok`)(w, nil); return true }},
		{"200 without access token", func(w http.ResponseWriter) bool { respond(200, `{"token_type":"bearer"}`)(w, nil); return true }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newTokenServer()
			srv.fail = tc.fail
			ts, _, _ := newSource(t, srv, oauthCreds("refresh-0"), &memStore{})
			for range 3 {
				_, err := ts.Token()
				var te *TokenEndpointError
				if !errors.As(err, &te) || !te.MaybeConsumed || te.Temporary() {
					t.Fatalf("err = %v, want a *TokenEndpointError that may have consumed the token", err)
				}
			}
			if n := srv.count("refresh_token"); n != 1 {
				t.Errorf("%d refresh requests, want 1", n)
			}
		})
	}
}

func TestRotatingSourceUnsentRefreshMayRetry(t *testing.T) {
	t.Parallel()
	hs := serve(t, http.NotFoundHandler())
	hs.Close()
	clock := newClock()
	ts, err := NewTokenSource(context.Background(), testConfig(t, hs.URL, clock), oauthCreds("refresh-0"), &memStore{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ts.Token()
	var te *TokenEndpointError
	if !errors.As(err, &te) || te.MaybeConsumed || !te.Temporary() {
		t.Fatalf("err = %v, want a temporary error: the refresh never left", err)
	}
}

func TestRotatingSourceContext(t *testing.T) {
	t.Parallel()
	srv := newTokenServer()
	hs := serve(t, srv)
	ctx, cancel := context.WithCancel(context.Background())
	ts, err := NewTokenSource(ctx, testConfig(t, hs.URL, newClock()), oauthCreds("refresh-0"), &memStore{})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := ts.Token(); !errors.Is(err, context.Canceled) || srv.count("refresh_token") != 0 {
		t.Errorf("Token after cancel = %v (%d refreshes); want no refresh started", err, srv.count("refresh_token"))
	}
}

func TestSeededAccessToken(t *testing.T) {
	t.Parallel()
	clock := newClock()
	tests := []struct {
		name        string
		expiry      time.Time
		wantRefresh int
	}{
		{"valid", clock.Now().Add(30 * time.Minute), 0},
		{"inside the margin", clock.Now().Add(TokenExpiryMargin - time.Second), 1},
		{"expired", clock.Now().Add(-time.Minute), 1},
		{"no expiry", time.Time{}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newTokenServer()
			creds := oauthCreds("refresh-0")
			creds.AccessToken, creds.Expiry = "access-seed", tc.expiry
			ts, _, _ := newSource(t, srv, creds, &memStore{})
			tok, err := ts.Token()
			if err != nil {
				t.Fatal(err)
			}
			if n := srv.count("refresh_token"); n != tc.wantRefresh || (n == 0) != (tok.AccessToken == "access-seed") {
				t.Errorf("got %s after %d refreshes, want %d", tok.AccessToken, n, tc.wantRefresh)
			}
		})
	}
}

// TestClientUsesOnlySavedTokens runs the client over a rotating source against a server that
// accepts only the newest access token, and checks each token reached Zoom only after it was
// saved.
func TestClientUsesOnlySavedTokens(t *testing.T) {
	t.Parallel()
	srv := newTokenServer()
	store := &memStore{}
	ts, _, cfg := newSource(t, srv, oauthCreds("refresh-0"), store)
	c, err := New(cfg, ts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := collect(context.Background(), c, event.Operation, jan14, jan15); err != nil {
		t.Fatal(err)
	}
	// Zoom revokes the access token early (a new token was minted elsewhere): 401/124, one
	// refresh, one retry.
	srv.mu.Lock()
	srv.lastAccess = "revoked"
	srv.refresh = store.last().RefreshToken
	srv.mu.Unlock()
	if _, err := collect(context.Background(), c, event.Operation, jan14, jan15); err != nil {
		t.Fatal(err)
	}
	if n := srv.count("refresh_token"); n != 2 {
		t.Errorf("%d refreshes, want 2", n)
	}
	if got := store.last().AccessToken; got != "access-2" {
		t.Errorf("last saved %s, want access-2", got)
	}
	// A failing store: the new token is never sent.
	store.setFail(errors.New("store down"))
	srv.mu.Lock()
	srv.lastAccess = "revoked"
	calls := srv.apiCalls
	srv.mu.Unlock()
	_, err = collect(context.Background(), c, event.Operation, jan14, jan15)
	var se *TokenSaveError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v, want *TokenSaveError", err)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.apiCalls != calls+1 {
		t.Errorf("%d API calls after the save failed, want only the refused one", srv.apiCalls-calls)
	}
}

func TestAuthCodeFlow(t *testing.T) {
	t.Parallel()
	srv := newTokenServer()
	hs := serve(t, srv)
	clock := newClock()
	cfg := testConfig(t, hs.URL, clock)
	verifier := oauth2.GenerateVerifier()
	srv.verifier = verifier

	raw, err := AuthCodeURL(cfg, testClientID, testRedirect, "state-1", verifier)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	want := map[string]string{
		"response_type": "code", "client_id": testClientID, "redirect_uri": testRedirect, "state": "state-1",
		"code_challenge_method": "S256", "code_challenge": oauth2.S256ChallengeFromVerifier(verifier),
	}
	for k, v := range want {
		if q.Get(k) != v {
			t.Errorf("authorize URL %s = %q, want %q", k, q.Get(k), v)
		}
	}
	if u.Path != "/oauth/authorize" || strings.Contains(raw, testClientSecret) || q.Has("code_verifier") {
		t.Errorf("authorize URL %s", raw)
	}

	tok, err := ExchangeCode(context.Background(), cfg, testClientID, testClientSecret, "good-code", testRedirect, verifier)
	if err != nil || tok.RefreshToken == "" || tok.AccessToken == "" || !tok.Expiry.Equal(clock.Now().Add(time.Hour)) {
		t.Fatalf("ExchangeCode = %+v, %v", tok, err)
	}
	tests := []struct {
		name           string
		secret         Secret
		code, verifier string
		kind           ErrorKind
	}{
		{"used code", testClientSecret, "used-code", verifier, KindGrantRejected},
		{"wrong verifier", testClientSecret, "good-code", oauth2.GenerateVerifier(), KindGrantRejected},
		{"wrong secret", "wrong", "good-code", verifier, KindAuth},
	}
	for _, tc := range tests {
		_, err := ExchangeCode(context.Background(), cfg, testClientID, tc.secret, tc.code, testRedirect, tc.verifier)
		if KindOf(err) != tc.kind {
			t.Errorf("%s: err = %v, want kind %s", tc.name, err, tc.kind)
		}
		if err != nil {
			assertNoSecret(t, "error", err.Error())
		}
	}
	for _, args := range [][4]string{{"", testRedirect, "s", verifier}, {testClientID, "", "s", verifier}, {testClientID, testRedirect, "", verifier}, {testClientID, testRedirect, "s", ""}} {
		if _, err := AuthCodeURL(cfg, args[0], args[1], args[2], args[3]); err == nil {
			t.Errorf("AuthCodeURL%q accepted", args)
		}
	}
}

func TestNewTokenSourceValidates(t *testing.T) {
	t.Parallel()
	cfg := Config{}
	if _, err := NewTokenSource(context.Background(), cfg, oauthCreds("r"), nil); err == nil || !strings.Contains(err.Error(), "TokenStore") {
		t.Errorf("oauth without a store: %v", err)
	}
	if _, err := NewTokenSource(context.Background(), cfg, Credentials{AuthType: AuthS2S}, nil); err == nil || !strings.Contains(err.Error(), "account_id") {
		t.Errorf("incomplete s2s creds: %v", err)
	}
	if _, err := NewTokenSource(context.Background(), Config{PageSize: 500}, s2sCreds(), nil); err == nil {
		t.Error("bad config accepted")
	}
}

func TestTokenErrorTextHasNoSecrets(t *testing.T) {
	t.Parallel()
	srv := newTokenServer()
	srv.fail = func(w http.ResponseWriter) bool {
		// A hostile body quoting the credentials back.
		respond(500, `{"reason":"bad refresh-0 client-secret-XYZ"}`)(w, nil)
		return true
	}
	ts, _, _ := newSource(t, srv, oauthCreds("refresh-0"), &memStore{})
	_, err := ts.Token()
	if err == nil {
		t.Fatal("no error")
	}
	b, _ := json.Marshal(err)
	for _, s := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err), string(b)} {
		assertNoSecret(t, "error", s)
	}
}
