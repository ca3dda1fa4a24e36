package zoom

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults and limits of Config.
const (
	// DefaultAPIBase is Zoom's REST API base.
	DefaultAPIBase = "https://api.zoom.us/v2"
	// DefaultAuthBase is Zoom's OAuth host (/oauth/token, /oauth/authorize).
	DefaultAuthBase = "https://zoom.us"
	// DefaultMaxRPS keeps one source under Zoom's Pro plan limit for "Heavy" APIs (10 req/s),
	// leaving room for other apps on the same account, which share the limit.
	DefaultMaxRPS = 8
	// DefaultPageSize is the largest page Zoom serves, so a window needs the fewest requests.
	DefaultPageSize = 300
	// MaxPageSize is the largest page_size Zoom accepts.
	MaxPageSize = 300
	// DefaultTimeout bounds one HTTP request.
	DefaultTimeout = 30 * time.Second
	// DefaultMaxRetries bounds the retries of one request (server errors, timeouts, connection
	// failures, garbled bodies and per-second 429s share the budget).
	DefaultMaxRetries = 5
	// TokenExpiryMargin is how long before its expiry an access token is replaced, so a token
	// never expires between being handed out and Zoom checking it.
	TokenExpiryMargin = 5 * time.Minute
)

// Config configures a Client and the token sources. The zero value of a field means its
// default; Validate rejects values no request could work with.
type Config struct {
	// APIBase is the REST API base URL. Default https://api.zoom.us/v2.
	APIBase string
	// AuthBase is the OAuth base URL. Default https://zoom.us.
	AuthBase string
	// MaxRPS is this client's request budget per second (a token bucket with burst 1).
	// Default 8. math.Inf(1) turns the client-side limit off (the simulator, tests).
	MaxRPS float64
	// PageSize is the page_size sent with every report request, 1–300. Default 300.
	PageSize int
	// Timeout bounds each HTTP request (API and token endpoint). Default 30s.
	Timeout time.Duration
	// MaxRetries bounds the retries of one request. Default 5; negative means no retries.
	MaxRetries int
	// HTTPClient sends every request. Default: a client on http.DefaultTransport. Its own
	// Timeout, if any, applies on top of Timeout.
	HTTPClient *http.Client
	// Now is the clock used for token expiry, rate limiting and Retry-After. Default time.Now.
	Now func() time.Time
	// Sleep waits d or until ctx is done, returning ctx.Err() then. Default: a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Logger receives retry and token events (never a token or secret). Default: discard.
	Logger *slog.Logger
	// OnRateLimited, if set, is told about every 429 Zoom answers (daily is true for the daily
	// limit), so callers can count them; retries are the client's business.
	OnRateLimited func(daily bool)
}

func (c Config) withDefaults() Config {
	if c.APIBase == "" {
		c.APIBase = DefaultAPIBase
	}
	c.APIBase = strings.TrimRight(c.APIBase, "/")
	if c.AuthBase == "" {
		c.AuthBase = DefaultAuthBase
	}
	c.AuthBase = strings.TrimRight(c.AuthBase, "/")
	if c.MaxRPS == 0 {
		c.MaxRPS = DefaultMaxRPS
	}
	if c.PageSize == 0 {
		c.PageSize = DefaultPageSize
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = DefaultMaxRetries
	} else if c.MaxRetries < 0 {
		c.MaxRetries = 0
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Transport: http.DefaultTransport}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Sleep == nil {
		c.Sleep = sleep
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return c
}

// Validate reports settings no request could work with.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	for _, u := range []struct{ name, v string }{{"APIBase", c.APIBase}, {"AuthBase", c.AuthBase}} {
		p, err := url.Parse(u.v)
		if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			errs = append(errs, fmt.Errorf("%s %q is not an http(s) URL", u.name, u.v))
		} else if p.RawQuery != "" || p.Fragment != "" {
			errs = append(errs, fmt.Errorf("%s %q must not have a query or fragment", u.name, u.v))
		}
	}
	if !(c.MaxRPS > 0) || (c.MaxRPS > 1000 && !math.IsInf(c.MaxRPS, 1)) {
		errs = append(errs, fmt.Errorf("MaxRPS %g is outside 0–1000 (or +Inf for no client-side limit)", c.MaxRPS))
	}
	if c.PageSize < 1 || c.PageSize > MaxPageSize {
		errs = append(errs, fmt.Errorf("PageSize %d is outside 1–%d", c.PageSize, MaxPageSize))
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("Timeout %s is negative", c.Timeout))
	}
	if c.MaxRetries > 100 {
		errs = append(errs, fmt.Errorf("MaxRetries %d is more than 100", c.MaxRetries))
	}
	if len(errs) > 0 {
		return fmt.Errorf("zoom config: %w", errors.Join(errs...))
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
