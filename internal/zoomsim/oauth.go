package zoomsim

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Which app a client id belongs to.
const (
	appS2S   = "s2s"
	appOAuth = "oauth"
)

type accessToken struct {
	clientID string
	scopes   []string
	expires  time.Time
	revoked  bool
}

type refreshToken struct {
	clientID string
	scopes   []string
}

type authCode struct {
	clientID, redirectURI, challenge string
	issued                           time.Time
}

// consentRequest is an authorization request waiting for the admin's Allow or Decline.
type consentRequest struct {
	clientID, redirectURI, state, challenge string
	created                                 time.Time
}

// tokenResponse is Zoom's /oauth/token success body.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	RefreshToken string `json:"refresh_token,omitempty"`
	ExpiresIn    int    `json:"expires_in"`
	Scope        string `json:"scope"`
}

// OAuth error texts Zoom sends.
const (
	reasonInvalidClient = "Invalid client_id or client_secret"
	reasonInvalidToken  = "Invalid Token!"
	reasonBadGrantType  = "Unsupported grant type"
	reasonBadCode       = "Invalid authorization code"
	reasonBadRedirect   = "Redirect URI mismatch."
	reasonBadVerifier   = "Invalid code_verifier"
)

// secret returns a fresh unguessable token value (tokens and codes are credentials, so they
// come from crypto/rand, not from the seed).
func secret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+).
	return base64.RawURLEncoding.EncodeToString(b)
}

func equalSecret(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// clientApp identifies the app from HTTP Basic credentials, "" if they match neither app.
func (s *Server) clientApp(r *http.Request) (clientID, app string) {
	id, sec, ok := r.BasicAuth()
	if !ok {
		return "", ""
	}
	switch {
	case equalSecret(id, s.cfg.ClientID) && equalSecret(sec, s.cfg.ClientSecret):
		return id, appS2S
	case equalSecret(id, s.cfg.OAuthClientID) && equalSecret(sec, s.cfg.OAuthClientSecret):
		return id, appOAuth
	}
	return "", ""
}

// handleToken is POST /oauth/token. Like Zoom it reads parameters from the query string as well
// as from a form body, and requires HTTP Basic client authentication.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "Invalid request")
		return
	}
	clientID, app := s.clientApp(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	if app == "" {
		s.stats.InvalidClient++
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", reasonInvalidClient)
		return
	}
	now := s.now()
	grant := r.Form.Get("grant_type")
	switch {
	case grant == "account_credentials" && app == appS2S:
		accountID := r.Form.Get("account_id")
		if accountID == "" || !equalSecret(accountID, s.cfg.AccountID) {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", "Invalid account_id")
			return
		}
		s.writeTokens(w, clientID, s.cfg.Scopes, false, now)
	case grant == "authorization_code" && app == appOAuth:
		s.redeemCode(w, r, clientID, now)
	case grant == "refresh_token" && app == appOAuth:
		old := r.Form.Get("refresh_token")
		rt, ok := s.refreshTokens[old]
		if !ok || rt.clientID != clientID {
			s.stats.RejectedRefreshTokens++
			writeOAuthError(w, http.StatusBadRequest, "invalid_grant", reasonInvalidToken)
			return
		}
		// Rotation: the old refresh token stops working the moment a new one is issued.
		delete(s.refreshTokens, old)
		s.stats.Refreshes++
		s.writeTokens(w, clientID, rt.scopes, true, now)
	default:
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", reasonBadGrantType)
	}
}

// redeemCode handles grant_type=authorization_code. Any attempt with a known code uses it up.
func (s *Server) redeemCode(w http.ResponseWriter, r *http.Request, clientID string, now time.Time) {
	value := r.Form.Get("code")
	code, ok := s.codes[value]
	if ok {
		delete(s.codes, value)
	}
	switch {
	case !ok || code.clientID != clientID || now.Sub(code.issued) > authCodeLifetime:
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", reasonBadCode)
	case r.Form.Get("redirect_uri") != code.redirectURI:
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", reasonBadRedirect)
	case code.challenge != "" && !equalSecret(pkceChallenge(r.Form.Get("code_verifier")), code.challenge):
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", reasonBadVerifier)
	default:
		s.stats.CodesRedeemed++
		s.writeTokens(w, clientID, s.cfg.Scopes, true, now)
	}
}

// writeTokens mints an access token (and a refresh token) and answers with them. Callers hold mu.
func (s *Server) writeTokens(w http.ResponseWriter, clientID string, scopes []string, withRefresh bool, now time.Time) {
	resp := tokenResponse{
		AccessToken: secret(),
		TokenType:   "bearer",
		ExpiresIn:   int(accessTokenLifetime / time.Second),
		Scope:       strings.Join(scopes, " "),
	}
	s.accessTokens[resp.AccessToken] = &accessToken{clientID: clientID, scopes: slices.Clone(scopes), expires: now.Add(accessTokenLifetime)}
	if withRefresh {
		resp.RefreshToken = secret()
		s.refreshTokens[resp.RefreshToken] = &refreshToken{clientID: clientID, scopes: slices.Clone(scopes)}
	}
	s.stats.TokensIssued++
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, resp)
}

// IssueRefreshToken mints a valid refresh token of the authorization-code app, as if an admin
// had just authorized it, for tests that skip the browser.
func (s *Server) IssueRefreshToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := secret()
	s.refreshTokens[v] = &refreshToken{clientID: s.cfg.OAuthClientID, scopes: slices.Clone(s.cfg.Scopes)}
	return v
}

// handleRevoke is POST /oauth/revoke: it retires an access or refresh token of the calling app.
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "Invalid request")
		return
	}
	clientID, app := s.clientApp(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	if app == "" {
		s.stats.InvalidClient++
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", reasonInvalidClient)
		return
	}
	value := r.Form.Get("token")
	if value == "" {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", reasonInvalidToken)
		return
	}
	if t, ok := s.accessTokens[value]; ok && t.clientID == clientID {
		delete(s.accessTokens, value)
	}
	if t, ok := s.refreshTokens[value]; ok && t.clientID == clientID {
		delete(s.refreshTokens, value)
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "success"})
}

// authenticate checks a report request's bearer token. It returns the token, or the Zoom
// error to answer with. Callers hold mu.
func (s *Server) authenticate(r *http.Request, now time.Time) (*accessToken, string) {
	scheme, value, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil, msgInvalidToken
	}
	t, found := s.accessTokens[strings.TrimSpace(value)]
	switch {
	case !found || t.revoked:
		return nil, msgInvalidToken
	case !now.Before(t.expires):
		return nil, msgExpiredToken
	}
	return t, ""
}

// pkceChallenge is the S256 code challenge of a verifier.
func pkceChallenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// A code challenge is base64url of a SHA-256 digest: 43 characters (RFC 7636 allows 43 to 128).
var challengePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{43,128}$`)

// handleAuthorizePage is GET /oauth/authorize: it validates the app's request and shows the
// consent page. Requests that cannot be trusted with a redirect (unknown client, bad
// redirect_uri) get an error page, never a redirect.
func (s *Server) handleAuthorizePage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	clientID, redirectURI := q.Get("client_id"), q.Get("redirect_uri")
	var problem string
	switch {
	case clientID == "" || !equalSecret(clientID, s.cfg.OAuthClientID):
		problem = "The app's client_id is missing or unknown."
	case !s.redirectAllowed(redirectURI):
		problem = "The redirect_uri is missing or is not a redirect URL registered for this app."
	case q.Get("response_type") != "code":
		problem = `The response_type must be "code".`
	case q.Get("state") == "":
		problem = "The request has no state parameter."
	case q.Get("code_challenge") == "" && !s.cfg.PKCEOptional:
		problem = "The request has no PKCE code_challenge."
	case q.Get("code_challenge") != "" && q.Get("code_challenge_method") != "S256":
		problem = `The code_challenge_method must be "S256".`
	case q.Get("code_challenge") != "" && !challengePattern.MatchString(q.Get("code_challenge")):
		problem = "The code_challenge is not a base64url SHA-256 digest."
	}
	if problem != "" {
		s.renderPage(w, http.StatusBadRequest, pageData{Title: "Authorization failed", Problem: problem})
		return
	}
	s.mu.Lock()
	id := secret()
	s.consents[id] = &consentRequest{
		clientID: clientID, redirectURI: redirectURI, state: q.Get("state"),
		challenge: q.Get("code_challenge"), created: s.now(),
	}
	s.mu.Unlock()
	data := pageData{
		Title:     "Allow " + s.cfg.AppName + " to access your Zoom account?",
		AppName:   s.cfg.AppName,
		User:      s.cfg.AuthorizingUser,
		RequestID: id,
	}
	for _, sc := range s.cfg.Scopes {
		data.Scopes = append(data.Scopes, scopeLine{Name: sc, Description: scopeDescription(sc)})
	}
	s.renderPage(w, http.StatusOK, data)
}

// redirectAllowed reports whether uri is one of the app's redirect URLs (any absolute http(s)
// URL when none are configured).
func (s *Server) redirectAllowed(uri string) bool {
	if !absoluteHTTPURL(uri) {
		return false
	}
	return len(s.cfg.RedirectURLs) == 0 || slices.Contains(s.cfg.RedirectURLs, uri)
}

// handleAuthorizeDecision is POST /oauth/authorize, the consent form's Allow or Decline.
func (s *Server) handleAuthorizeDecision(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.renderPage(w, http.StatusBadRequest, pageData{Title: "Authorization failed", Problem: "The form could not be read."})
		return
	}
	s.mu.Lock()
	now := s.now()
	id := r.PostForm.Get("request_id")
	req, ok := s.consents[id]
	if ok {
		delete(s.consents, id)
	}
	if !ok || now.Sub(req.created) > consentLifetime {
		s.mu.Unlock()
		s.renderPage(w, http.StatusBadRequest, pageData{Title: "Authorization failed",
			Problem: "This authorization request has expired or was already answered. Start again from the app."})
		return
	}
	target, _ := url.Parse(req.redirectURI) // validated when the request was made
	q := target.Query()
	switch r.PostForm.Get("decision") {
	case "allow":
		code := secret()
		s.codes[code] = &authCode{clientID: req.clientID, redirectURI: req.redirectURI, challenge: req.challenge, issued: now}
		s.stats.CodesIssued++
		q.Set("code", code)
	case "decline":
		q.Set("error", "access_denied")
	default:
		s.mu.Unlock()
		s.renderPage(w, http.StatusBadRequest, pageData{Title: "Authorization failed", Problem: "Choose Allow or Decline."})
		return
	}
	s.mu.Unlock()
	q.Set("state", req.state)
	target.RawQuery = q.Encode()
	http.Redirect(w, r, target.String(), http.StatusFound)
}

// scopeDescription says in words what a scope lets the app do.
func scopeDescription(scope string) string {
	switch scope {
	case ScopeReportRead:
		return "View your account's reports, including admin operation logs and sign-in/sign-out activity"
	case "report:read:operation_logs:admin":
		return "View your account's operation logs"
	case "report:read:user_activities:admin":
		return "View your account's sign-in/sign-out activity"
	}
	return "Access granted by the scope " + scope
}

type scopeLine struct{ Name, Description string }

// pageData fills the consent and error pages.
type pageData struct {
	Title, Problem string
	AppName, User  string
	RequestID      string
	Scopes         []scopeLine
}

func (s *Server) renderPage(w http.ResponseWriter, status int, data pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	// The page may not be framed (clickjacking a consent page grants access).
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	w.WriteHeader(status)
	_ = s.tmpl.Execute(w, data)
}

// pageTemplate is the consent page (and, with Problem set, the error page). It is plain HTML
// with native controls: a heading per page, a labelled list of scopes, two real buttons.
const pageTemplate = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} - Zoom</title>
<style>
body { font-family: system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #1f2328; }
main { max-width: 32rem; margin: 3rem auto; background: #fff; padding: 2rem; border-radius: 8px; border: 1px solid #d0d7de; }
h1 { font-size: 1.4rem; margin-top: 0; }
ul { padding-left: 1.2rem; }
.scope { font-family: ui-monospace, monospace; font-size: 0.9rem; color: #444c56; }
.actions { display: flex; gap: 1rem; margin-top: 1.5rem; }
button { font-size: 1rem; padding: 0.6rem 1.4rem; border-radius: 6px; cursor: pointer; }
button.allow { background: #0b5cff; color: #fff; border: 1px solid #0b5cff; }
button.decline { background: #fff; color: #1f2328; border: 1px solid #57606a; }
button:focus-visible { outline: 3px solid #1f2328; outline-offset: 2px; }
.problem { border-left: 4px solid #cf222e; padding-left: 1rem; }
</style>
</head>
<body>
<main>
{{- if .Problem}}
<h1>{{.Title}}</h1>
<p class="problem" role="alert">{{.Problem}}</p>
{{- else}}
<h1>{{.Title}}</h1>
<p>You are signed in as <strong>{{.User}}</strong>. <strong>{{.AppName}}</strong> is asking for permission to:</p>
<ul aria-label="Permissions requested by {{.AppName}}">
{{- range .Scopes}}
<li>{{.Description}} <span class="scope">({{.Name}})</span></li>
{{- end}}
</ul>
<form method="post" action="/oauth/authorize">
<input type="hidden" name="request_id" value="{{.RequestID}}">
<div class="actions">
<button type="submit" name="decision" value="allow" class="allow">Allow</button>
<button type="submit" name="decision" value="decline" class="decline">Decline</button>
</div>
</form>
{{- end}}
</main>
</body>
</html>
`

func parsePages() *template.Template {
	return template.Must(template.New("page").Parse(pageTemplate))
}
