package zoom

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// TokenStore persists a source's token. SaveToken must make tok durable before it returns: for
// an OAuth app the refresh token inside it is the only one that still works.
type TokenStore interface {
	SaveToken(ctx context.Context, tok *oauth2.Token) error
}

// Invalidator is implemented by the token sources of this package: Invalidate drops tok from
// the cache (if it is still the cached token) after Zoom refused it, so the next Token call
// fetches a new one.
type Invalidator interface {
	Invalidate(tok *oauth2.Token)
}

const (
	grantRefresh  = "refresh_token"
	grantAuthCode = "authorization_code"
	grantAccount  = "account_credentials"
	tokenPath     = "/oauth/token"
)

// NewTokenSource returns the token source for creds: account credentials for "s2s", rotating
// refresh tokens for "oauth". The source caches its access token until TokenExpiryMargin before
// expiry, lets one caller at a time fetch a new one (the others wait and share it), and can be
// told to drop a token Zoom refused (Invalidator).
//
// For "oauth", store is required: every refresh rotates the refresh token, and the new token is
// saved through store before its access token is returned. For "s2s", store is optional; if
// given, minted tokens are saved on a best-effort basis so the next process can reuse them.
//
// ctx bounds when a new token may be requested; build a source per poll cycle from the stored
// credentials. A refresh that has started is not cut off by ctx (see rotatingSource).
func NewTokenSource(ctx context.Context, cfg Config, creds Credentials, store TokenStore) (oauth2.TokenSource, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if err := creds.Validate(); err != nil {
		return nil, err
	}
	var seed *oauth2.Token
	if creds.AccessToken != "" && !creds.Expiry.IsZero() {
		seed = &oauth2.Token{
			AccessToken:  creds.AccessToken.Reveal(),
			TokenType:    "Bearer",
			RefreshToken: creds.RefreshToken.Reveal(),
			Expiry:       creds.Expiry,
		}
	}
	var src oauth2.TokenSource
	switch creds.AuthType {
	case AuthS2S:
		src = &accountSource{
			ctx: ctx,
			cfg: cfg,
			cc: &clientcredentials.Config{
				ClientID:     creds.ClientID,
				ClientSecret: creds.ClientSecret.Reveal(),
				TokenURL:     cfg.AuthBase + tokenPath,
				EndpointParams: url.Values{
					"grant_type": {grantAccount},
					"account_id": {creds.AccountID},
				},
				AuthStyle: oauth2.AuthStyleInHeader,
			},
			store: store,
		}
	case AuthOAuth:
		if store == nil {
			return nil, errors.New("zoom token source: an OAuth app needs a TokenStore: its refresh token rotates on every refresh")
		}
		src = &rotatingSource{
			ctx:          ctx,
			cfg:          cfg,
			oc:           oauthConfig(cfg, creds.ClientID, creds.ClientSecret, ""),
			store:        store,
			refreshToken: creds.RefreshToken.Reveal(),
		}
	}
	return newCachedSource(src, seed, cfg.Now), nil
}

// cachedSource hands out one access token until shortly before it expires. It is
// oauth2.ReuseTokenSourceWithExpiry plus two things that one lacks: an injectable clock, and
// Invalidate for a token Zoom refused before its expiry. Its mutex also makes refreshes single
// flight: callers that find the token stale wait for the one refresh in progress.
type cachedSource struct {
	src oauth2.TokenSource
	now func() time.Time

	mu        sync.Mutex
	tok       *oauth2.Token
	refreshAt time.Time // zero: no known expiry, use until invalidated
}

func newCachedSource(src oauth2.TokenSource, seed *oauth2.Token, now func() time.Time) *cachedSource {
	c := &cachedSource{src: src, now: now}
	if seed != nil {
		c.tok, c.refreshAt = seed, seed.Expiry.Add(-TokenExpiryMargin)
	}
	return c
}

// Token returns the cached token or fetches a new one.
func (c *cachedSource) Token() (*oauth2.Token, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.tok != nil && (c.refreshAt.IsZero() || now.Before(c.refreshAt)) {
		return cloneToken(c.tok), nil
	}
	tok, err := c.src.Token()
	if err != nil {
		return nil, err
	}
	c.tok, c.refreshAt = tok, time.Time{}
	if !tok.Expiry.IsZero() {
		// Tokens shorter-lived than twice the margin (test servers) are replaced halfway
		// through their life rather than on every call.
		margin := min(TokenExpiryMargin, tok.Expiry.Sub(now)/2)
		c.refreshAt = tok.Expiry.Add(-margin)
	}
	return cloneToken(tok), nil
}

// Invalidate drops tok if it is still the cached token; a newer token fetched meanwhile by
// another caller is kept.
func (c *cachedSource) Invalidate(tok *oauth2.Token) {
	if tok == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tok != nil && c.tok.AccessToken == tok.AccessToken {
		c.tok = nil
	}
}

func cloneToken(t *oauth2.Token) *oauth2.Token {
	cp := *t
	return &cp
}

// accountSource mints Server-to-Server tokens (grant_type=account_credentials). Minting
// consumes nothing, so a failed request may simply be asked again.
type accountSource struct {
	ctx   context.Context
	cfg   Config
	cc    *clientcredentials.Config
	store TokenStore
}

func (s *accountSource) Token() (*oauth2.Token, error) {
	if err := s.ctx.Err(); err != nil {
		return nil, fmt.Errorf("zoom token request not started: %w", err)
	}
	ctx, cancel := context.WithTimeout(withHTTPClient(s.ctx, s.cfg), s.cfg.Timeout)
	defer cancel()
	// Config.Token builds a fresh clientcredentials source each call, so this always asks Zoom;
	// caching is cachedSource's job.
	tok, err := s.cc.Token(ctx)
	if err != nil {
		err = tokenError(grantAccount, err, false, s.cc.ClientSecret)
		s.cfg.Logger.WarnContext(s.ctx, "zoom token request failed", "grant", grantAccount, "error_kind", string(KindOf(err)))
		return nil, err
	}
	stampExpiry(tok, s.cfg.Now())
	if s.store != nil {
		if err := s.store.SaveToken(ctx, cloneToken(tok)); err != nil {
			// Not fatal: the token is not rotating, losing it costs one more mint.
			s.cfg.Logger.WarnContext(s.ctx, "zoom access token not cached in the store", "error", err.Error())
		}
	}
	return tok, nil
}

// rotatingSource refreshes an OAuth app's access token with its rotating refresh token. Zoom
// retires the old refresh token the moment it answers, with no grace period, so:
//
//   - Before the new access token is returned, the new token is saved through the store. If the
//     save fails, the token is kept here unsaved, a *TokenSaveError is returned, and the next
//     call tries to save it again; it is never handed out before it is durable.
//   - A refresh that started is not cancelled with the caller's context (only bounded by
//     Config.Timeout): cancelling it after Zoom rotated would lose the only valid token.
//   - A refresh whose answer was lost or unreadable is not repeated (MaybeConsumed): if Zoom
//     did rotate, the old token is dead whatever we do, and a second request could race one
//     Zoom is still processing. The source stays failed; the next poll cycle builds a new one
//     from the stored token, makes one deliberate attempt, and learns the truth (a new token or
//     invalid_grant).
//   - A rejected grant (invalid_grant) or client (invalid_client) is final for this source.
//
// Within one process, cachedSource serialises callers; across processes the poller's lease on
// the source keeps a single refresher.
type rotatingSource struct {
	ctx   context.Context
	cfg   Config
	oc    *oauth2.Config
	store TokenStore

	mu           sync.Mutex
	refreshToken string
	pending      *oauth2.Token // issued by Zoom, not yet saved
	failed       error         // final failure of this source
}

func (s *rotatingSource) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed != nil {
		return nil, s.failed
	}
	if s.pending == nil {
		if err := s.ctx.Err(); err != nil {
			return nil, fmt.Errorf("zoom token refresh not started: %w", err)
		}
		ctx, cancel := context.WithTimeout(withHTTPClient(context.WithoutCancel(s.ctx), s.cfg), s.cfg.Timeout)
		defer cancel()
		// An empty access token makes the oauth2 source refresh at once.
		tok, err := s.oc.TokenSource(ctx, &oauth2.Token{RefreshToken: s.refreshToken}).Token()
		if err != nil {
			err = tokenError(grantRefresh, err, true, s.refreshToken, s.oc.ClientSecret)
			if final(err) {
				s.failed = err
				s.cfg.Logger.ErrorContext(s.ctx, "zoom refresh token unusable; an admin must authorize zoomwatch again if this persists",
					"grant", grantRefresh, "error_kind", string(KindOf(err)), "error", err.Error())
			}
			return nil, err
		}
		stampExpiry(tok, s.cfg.Now())
		// From here the old refresh token is dead; only tok's refresh token works.
		s.pending, s.refreshToken = tok, tok.RefreshToken
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), s.cfg.Timeout)
	defer cancel()
	if err := s.store.SaveToken(ctx, cloneToken(s.pending)); err != nil {
		s.cfg.Logger.ErrorContext(s.ctx, "rotated zoom token not saved; it will not be used until it is",
			"error_kind", string(KindTokenSave), "error", err.Error())
		return nil, &TokenSaveError{Err: err}
	}
	tok := s.pending
	s.pending = nil
	return tok, nil
}

// final reports whether a refresh failure ends this source (see rotatingSource).
func final(err error) bool {
	var (
		grant *GrantRejectedError
		auth  *AuthError
		tok   *TokenEndpointError
	)
	return errors.As(err, &grant) || errors.As(err, &auth) || (errors.As(err, &tok) && tok.MaybeConsumed)
}

// stampExpiry recomputes Expiry from expires_in on the configured clock (the oauth2 package
// uses the wall clock).
func stampExpiry(tok *oauth2.Token, now time.Time) {
	secs := tok.ExpiresIn
	if secs == 0 {
		// clientcredentials does not copy expires_in into the token; it stays in the raw answer.
		switch v := tok.Extra("expires_in").(type) {
		case float64:
			secs = int64(v)
		case string:
			secs, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	if secs > 0 {
		tok.Expiry = now.Add(time.Duration(secs) * time.Second)
	}
}

func withHTTPClient(ctx context.Context, cfg Config) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, cfg.HTTPClient)
}

func oauthConfig(cfg Config, clientID string, secret Secret, redirectURI string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     clientID,
		ClientSecret: secret.Reveal(),
		RedirectURL:  redirectURI,
		Endpoint: oauth2.Endpoint{
			AuthURL:   cfg.AuthBase + "/oauth/authorize",
			TokenURL:  cfg.AuthBase + tokenPath,
			AuthStyle: oauth2.AuthStyleInHeader,
		},
	}
}

// tokenError turns an oauth2 failure into this package's typed errors. The *oauth2.RetrieveError
// is not kept in the chain: its Response still references the request, whose Authorization
// header holds the client secret, and its Error text includes the raw body.
func tokenError(grant string, err error, rotating bool, secrets ...string) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		// No HTTP answer, or a 2xx answer that could not be read. A refresh that never left this
		// machine (DNS, connection refused) consumed nothing; anything later may have.
		return &TokenEndpointError{Grant: grant, Err: err, MaybeConsumed: rotating && !notSent(err)}
	}
	status := 0
	if re.Response != nil {
		status = re.Response.StatusCode
	}
	ze, _ := parseZoomError(re.Body)
	oauthErr := re.ErrorCode
	if oauthErr == "" {
		oauthErr = ze.Error
	}
	oauthErr = clean(oauthErr)
	reason := ze.text()
	if reason == "" {
		reason = clean(re.ErrorDescription)
	}
	for _, sec := range secrets {
		reason = redactToken(reason, sec)
	}
	code := ze.code()
	switch {
	case grant != grantAccount && (oauthErr == "invalid_grant" || strings.Contains(strings.ToLower(reason), "invalid token")):
		return &GrantRejectedError{Grant: grant, Status: status, OAuthError: oauthErr, Reason: reason}
	case oauthErr == "invalid_client" || code == codeBadClientID || code == codeBadClientSecret || status == 401:
		return &AuthError{Endpoint: tokenPath, Status: status, Code: code, OAuthError: oauthErr, Message: reason}
	}
	return &TokenEndpointError{
		Grant: grant, Status: status, Code: code, OAuthError: oauthErr, Reason: reason,
		// A 4xx refusal means Zoom did not act on the grant; a 5xx or an error inside a 2xx
		// may come after it did.
		MaybeConsumed: rotating && (status < 400 || status >= 500),
	}
}

// notSent reports whether err happened before the request could reach the server.
func notSent(err error) bool {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return true
	}
	var opErr *net.OpError
	return errors.As(err, &opErr) && opErr.Op == "dial"
}

// AuthCodeURL returns the Zoom page an admin opens to authorize zoomwatch (authorization code
// grant with PKCE S256). state protects the callback against forgery; codeVerifier comes from
// oauth2.GenerateVerifier and must be kept for ExchangeCode.
func AuthCodeURL(cfg Config, clientID, redirectURI, state, codeVerifier string) (string, error) {
	if err := cfg.Validate(); err != nil {
		return "", err
	}
	cfg = cfg.withDefaults()
	switch {
	case clientID == "":
		return "", errors.New("zoom authorize URL: client_id is missing")
	case redirectURI == "":
		return "", errors.New("zoom authorize URL: redirect URI is missing")
	case state == "":
		return "", errors.New("zoom authorize URL: state is missing")
	case codeVerifier == "":
		return "", errors.New("zoom authorize URL: PKCE code verifier is missing")
	}
	return oauthConfig(cfg, clientID, "", redirectURI).AuthCodeURL(state, oauth2.S256ChallengeOption(codeVerifier)), nil
}

// ExchangeCode trades the authorization code from Zoom's callback for the first token pair.
// The caller stores the result (its refresh token starts the rotation) before using it. An
// expired or reused code is a *GrantRejectedError; a wrong client secret an *AuthError.
func ExchangeCode(ctx context.Context, cfg Config, clientID string, clientSecret Secret, code, redirectURI, codeVerifier string) (*oauth2.Token, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	switch {
	case clientID == "":
		return nil, errors.New("zoom code exchange: client_id is missing")
	case clientSecret == "":
		return nil, errors.New("zoom code exchange: client_secret is missing")
	case code == "":
		return nil, errors.New("zoom code exchange: authorization code is missing")
	case codeVerifier == "":
		return nil, errors.New("zoom code exchange: PKCE code verifier is missing")
	}
	ctx, cancel := context.WithTimeout(withHTTPClient(ctx, cfg), cfg.Timeout)
	defer cancel()
	tok, err := oauthConfig(cfg, clientID, clientSecret, redirectURI).Exchange(ctx, code, oauth2.VerifierOption(codeVerifier))
	if err != nil {
		return nil, tokenError(grantAuthCode, err, false, clientSecret.Reveal(), code)
	}
	if tok.RefreshToken == "" {
		return nil, &TokenEndpointError{Grant: grantAuthCode, Status: 200, Reason: "answer has no refresh_token"}
	}
	stampExpiry(tok, cfg.Now())
	return tok, nil
}
