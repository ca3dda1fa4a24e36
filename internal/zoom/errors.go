package zoom

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/zoomwatch/zoomwatch/internal/event"
)

// Zoom error codes this package branches on (API-FACTS.md, "Errors").
const (
	codeInvalidToken    = 124
	codeNoPermission    = 200
	codeValidation      = 300 // also an expired or unknown next_page_token
	codeMissingScopes   = 4700
	codeMissingScopes2  = 4711 // "Invalid access token, does not contain scopes" on some APIs
	codeBadClientID     = 4702
	codeBadClientSecret = 4704
	codeBadGrantType    = 4705
)

// AuthError means Zoom did not accept the app's identity: an access token refused even after
// a fresh one was fetched (HTTP 401, code 124), or a wrong client id or secret at the token
// endpoint (invalid_client, codes 4702/4704). Retrying does not help; the credentials must be
// fixed.
type AuthError struct {
	// Endpoint is the path that refused ("/report/activities", "/oauth/token").
	Endpoint string
	// Status is the HTTP status.
	Status int
	// Code is Zoom's error code, when the body carried one.
	Code int
	// OAuthError is the token endpoint's "error" ("invalid_client"), when it sent one.
	OAuthError string
	// Message is Zoom's message or reason, cleaned for logs.
	Message string
}

func (e *AuthError) Error() string {
	return "zoom " + e.Endpoint + ": authentication failed" + describe(e.Status, e.Code, e.OAuthError, e.Message) +
		": check the client id and secret of the Zoom app"
}

// Scope names a report endpoint needs (either the classic or the granular one).
const (
	ScopeReportRead         = "report:read:admin"
	ScopeOperationLogsRead  = "report:read:operation_logs:admin"
	ScopeUserActivitiesRead = "report:read:user_activities:admin"
)

// PermissionError means the app or the authorizing user may not read a report: the user lacks
// admin report rights (HTTP 400, code 200) or the app lacks a scope (code 4700). It is a
// configuration error to show to an admin, never retried.
type PermissionError struct {
	// Endpoint is the report path.
	Endpoint string
	// LogType is the report's log type.
	LogType event.LogType
	// Status is the HTTP status.
	Status int
	// Code is Zoom's error code (200 or 4700).
	Code int
	// Message is Zoom's message, cleaned for logs.
	Message string
	// MissingScopes is true when the app lacks a scope (code 4700) rather than the user lacking
	// report rights (code 200).
	MissingScopes bool
	// Scopes lists the scopes that grant the report, any one of which is enough.
	Scopes []string
}

func (e *PermissionError) Error() string {
	var fix string
	if e.MissingScopes {
		fix = "the Zoom app lacks a scope: add " + strings.Join(e.Scopes, " or ") + " and authorize it again"
	} else {
		fix = "the authorizing user needs admin rights to view reports (Admin Activity Logs, Sign In/Sign Out)"
	}
	return "zoom " + e.Endpoint + ": permission denied" + describe(e.Status, e.Code, "", e.Message) + ": " + fix
}

// GrantRejectedError means Zoom refused the refresh token or authorization code
// (invalid_grant, "Invalid Token!"). For a rotating refresh token this is final: the token was
// used, revoked or expired, and an admin must authorize zoomwatch again.
type GrantRejectedError struct {
	// Grant is the grant type that was refused ("refresh_token", "authorization_code").
	Grant string
	// Status is the HTTP status.
	Status int
	// OAuthError is the token endpoint's "error" (usually "invalid_grant").
	OAuthError string
	// Reason is Zoom's reason ("Invalid Token!"), cleaned for logs.
	Reason string
}

func (e *GrantRejectedError) Error() string {
	what := "refresh token"
	if e.Grant == "authorization_code" {
		what = "authorization code"
	}
	return "zoom rejected the " + what + describe(e.Status, 0, e.OAuthError, e.Reason) +
		": an admin must authorize zoomwatch again"
}

// TokenSaveError means Zoom issued a new token (and so retired the old refresh token) but the
// TokenStore could not save it. The new access token was not used. The token source keeps the
// new token in memory and tries to save it again on its next call; if the process ends first,
// an admin must authorize zoomwatch again.
type TokenSaveError struct {
	// Err is the store's error.
	Err error
}

func (e *TokenSaveError) Error() string {
	return fmt.Sprintf("save rotated zoom token: %v (the new token was not used)", e.Err)
}

// Unwrap returns the store's error.
func (e *TokenSaveError) Unwrap() error { return e.Err }

// TokenEndpointError is a token request that failed without a verdict on the credentials: a
// network failure, a timeout, a server error, an unreadable answer, or a refusal other than
// invalid_grant/invalid_client.
type TokenEndpointError struct {
	// Grant is the grant type requested.
	Grant string
	// Status is the HTTP status, 0 if no response arrived.
	Status int
	// Code is Zoom's error code, when the body carried one.
	Code int
	// OAuthError is the token endpoint's "error", when it sent one.
	OAuthError string
	// Reason is Zoom's reason or message, cleaned for logs.
	Reason string
	// MaybeConsumed is true when a refresh request may have reached Zoom and rotated the refresh
	// token although no usable answer came back. Repeating it blindly cannot recover the lost
	// token and races a refresh Zoom may still be processing, so the source that returned this
	// error does not refresh again; a new source built from the stored token (the next poll
	// cycle, under its lease) makes one deliberate attempt, which either works or is rejected
	// with invalid_grant.
	MaybeConsumed bool
	// Err is the underlying failure, if any (never carries a token or secret).
	Err error
}

func (e *TokenEndpointError) Error() string {
	s := "zoom token request (" + e.Grant + ") failed" + describe(e.Status, e.Code, e.OAuthError, e.Reason)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	if e.MaybeConsumed {
		s += " (the refresh token may have been used; not retried)"
	}
	return s
}

// Unwrap returns the underlying failure.
func (e *TokenEndpointError) Unwrap() error { return e.Err }

// Temporary reports whether asking again may succeed and is safe: no answer or a server error
// for a request that consumes nothing (account credentials, or a refresh that never left this
// machine).
func (e *TokenEndpointError) Temporary() bool {
	return !e.MaybeConsumed && (e.Status == 0 || e.Status == 429 || e.Status >= 500)
}

// RateLimitError means Zoom's rate limit stopped a request: the daily limit (not retried,
// Daily is true) or per-second limits that outlasted the retry budget.
type RateLimitError struct {
	// Endpoint is the report path.
	Endpoint string
	// Daily is true for Zoom's daily limit (X-RateLimit-Type: Daily-limit).
	Daily bool
	// RetryAt is when Zoom said to try again (from Retry-After); zero if it did not say.
	RetryAt time.Time
	// Type and Category echo X-RateLimit-Type and X-RateLimit-Category.
	Type, Category string
	// Message is Zoom's message, cleaned for logs.
	Message string
}

func (e *RateLimitError) Error() string {
	s := "zoom " + e.Endpoint + ": rate limited"
	if e.Daily {
		s = "zoom " + e.Endpoint + ": daily rate limit reached"
	}
	if e.Type != "" {
		s += " (" + e.Type + ")"
	}
	if !e.RetryAt.IsZero() {
		s += "; retry at " + e.RetryAt.UTC().Format(time.RFC3339)
	}
	return s
}

// ResponseError is an answer Zoom's API does not document: an unexpected status, a body that is
// not JSON, truncated JSON, an HTML page, a page without its records array, or records that are
// not objects. It names the endpoint and status; it never means "no events".
type ResponseError struct {
	// Endpoint is the report path.
	Endpoint string
	// Status is the HTTP status.
	Status int
	// Code and Message are Zoom's error code and message, when the body carried them.
	Code    int
	Message string
	// Problem says what was wrong ("body is not JSON", "missing operation_logs array", …).
	Problem string
	// Err is the underlying decoding or transport error, if any.
	Err error
}

func (e *ResponseError) Error() string {
	s := "zoom GET " + e.Endpoint + ": bad response"
	if e.Status != 0 {
		s += fmt.Sprintf(" (HTTP %d)", e.Status)
	}
	if e.Problem != "" {
		s += ": " + e.Problem
	}
	if e.Code != 0 || e.Message != "" {
		s += describe(0, e.Code, "", e.Message)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying error.
func (e *ResponseError) Unwrap() error { return e.Err }

// WindowError rejects a report window Zoom cannot serve in one request: From after To, or
// longer than MaxWindowDays (Zoom may silently clamp longer ranges, losing events).
type WindowError struct {
	From, To time.Time
	// Days is the number of whole days from From through To.
	Days int
}

func (e *WindowError) Error() string {
	if e.Days < 1 {
		return fmt.Sprintf("zoom report window %s..%s: from is after to", day(e.From), day(e.To))
	}
	return fmt.Sprintf("zoom report window %s..%s spans %d days; one request may cover at most %d (use SplitWindows)",
		day(e.From), day(e.To), e.Days, MaxWindowDays)
}

// ErrorKind classifies an error for metrics, alarms and the verify command.
type ErrorKind string

// The kinds KindOf returns.
const (
	KindOK            ErrorKind = "ok"
	KindAuth          ErrorKind = "auth"
	KindPermission    ErrorKind = "permission"
	KindGrantRejected ErrorKind = "grant_rejected"
	KindTokenSave     ErrorKind = "token_save"
	KindTokenEndpoint ErrorKind = "token_endpoint"
	KindDailyLimit    ErrorKind = "daily_limit"
	KindRateLimit     ErrorKind = "rate_limited"
	KindBadResponse   ErrorKind = "bad_response"
	KindBadWindow     ErrorKind = "bad_window"
	KindCanceled      ErrorKind = "canceled"
	KindNetwork       ErrorKind = "network"
	KindOther         ErrorKind = "other"
)

// KindOf classifies err; nil is KindOK.
func KindOf(err error) ErrorKind {
	var (
		authErr   *AuthError
		permErr   *PermissionError
		grantErr  *GrantRejectedError
		saveErr   *TokenSaveError
		tokErr    *TokenEndpointError
		rateErr   *RateLimitError
		respErr   *ResponseError
		windowErr *WindowError
		urlErr    *url.Error
		opErr     *net.OpError
		netErr    net.Error
	)
	switch {
	case err == nil:
		return KindOK
	case errors.As(err, &grantErr):
		return KindGrantRejected
	case errors.As(err, &saveErr):
		return KindTokenSave
	case errors.As(err, &authErr):
		return KindAuth
	case errors.As(err, &permErr):
		return KindPermission
	case errors.As(err, &tokErr):
		return KindTokenEndpoint
	case errors.As(err, &rateErr):
		if rateErr.Daily {
			return KindDailyLimit
		}
		return KindRateLimit
	case errors.As(err, &respErr):
		return KindBadResponse
	case errors.As(err, &windowErr):
		return KindBadWindow
	case errors.As(err, &urlErr), errors.As(err, &opErr):
		// A request's own timeout also wraps context.DeadlineExceeded; it is a network
		// failure, not the caller giving up (Client returns that as a bare context error).
		return KindNetwork
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return KindCanceled
	case errors.As(err, &netErr):
		return KindNetwork
	}
	return KindOther
}

// zoomError is the body of Zoom's API and OAuth errors: {"code","message"} or
// {"reason","error"}.
type zoomError struct {
	Code    json.Number `json:"code"`
	Message string      `json:"message"`
	Reason  string      `json:"reason"`
	Error   string      `json:"error"`
}

func parseZoomError(body []byte) (ze zoomError, ok bool) {
	if err := json.Unmarshal(body, &ze); err != nil {
		return zoomError{}, false
	}
	return ze, true
}

func (z zoomError) code() int {
	n, err := z.Code.Int64()
	if err != nil {
		return 0
	}
	return int(n)
}

func (z zoomError) text() string {
	if z.Message != "" {
		return clean(z.Message)
	}
	return clean(z.Reason)
}

func describe(status, code int, oauthErr, msg string) string {
	var parts []string
	if status != 0 {
		parts = append(parts, fmt.Sprintf("HTTP %d", status))
	}
	if code != 0 {
		parts = append(parts, fmt.Sprintf("code %d", code))
	}
	if oauthErr != "" {
		parts = append(parts, oauthErr)
	}
	s := strings.Join(parts, ", ")
	if msg != "" {
		if s != "" {
			s += ": "
		}
		s += fmt.Sprintf("%q", msg)
	}
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}

// clean bounds text from a response before it reaches an error or a log: printable, one line,
// at most 200 runes. Zoom's messages do not echo credentials; redactToken removes any that
// would.
func clean(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return ' '
	}, s)
	s = strings.TrimSpace(jwtLike.ReplaceAllString(s, redacted))
	if r := []rune(s); len(r) > 200 {
		s = string(r[:200]) + "…"
	}
	return s
}

// jwtLike matches a JSON Web Token, the form of Zoom's access tokens.
var jwtLike = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*`)

// redactToken removes secret from s; used on every message built while a token was in flight.
func redactToken(s, secret string) string {
	if len(secret) < 8 {
		return s
	}
	return strings.ReplaceAll(s, secret, redacted)
}

func day(t time.Time) string { return t.UTC().Format(time.DateOnly) }
