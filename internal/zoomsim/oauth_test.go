package zoomsim

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

func oauthErr(t *testing.T, r response) oauthError {
	t.Helper()
	var e oauthError
	r.json(t, &e)
	return e
}

func TestTokenAccountCredentials(t *testing.T) {
	t.Parallel()
	s := newSim(t, Config{})
	c := s.Config()
	form := func(account string) url.Values {
		return url.Values{"grant_type": {"account_credentials"}, "account_id": {account}}
	}
	tests := []struct {
		name             string
		clientID, secret string
		form             url.Values
		status           int
		oauthError       string
	}{
		{"ok", c.ClientID, c.ClientSecret, form(c.AccountID), 200, ""},
		{"wrong secret", c.ClientID, "nope", form(c.AccountID), 401, "invalid_client"},
		{"unknown client", "someone", c.ClientSecret, form(c.AccountID), 401, "invalid_client"},
		{"no client authentication", "", "", form(c.AccountID), 401, "invalid_client"},
		{"wrong account", c.ClientID, c.ClientSecret, form("other-account"), 400, "invalid_request"},
		{"no account", c.ClientID, c.ClientSecret, url.Values{"grant_type": {"account_credentials"}}, 400, "invalid_request"},
		{"authorization-code app may not", c.OAuthClientID, c.OAuthClientSecret, form(c.AccountID), 400, "unsupported_grant_type"},
		{"s2s app may not refresh", c.ClientID, c.ClientSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}, 400, "unsupported_grant_type"},
		{"unknown grant", c.ClientID, c.ClientSecret, url.Values{"grant_type": {"password"}}, 400, "unsupported_grant_type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := s.postToken(t, tc.clientID, tc.secret, tc.form)
			if resp.status != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.status, tc.status, resp.body)
			}
			if got := resp.header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", got)
			}
			if tc.status != 200 {
				if e := oauthErr(t, resp); e.Error != tc.oauthError || e.Reason == "" {
					t.Errorf("body %s, want error %q with a reason", resp.body, tc.oauthError)
				}
				return
			}
			var tok tokenResponse
			resp.json(t, &tok)
			if tok.AccessToken == "" || tok.TokenType != "bearer" || tok.ExpiresIn != 3600 || tok.Scope != ScopeReportRead || tok.RefreshToken != "" {
				t.Errorf("token response %+v: want a bearer access token for 3600s, scope %s, no refresh token", tok, ScopeReportRead)
			}
		})
	}
	if got := s.Stats().InvalidClient; got != 3 {
		t.Errorf("Stats.InvalidClient %d, want 3", got)
	}
}

// TestAccessTokenLivesOneHour moves the injected clock across the token's expiry.
func TestAccessTokenLivesOneHour(t *testing.T) {
	t.Parallel()
	s := newSim(t, Config{})
	tok := s.s2sToken(t)
	q := url.Values{"page_size": {"1"}}
	if r := s.get(t, tok, "/v2/report/activities", q); r.status != 200 {
		t.Fatalf("fresh token: %d %s", r.status, r.body)
	}
	s.clock.Advance(time.Hour - time.Second)
	if r := s.get(t, tok, "/v2/report/activities", q); r.status != 200 {
		t.Fatalf("token at 59m59s: %d %s", r.status, r.body)
	}
	s.clock.Advance(time.Second)
	r := s.get(t, tok, "/v2/report/activities", q)
	if e := zoomErr(t, r); r.status != 401 || e.Code != CodeInvalidToken || e.Message != msgExpiredToken {
		t.Fatalf("token at 1h: %d %s, want 401 code 124 %q", r.status, r.body, msgExpiredToken)
	}
	for _, bad := range []string{"", "not-a-token"} {
		r := s.get(t, bad, "/v2/report/activities", q)
		if e := zoomErr(t, r); r.status != 401 || e.Code != CodeInvalidToken || e.Message != msgInvalidToken {
			t.Errorf("token %q: %d %s, want 401 code 124 %q", bad, r.status, r.body, msgInvalidToken)
		}
	}
	if got := s.Stats().Unauthorized; got != 3 {
		t.Errorf("Stats.Unauthorized %d, want 3", got)
	}
}

// pkce is an RFC 7636 verifier and its S256 challenge.
func pkce(verifier string) (string, string) {
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

const testRedirect = "http://127.0.0.1:8765/oauth/callback"

var requestIDPattern = regexp.MustCompile(`name="request_id" value="([^"]+)"`)

// authorize walks the consent page: GET /oauth/authorize, then the admin's decision. It
// returns the redirect's query.
func (s *sim) authorize(t *testing.T, challenge, decision string) url.Values {
	t.Helper()
	q := url.Values{
		"response_type": {"code"}, "client_id": {s.Config().OAuthClientID}, "redirect_uri": {testRedirect},
		"state": {"st-123"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"},
	}
	page := s.get(t, "", "/oauth/authorize", q)
	if page.status != 200 || !strings.Contains(page.header.Get("Content-Type"), "text/html") {
		t.Fatalf("consent page: %d %s", page.status, page.body)
	}
	m := requestIDPattern.FindSubmatch(page.body)
	if m == nil {
		t.Fatalf("consent page has no request_id: %s", page.body)
	}
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/oauth/authorize",
		strings.NewReader(url.Values{"request_id": {string(m[1])}, "decision": {decision}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp := do(t, req)
	if resp.status != http.StatusFound {
		t.Fatalf("decision: %d %s", resp.status, resp.body)
	}
	loc, err := url.Parse(resp.header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), testRedirect+"?") {
		t.Fatalf("redirect to %q, want %s?…", resp.header.Get("Location"), testRedirect)
	}
	if got := loc.Query().Get("state"); got != "st-123" {
		t.Errorf("state %q, want st-123", got)
	}
	return loc.Query()
}

func (s *sim) exchange(t *testing.T, code, redirect, verifier string) response {
	t.Helper()
	c := s.Config()
	return s.postToken(t, c.OAuthClientID, c.OAuthClientSecret, url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect}, "code_verifier": {verifier},
	})
}

func TestAuthorizationCodeWithPKCE(t *testing.T) {
	t.Parallel()
	verifier, challenge := pkce(strings.Repeat("v", 50))
	tests := []struct {
		name       string
		redirect   string
		verifier   string
		wait       time.Duration
		status     int
		wantReason string
	}{
		{name: "ok", redirect: testRedirect, verifier: verifier, status: 200},
		{name: "code lives 5 minutes", redirect: testRedirect, verifier: verifier, wait: 5 * time.Minute, status: 200},
		{name: "expired code", redirect: testRedirect, verifier: verifier, wait: 5*time.Minute + time.Second, status: 400, wantReason: reasonBadCode},
		{name: "wrong verifier", redirect: testRedirect, verifier: strings.Repeat("w", 50), status: 400, wantReason: reasonBadVerifier},
		{name: "no verifier", redirect: testRedirect, status: 400, wantReason: reasonBadVerifier},
		{name: "other redirect", redirect: "http://127.0.0.1:8765/elsewhere", verifier: verifier, status: 400, wantReason: reasonBadRedirect},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newSim(t, Config{})
			code := s.authorize(t, challenge, "allow").Get("code")
			if code == "" {
				t.Fatal("no code in the redirect")
			}
			s.clock.Advance(tc.wait)
			resp := s.exchange(t, code, tc.redirect, tc.verifier)
			if resp.status != tc.status {
				t.Fatalf("exchange: %d %s, want %d", resp.status, resp.body, tc.status)
			}
			if tc.status != 200 {
				if e := oauthErr(t, resp); e.Error != "invalid_grant" || e.Reason != tc.wantReason {
					t.Errorf("body %s, want invalid_grant %q", resp.body, tc.wantReason)
				}
				return
			}
			var tok tokenResponse
			resp.json(t, &tok)
			if tok.AccessToken == "" || tok.RefreshToken == "" || tok.ExpiresIn != 3600 {
				t.Fatalf("token response %+v: want access and refresh tokens for 3600s", tok)
			}
			if r := s.get(t, tok.AccessToken, "/v2/report/activities", nil); r.status != 200 {
				t.Errorf("report with the new token: %d %s", r.status, r.body)
			}
			// A code works once.
			again := s.exchange(t, code, tc.redirect, tc.verifier)
			if e := oauthErr(t, again); again.status != 400 || e.Error != "invalid_grant" {
				t.Errorf("second exchange: %d %s, want invalid_grant", again.status, again.body)
			}
		})
	}
}

func TestAuthorizeRefusals(t *testing.T) {
	t.Parallel()
	s := newSim(t, Config{})
	_, challenge := pkce(strings.Repeat("v", 50))
	base := url.Values{
		"response_type": {"code"}, "client_id": {s.Config().OAuthClientID}, "redirect_uri": {testRedirect},
		"state": {"st"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"},
	}
	with := func(k, v string) url.Values {
		q := url.Values{}
		for key, vals := range base {
			q[key] = vals
		}
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
		return q
	}
	tests := []struct {
		name string
		q    url.Values
		want string
	}{
		{"unknown client", with("client_id", "other"), "client_id"},
		{"s2s client", with("client_id", s.Config().ClientID), "client_id"},
		{"relative redirect", with("redirect_uri", "/callback"), "redirect_uri"},
		{"no state", with("state", ""), "state"},
		{"no PKCE", with("code_challenge", ""), "PKCE"},
		{"plain PKCE", with("code_challenge_method", "plain"), "S256"},
		{"short challenge", with("code_challenge", "abc"), "code_challenge"},
		{"token response type", with("response_type", "token"), "response_type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := s.get(t, "", "/oauth/authorize", tc.q)
			if r.status != 400 || !strings.Contains(string(r.body), tc.want) || r.header.Get("Location") != "" {
				t.Errorf("%d %s, want 400 naming %q and no redirect", r.status, r.body, tc.want)
			}
		})
	}
	t.Run("decline", func(t *testing.T) {
		if q := s.authorize(t, challenge, "decline"); q.Get("error") != "access_denied" || q.Get("code") != "" {
			t.Errorf("declined redirect %v, want error=access_denied and no code", q)
		}
	})
}

// TestRefreshTokenRotation: every refresh returns a new refresh token and retires the one used,
// which is then refused exactly as Zoom refuses it.
func TestRefreshTokenRotation(t *testing.T) {
	t.Parallel()
	s := newSim(t, Config{})
	c := s.Config()
	refresh := func(clientID, secret, rt string) response {
		return s.postToken(t, clientID, secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
	}
	r1 := s.IssueRefreshToken()
	resp := refresh(c.OAuthClientID, c.OAuthClientSecret, r1)
	if resp.status != 200 {
		t.Fatalf("refresh: %d %s", resp.status, resp.body)
	}
	var t2 tokenResponse
	resp.json(t, &t2)
	if t2.RefreshToken == "" || t2.RefreshToken == r1 || t2.AccessToken == "" || t2.ExpiresIn != 3600 {
		t.Fatalf("refresh answer %+v: want a new refresh token and an access token", t2)
	}
	old := refresh(c.OAuthClientID, c.OAuthClientSecret, r1)
	if old.status != 400 || string(old.body) != `{"reason":"Invalid Token!","error":"invalid_grant"}` {
		t.Fatalf("old refresh token: %d %s, want 400 {\"reason\":\"Invalid Token!\",\"error\":\"invalid_grant\"}", old.status, old.body)
	}
	// The refused attempt must not have burnt the new token.
	resp = refresh(c.OAuthClientID, c.OAuthClientSecret, t2.RefreshToken)
	if resp.status != 200 {
		t.Fatalf("new refresh token after a refused old one: %d %s", resp.status, resp.body)
	}
	var t3 tokenResponse
	resp.json(t, &t3)
	// Another app cannot use it, and trying does not burn it.
	if r := refresh(c.ClientID, c.ClientSecret, t3.RefreshToken); r.status != 400 {
		t.Errorf("refresh by the s2s app: %d %s", r.status, r.body)
	}
	// Revoked refresh tokens are refused too.
	rev, _ := http.NewRequest(http.MethodPost, s.URL+"/oauth/revoke", strings.NewReader(url.Values{"token": {t3.RefreshToken}}.Encode()))
	rev.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rev.SetBasicAuth(c.OAuthClientID, c.OAuthClientSecret)
	if r := do(t, rev); r.status != 200 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if r := refresh(c.OAuthClientID, c.OAuthClientSecret, t3.RefreshToken); r.status != 400 || oauthErr(t, r).Error != "invalid_grant" {
		t.Errorf("revoked refresh token: %d %s, want invalid_grant", r.status, r.body)
	}
	st := s.Stats()
	if st.Refreshes != 2 || st.RejectedRefreshTokens != 2 {
		t.Errorf("Stats Refreshes=%d RejectedRefreshTokens=%d, want 2 and 2", st.Refreshes, st.RejectedRefreshTokens)
	}
}
