package onboard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/zoomwatch/zoomwatch/internal/zoom"
)

// Paths the Handler serves.
const (
	indexPath    = "/"
	startPath    = "/start"
	callbackPath = "/callback"
)

// Cookie names: __Host- (Secure, Path=/, no Domain, so no sibling host can plant it) whenever
// the pages are served over https; the plain name on http loopback, where browsers may not
// keep a Secure cookie.
const (
	cookieSecure = "__Host-zoomwatch-oauth"
	cookiePlain  = "zoomwatch-oauth"
)

// verifyTimeout bounds the verification after a successful exchange, so the admin sees a page
// promptly even when Zoom rate-limits; the poller retries later anyway.
const verifyTimeout = 25 * time.Second

// Handler serves the onboarding pages: / (what this is and the Redirect URL to register),
// /start and /callback. Build it with New.
type Handler struct {
	cfg     Config
	pages   *pages
	sources map[string]bool
}

// New validates cfg and returns the Handler.
func New(cfg Config) (*Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	p, err := loadPages()
	if err != nil {
		return nil, err
	}
	h := &Handler{cfg: cfg, pages: p, sources: map[string]bool{}}
	cfg.Sources = slices.Clone(cfg.Sources)
	for _, s := range cfg.Sources {
		h.sources[s] = true
	}
	return h, nil
}

// StartURL is the setup link of source for a handler served at base (scheme://host[:port]):
// what an admin opens to connect. It contains the setup token; show it only to that admin.
func StartURL(base, source string, setupToken zoom.Secret) string {
	q := url.Values{"source": {source}, "setup": {setupToken.Reveal()}}
	return strings.TrimRight(base, "/") + startPath + "?" + q.Encode()
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == indexPath && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		h.pages.render(w, indexPage(h.pageContext(r)))
	case r.Method != http.MethodGet && (r.URL.Path == startPath || r.URL.Path == callbackPath || r.URL.Path == indexPath):
		// /start sets a cookie and /callback consumes a state: only a real navigation (GET)
		// may do either, not a HEAD from a link previewer.
		w.Header().Set("Allow", http.MethodGet)
		pg := pageFor(Outcome{Kind: BadRequest}, h.pageContext(r))
		pg.Status = http.StatusMethodNotAllowed
		h.pages.render(w, pg)
	case r.URL.Path == startPath:
		h.start(w, r)
	case r.URL.Path == callbackPath:
		o := h.callback(r.Context(), r)
		h.finish(w, r, o)
	default:
		h.pages.render(w, pageFor(Outcome{Kind: NotFound}, h.pageContext(r)))
	}
}

// start is GET /start?source=&setup=: check the setup token, then send the browser to Zoom's
// consent page with a signed, browser-bound state and a PKCE challenge.
func (h *Handler) start(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	if !equalSecret(q.Get("setup"), h.cfg.SetupToken.Reveal()) {
		h.finish(w, r, Outcome{Kind: BadSetupToken})
		return
	}
	source := q.Get("source")
	if source == "" && len(h.cfg.Sources) == 1 {
		source = h.cfg.Sources[0]
	}
	if !h.sources[source] {
		shown := source
		if !sourcePattern.MatchString(shown) {
			shown = ""
		}
		h.finish(w, r, Outcome{Kind: UnknownSource, Source: shown})
		return
	}
	creds, err := h.cfg.Credentials.Credentials(ctx, source)
	if err != nil {
		h.finish(w, r, Outcome{Kind: StoreFailed, Source: source, Err: fmt.Errorf("load credentials of source %s: %w", source, err)})
		return
	}
	if creds.ClientID == "" || creds.ClientSecret.IsZero() {
		h.finish(w, r, Outcome{Kind: NotConfigured, Source: source})
		return
	}
	redirect, err := h.redirectURL(r)
	if err != nil {
		h.finish(w, r, Outcome{Kind: BadRequest, Source: source, Err: err})
		return
	}
	cookie, binding := newBinding()
	st := state{Expiry: h.cfg.Now().Add(h.cfg.StateTTL).UTC().Truncate(time.Second), Nonce: newNonce(), Binding: binding, Source: source}
	authURL, err := zoom.AuthCodeURL(h.cfg.Zoom, creds.ClientID, redirect, st.encode(h.cfg.Key), pkceVerifier(h.cfg.Key, st.Nonce, cookie))
	if err != nil {
		h.finish(w, r, Outcome{Kind: BadRequest, Source: source, Err: err})
		return
	}
	http.SetCookie(w, h.cookie(redirect, cookie, int(h.cfg.StateTTL/time.Second)))
	h.pages.setSecurityHeaders(w.Header())
	h.cfg.Logger.InfoContext(ctx, "onboarding started", "source", source)
	http.Redirect(w, r, authURL, http.StatusFound)
}

// callback is GET /callback: Zoom's answer. The state is checked (signature, expiry, browser,
// single use) before anything else, Zoom's own error is reported next, and only then is the
// code exchanged, the tokens stored and access verified.
func (h *Handler) callback(ctx context.Context, r *http.Request) Outcome {
	q := r.URL.Query()
	st, err := decodeState(h.cfg.Key, q.Get("state"))
	if err != nil {
		return Outcome{Kind: BadState, Err: err}
	}
	o := Outcome{Source: st.Source}
	if !h.cfg.Now().Before(st.Expiry) {
		o.Kind, o.Err = ExpiredState, errStateExpired
		return o
	}
	c, err := r.Cookie(h.cookieName(r))
	if err != nil || !st.boundTo(c.Value) {
		o.Kind, o.Err = OtherBrowser, errors.New("state is not bound to this browser's cookie")
		return o
	}
	if !h.sources[st.Source] {
		// Signed by us for a source since removed from the configuration.
		o.Kind = UnknownSource
		return o
	}
	fresh, err := h.cfg.Nonces.Consume(ctx, st.nonceID(), st.Expiry)
	switch {
	case err != nil:
		o.Kind, o.Err = StoreFailed, fmt.Errorf("consume state nonce: %w", err)
		return o
	case !fresh:
		o.Kind, o.Err = ReplayedState, errors.New("state was already used")
		return o
	}
	if zerr := q.Get("error"); zerr != "" {
		if zerr == "access_denied" {
			o.Kind = AccessDenied
		} else {
			o.Kind, o.ZoomError = ZoomRefused, sanitizeZoomError(zerr)
		}
		return o
	}
	code := q.Get("code")
	if code == "" {
		o.Kind, o.Err = BadRequest, errors.New("callback has neither code nor error")
		return o
	}
	creds, err := h.cfg.Credentials.Credentials(ctx, st.Source)
	if err != nil {
		o.Kind, o.Err = StoreFailed, fmt.Errorf("load credentials of source %s: %w", st.Source, err)
		return o
	}
	if creds.ClientID == "" || creds.ClientSecret.IsZero() {
		o.Kind = NotConfigured
		return o
	}
	redirect, err := h.redirectURL(r)
	if err != nil {
		o.Kind, o.Err = BadRequest, err
		return o
	}
	tok, err := zoom.ExchangeCode(ctx, h.cfg.Zoom, creds.ClientID, creds.ClientSecret, code, redirect, pkceVerifier(h.cfg.Key, st.Nonce, c.Value))
	if err != nil {
		o.Err = err
		var grant *zoom.GrantRejectedError
		var auth *zoom.AuthError
		switch {
		case errors.As(err, &grant):
			o.Kind = CodeRejected
		case errors.As(err, &auth):
			o.Kind = BadClient
		default:
			o.Kind = ZoomUnavailable
		}
		return o
	}
	if s, ok := tok.Extra("scope").(string); ok {
		o.Scopes = strings.Fields(s)
	}
	creds = withToken(creds, tok)
	if err := h.cfg.Credentials.SaveCredentials(ctx, st.Source, creds); err != nil {
		o.Kind, o.Err = StoreFailed, fmt.Errorf("save tokens of source %s: %w", st.Source, err)
		return o
	}
	o.Verify, o.Err = h.verify(ctx, st.Source, creds)
	o.Kind = verdict(o.Verify)
	return o
}

// verify reads both reports with the new token.
func (h *Handler) verify(ctx context.Context, source string, creds zoom.Credentials) (zoom.VerifyResult, error) {
	ctx, cancel := context.WithTimeout(ctx, verifyTimeout)
	defer cancel()
	saver := &credentialSaver{store: h.cfg.Credentials, source: source, creds: creds}
	ts, err := zoom.NewTokenSource(ctx, h.cfg.Zoom, creds, saver)
	if err != nil {
		return zoom.VerifyResult{}, fmt.Errorf("token source of source %s: %w", source, err)
	}
	client, err := zoom.New(h.cfg.Zoom, ts)
	if err != nil {
		return zoom.VerifyResult{}, fmt.Errorf("zoom client of source %s: %w", source, err)
	}
	return client.Verify(ctx)
}

// verdict turns a verification into the outcome the admin acts on: a missing scope first (the
// app must change), then missing report rights (the user must change), then anything else.
func verdict(v zoom.VerifyResult) OutcomeKind {
	if v.OK() {
		return Connected
	}
	kind := ConnectedUnverified
	for _, c := range v.Checks {
		var perm *zoom.PermissionError
		if errors.As(c.Err, &perm) {
			if perm.MissingScopes {
				return MissingScopes
			}
			kind = NoReportPermission
		}
	}
	return kind
}

// finish logs o, reports it, clears the browser cookie after a callback and renders the page.
func (h *Handler) finish(w http.ResponseWriter, r *http.Request, o Outcome) {
	ctx := r.Context()
	attrs := []any{"outcome", string(o.Kind), "path", r.URL.Path}
	if o.Source != "" {
		attrs = append(attrs, "source", o.Source)
	}
	if o.Err != nil {
		attrs = append(attrs, "error_kind", string(zoom.KindOf(o.Err)), "error", o.Err.Error())
	}
	switch {
	case o.Kind == Connected:
		h.cfg.Logger.InfoContext(ctx, "zoom source connected", attrs...)
	case o.Kind == StoreFailed || o.Kind == ZoomUnavailable:
		h.cfg.Logger.ErrorContext(ctx, "zoom onboarding failed", attrs...)
	default:
		h.cfg.Logger.WarnContext(ctx, "zoom onboarding did not complete", attrs...)
	}
	if r.URL.Path == callbackPath {
		if h.cfg.OnOutcome != nil {
			h.cfg.OnOutcome(ctx, o)
		}
		if redirect, err := h.redirectURL(r); err == nil && o.Kind != BadState && o.Kind != OtherBrowser {
			// The genuine flow of this browser is over; a new attempt starts at /start. A forged
			// or foreign callback leaves the cookie alone, so it cannot break a flow in progress.
			http.SetCookie(w, h.cookie(redirect, "", -1))
		}
	}
	h.pages.render(w, pageFor(o, h.pageContext(r)))
}

func (h *Handler) pageContext(r *http.Request) pageContext {
	redirect, err := h.redirectURL(r)
	if err != nil {
		redirect = "(unknown: the request has no valid Host)"
	}
	return pageContext{RedirectURL: redirect, Sources: h.cfg.Sources, TTLMinutes: int(h.cfg.StateTTL / time.Minute)}
}

// hostPattern is a host[:port] fit to build the redirect URL from.
var hostPattern = regexp.MustCompile(`^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?$`)

// redirectURL is the configured Redirect URL, or the one derived from the request's Host.
func (h *Handler) redirectURL(r *http.Request) (string, error) {
	if h.cfg.RedirectURL != "" {
		return h.cfg.RedirectURL, nil
	}
	if !hostPattern.MatchString(r.Host) {
		return "", fmt.Errorf("request host %q cannot form a redirect URL", r.Host)
	}
	scheme := "https"
	if r.TLS == nil && loopbackHost(hostOnly(r.Host)) {
		scheme = "http"
	}
	return scheme + "://" + r.Host + callbackPath, nil
}

func (h *Handler) cookieName(r *http.Request) string {
	redirect, err := h.redirectURL(r)
	if err == nil && strings.HasPrefix(redirect, "https://") {
		return cookieSecure
	}
	return cookiePlain
}

// cookie is the browser binding cookie (maxAge < 0 deletes it).
func (h *Handler) cookie(redirect, value string, maxAge int) *http.Cookie {
	secure := strings.HasPrefix(redirect, "https://")
	name := cookiePlain
	if secure {
		name = cookieSecure
	}
	return &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: secure,
		// Lax: the cookie comes back on Zoom's top-level redirect to /callback, and on no
		// cross-site subrequest.
		SameSite: http.SameSiteLaxMode,
	}
}

func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.Trim(hostport, "[]")
}

func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// sanitizeZoomError shows Zoom's error parameter only if it is one of the error codes OAuth
// defines (RFC 6749, 4.1.2.1), so a crafted callback cannot put words of its own on the page.
func sanitizeZoomError(s string) string {
	switch s {
	case "invalid_request", "unauthorized_client", "access_denied", "unsupported_response_type",
		"invalid_scope", "server_error", "temporarily_unavailable":
		return s
	}
	return "unrecognized error"
}

// withToken returns creds carrying tok, as an authorization-code source.
func withToken(creds zoom.Credentials, tok *oauth2.Token) zoom.Credentials {
	creds.AuthType = zoom.AuthOAuth
	creds.AccountID = ""
	creds.RefreshToken = zoom.Secret(tok.RefreshToken)
	creds.AccessToken = zoom.Secret(tok.AccessToken)
	creds.Expiry = tok.Expiry
	return creds
}

// credentialSaver is the zoom.TokenStore of the verification's token source: a rotated token
// (unlikely within one verification, but possible) goes into the source's secret.
type credentialSaver struct {
	store  CredentialStore
	source string
	creds  zoom.Credentials
}

func (s *credentialSaver) SaveToken(ctx context.Context, tok *oauth2.Token) error {
	s.creds = withToken(s.creds, tok)
	return s.store.SaveCredentials(ctx, s.source, s.creds)
}
