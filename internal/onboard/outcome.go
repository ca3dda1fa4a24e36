package onboard

import (
	"github.com/zoomwatch/zoomwatch/internal/zoom"
)

// OutcomeKind names what happened on a request; each kind has its own page.
type OutcomeKind string

// The outcomes of /start and /callback.
const (
	// Connected: tokens stored, and both reports were read.
	Connected OutcomeKind = "connected"
	// ConnectedUnverified: tokens stored, but reading the reports failed for a reason that is
	// not a permission problem (rate limit, network, Zoom error); the poller will retry.
	ConnectedUnverified OutcomeKind = "connected_unverified"
	// MissingScopes: tokens stored, but the app lacks a report scope (Zoom code 4700).
	MissingScopes OutcomeKind = "missing_scopes"
	// NoReportPermission: tokens stored, but the authorizing user may not view reports (code 200).
	NoReportPermission OutcomeKind = "no_report_permission"
	// AccessDenied: the admin declined on Zoom's consent page (error=access_denied).
	AccessDenied OutcomeKind = "access_denied"
	// ZoomRefused: Zoom redirected back with another error parameter.
	ZoomRefused OutcomeKind = "zoom_error"
	// BadState: the state is missing, malformed or forged.
	BadState OutcomeKind = "bad_state"
	// ExpiredState: the state was genuine but older than StateTTL.
	ExpiredState OutcomeKind = "expired_state"
	// ReplayedState: the state was already used.
	ReplayedState OutcomeKind = "replayed_state"
	// OtherBrowser: the state was genuine but the browser lacks the cookie /start set.
	OtherBrowser OutcomeKind = "other_browser"
	// CodeRejected: Zoom refused the authorization code (expired, used, or wrong redirect).
	CodeRejected OutcomeKind = "code_rejected"
	// BadClient: Zoom refused the app's client id or secret.
	BadClient OutcomeKind = "bad_client"
	// ZoomUnavailable: the token endpoint failed without a verdict (network, 5xx).
	ZoomUnavailable OutcomeKind = "zoom_unavailable"
	// StoreFailed: the credentials could not be read or the tokens could not be saved.
	StoreFailed OutcomeKind = "store_failed"
	// NotConfigured: the source's secret has no client id or secret yet.
	NotConfigured OutcomeKind = "not_configured"
	// BadSetupToken: /start without the right setup token.
	BadSetupToken OutcomeKind = "bad_setup_token"
	// UnknownSource: /start for a source this deployment does not connect.
	UnknownSource OutcomeKind = "unknown_source"
	// BadRequest: a request no page can serve (missing code, wrong method).
	BadRequest OutcomeKind = "bad_request"
	// NotFound: an unknown path.
	NotFound OutcomeKind = "not_found"
)

// Outcome is what one request came to. It holds no token or secret.
type Outcome struct {
	// Kind says what happened.
	Kind OutcomeKind
	// Source is the source id, when known and genuine.
	Source string
	// Scopes are the scopes Zoom granted, when a code was exchanged.
	Scopes []string
	// Verify is the verification result, when tokens were stored.
	Verify zoom.VerifyResult
	// ZoomError is the error parameter of Zoom's redirect (ZoomRefused), already sanitised.
	ZoomError string
	// Err is the underlying failure, if any (free of credentials).
	Err error
}

// Stored reports whether this outcome saved new tokens for the source.
func (o Outcome) Stored() bool {
	switch o.Kind {
	case Connected, ConnectedUnverified, MissingScopes, NoReportPermission:
		return true
	}
	return false
}

// OK reports whether the source is connected and both reports are readable.
func (o Outcome) OK() bool { return o.Kind == Connected }
