package zoomsim

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"
)

// Defaults of Config, matching a Pro account and Zoom's documented lifetimes.
const (
	DefaultSeed              = 1
	DefaultHistoryDays       = 30
	MaxHistoryDays           = 180
	DefaultFutureDays        = 1
	DefaultAccountID         = "sim-account"
	DefaultClientID          = "sim-s2s-client"
	DefaultClientSecret      = "sim-s2s-secret"
	DefaultOAuthClientID     = "sim-oauth-client"
	DefaultOAuthClientSecret = "sim-oauth-secret"
	DefaultPerSecondLimit    = 10
	DefaultDailyLimit        = 30000
	DefaultPageTokenTTL      = 15 * time.Minute
	DefaultLateDelay         = 2 * time.Hour
	DefaultAppName           = "zoomwatch"
	DefaultAuthorizingUser   = "admin@springfield.example"
)

// Lifetimes Zoom documents for its OAuth artefacts.
const (
	accessTokenLifetime = time.Hour
	authCodeLifetime    = 5 * time.Minute
	consentLifetime     = 10 * time.Minute
)

// ScopeReportRead is the classic scope that grants both reports.
const ScopeReportRead = "report:read:admin"

// Config describes the simulated account. The zero value is a 30-day Pro account with the
// default credentials; New fills in defaults and validates.
type Config struct {
	// Now is the clock: token lifetimes, record visibility, page token expiry and rate limits
	// all follow it. Default time.Now.
	Now func() time.Time
	// Epoch anchors the generated history: records and planted incidents are placed relative
	// to it. Default: the clock at New. Two simulators with the same Seed and Epoch serve the
	// same records, so a process that restarts (zoomwatch run) sees the account it saw before.
	Epoch time.Time
	// Seed makes the history deterministic: the same seed and the same clock at New give the
	// same bytes. Default 1.
	Seed int64
	// HistoryDays is how many days of records exist before the clock at New. Default 30, at
	// most 180 (Zoom keeps about six months).
	HistoryDays int
	// ExtraUsers adds that many ordinary users (user0001@…) to the account's 40, for volume:
	// each signs in and out like the others. 0 keeps the history exactly as without it.
	ExtraUsers int
	// FutureDays is how many days after New records are also generated; each becomes visible
	// only once the clock passes its time (plus LateDelay for late ones), so a long-running
	// poller sees new events arrive. Default 1; negative means none.
	FutureDays int

	// AccountID, ClientID and ClientSecret are the Server-to-Server OAuth app's credentials.
	AccountID, ClientID, ClientSecret string
	// OAuthClientID and OAuthClientSecret are the authorization-code app's credentials.
	OAuthClientID, OAuthClientSecret string
	// RedirectURLs are the authorization-code app's allowed redirect URLs. Empty allows any
	// absolute http or https URL (handy for tests on random ports).
	RedirectURLs []string
	// PKCEOptional lets /oauth/authorize accept requests without a PKCE code_challenge, as Zoom
	// does. By default the simulator requires S256 PKCE because zoomwatch always sends it.
	PKCEOptional bool
	// AppName is the authorization-code app's name shown on the consent page.
	AppName string
	// AuthorizingUser is the admin shown as signed in on the consent page.
	AuthorizingUser string

	// Scopes are granted to every token issued. nil means ["report:read:admin"]; an empty
	// non-nil slice grants none (every report request then fails with code 4700).
	Scopes []string
	// NoReportPermission simulates an authorizing user without report rights: every report
	// request fails with HTTP 400, code 200.
	NoReportPermission bool

	// PerSecondLimit is the account's per-second budget for these Heavy APIs. 0 means the Pro
	// default of 10; negative disables the limit.
	PerSecondLimit int
	// DailyLimit is the account's daily budget (UTC days). 0 means 30000; negative disables.
	DailyLimit int
	// Latency is added to every report request, in real time (for benchmarks).
	Latency time.Duration
	// PageTokenTTL is how long a next_page_token stays valid. Default 15 minutes.
	PageTokenTTL time.Duration
	// LateDelay is how long late-arriving records stay invisible after their time. Default 2h;
	// negative means no record arrives late.
	LateDelay time.Duration

	// Logger receives one line per request (method, path, status; never a token). nil: silent.
	Logger *slog.Logger
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Seed == 0 {
		c.Seed = DefaultSeed
	}
	if c.HistoryDays == 0 {
		c.HistoryDays = DefaultHistoryDays
	}
	switch {
	case c.FutureDays == 0:
		c.FutureDays = DefaultFutureDays
	case c.FutureDays < 0:
		c.FutureDays = -1
	}
	setDefault(&c.AccountID, DefaultAccountID)
	setDefault(&c.ClientID, DefaultClientID)
	setDefault(&c.ClientSecret, DefaultClientSecret)
	setDefault(&c.OAuthClientID, DefaultOAuthClientID)
	setDefault(&c.OAuthClientSecret, DefaultOAuthClientSecret)
	setDefault(&c.AppName, DefaultAppName)
	setDefault(&c.AuthorizingUser, DefaultAuthorizingUser)
	if c.Scopes == nil {
		c.Scopes = []string{ScopeReportRead}
	}
	if c.PerSecondLimit == 0 {
		c.PerSecondLimit = DefaultPerSecondLimit
	}
	if c.DailyLimit == 0 {
		c.DailyLimit = DefaultDailyLimit
	}
	if c.PageTokenTTL == 0 {
		c.PageTokenTTL = DefaultPageTokenTTL
	}
	if c.LateDelay == 0 {
		c.LateDelay = DefaultLateDelay
	}
	return c
}

func setDefault(field *string, def string) {
	if *field == "" {
		*field = def
	}
}

// Validate reports every field of c (after defaults) that the simulator cannot honour.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.HistoryDays < 1 || c.HistoryDays > MaxHistoryDays {
		errs = append(errs, fmt.Errorf("HistoryDays %d must be between 1 and %d", c.HistoryDays, MaxHistoryDays))
	}
	if c.ExtraUsers < 0 || c.ExtraUsers > 5000 {
		errs = append(errs, fmt.Errorf("ExtraUsers %d must be between 0 and 5000", c.ExtraUsers))
	}
	if c.FutureDays > 30 {
		errs = append(errs, fmt.Errorf("FutureDays %d must be at most 30", c.FutureDays))
	}
	if c.ClientID == c.OAuthClientID {
		errs = append(errs, errors.New("ClientID and OAuthClientID must differ: they name two different apps"))
	}
	if c.Latency < 0 {
		errs = append(errs, fmt.Errorf("Latency %s must not be negative", c.Latency))
	}
	if c.PageTokenTTL < 0 {
		errs = append(errs, fmt.Errorf("PageTokenTTL %s must not be negative", c.PageTokenTTL))
	}
	for _, s := range c.Scopes {
		if s == "" {
			errs = append(errs, errors.New("Scopes must not contain an empty scope"))
		}
	}
	for _, r := range c.RedirectURLs {
		if !absoluteHTTPURL(r) {
			errs = append(errs, fmt.Errorf("RedirectURLs entry %q is not an absolute http(s) URL", r))
		}
	}
	return errors.Join(errs...)
}

// absoluteHTTPURL reports whether s is an absolute http or https URL without a fragment, the
// only kind of redirect URL Zoom accepts.
func absoluteHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.Fragment == ""
}
