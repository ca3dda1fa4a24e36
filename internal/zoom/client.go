package zoom

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/time/rate"

	"github.com/zoomwatch/zoomwatch/internal/event"
)

const (
	// maxWindowRestarts bounds how often one window starts over after Zoom rejected its page
	// token: once is normal (a token older than 15 minutes), more means something is wrong.
	maxWindowRestarts = 3
	// maxPagesPerWindow stops a server that keeps handing out new page tokens.
	maxPagesPerWindow = 100_000
	// maxBodyBytes bounds one page in memory; 300 records are a few hundred KB.
	maxBodyBytes = 32 << 20
	// backoffBase and backoffCap shape the exponential backoff with full jitter.
	backoffBase = 500 * time.Millisecond
	backoffCap  = 30 * time.Second
	// maxRetryAfter is the longest per-second Retry-After waited out in place; a longer one is
	// returned as a *RateLimitError so the caller can reschedule instead of holding a Lambda.
	maxRetryAfter = 2 * time.Minute
)

// Client reads Zoom's report endpoints for one source. It is safe for concurrent use; all
// requests share one rate limiter.
type Client struct {
	cfg Config
	ts  oauth2.TokenSource
	lim *rate.Limiter
}

// New returns a Client that authorizes its requests with ts, normally from NewTokenSource. If
// ts implements Invalidator, a token Zoom refuses is dropped and replaced once per request.
func New(cfg Config, ts oauth2.TokenSource) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if ts == nil {
		return nil, errors.New("zoom client: token source is nil")
	}
	cfg = cfg.withDefaults()
	return &Client{
		cfg: cfg,
		ts:  ts,
		// Burst 1: requests are spread evenly, since Zoom counts per-second limits per account.
		lim: rate.NewLimiter(limitOf(cfg.MaxRPS), 1),
	}, nil
}

// Pages reads one report window, from and to being whole UTC days (inclusive, at most
// MaxWindowDays apart; a longer window is a *WindowError), and calls fn with each page's
// records, exactly the bytes Zoom sent, in Zoom's order. Every page of the window is asked
// with the same from, to and page_size. If Zoom rejects a page token (it expires after 15
// minutes), the window starts again from its first page, so fn may see records again: callers
// dedupe. An error from fn stops paging and is returned as is.
func (c *Client) Pages(ctx context.Context, lt event.LogType, from, to time.Time, fn func(records []json.RawMessage) error) error {
	ep, err := endpointOf(lt)
	if err != nil {
		return err
	}
	w, err := checkWindow(from, to)
	if err != nil {
		return err
	}
	for restart := 0; ; restart++ {
		err := c.window(ctx, ep, w, fn)
		var expired *pageTokenError
		if !errors.As(err, &expired) {
			return err
		}
		if restart >= maxWindowRestarts {
			return &ResponseError{Endpoint: ep.path, Status: expired.status, Code: codeValidation, Message: expired.message,
				Problem: fmt.Sprintf("page token rejected %d times while paging %s..%s", restart+1, day(w.From), day(w.To))}
		}
		c.cfg.Logger.WarnContext(ctx, "zoom page token rejected; reading the window again from its first page",
			"endpoint", ep.path, "log_type", string(ep.logType), "from", day(w.From), "to", day(w.To), "restart", restart+1)
	}
}

func limitOf(rps float64) rate.Limit {
	if math.IsInf(rps, 1) {
		return rate.Inf
	}
	return rate.Limit(rps)
}

// pageTokenError is Zoom refusing a next_page_token (code 300 on a follow-up page).
type pageTokenError struct {
	status  int
	message string
}

func (e *pageTokenError) Error() string { return "page token rejected" }

func (c *Client) window(ctx context.Context, ep endpoint, w Window, fn func([]json.RawMessage) error) error {
	token := ""
	for n := 0; n < maxPagesPerWindow; n++ {
		p, err := c.page(ctx, ep, w, token)
		if err != nil {
			return err
		}
		if err := fn(p.records); err != nil {
			return err
		}
		if p.next == "" {
			return nil
		}
		if p.next == token {
			return &ResponseError{Endpoint: ep.path, Status: http.StatusOK, Problem: "next_page_token did not change between pages"}
		}
		token = p.next
	}
	return &ResponseError{Endpoint: ep.path, Status: http.StatusOK, Problem: fmt.Sprintf("more than %d pages in one window", maxPagesPerWindow)}
}

// attempt is the outcome of one request.
type attempt struct {
	page   page
	err    error
	status int
	// retry: a transient failure that may be asked again after a pause.
	retry bool
	// after: the pause the server asked for (Retry-After); negative if it did not say.
	after time.Duration
	// reauth: Zoom refused the access token; tok is the token it refused.
	reauth bool
	tok    *oauth2.Token
}

// page fetches one report page under the client's single retry policy: per-second 429s,
// server errors, timeouts, connection failures and damaged bodies are retried with backoff
// (or the server's Retry-After) up to MaxRetries times; a refused access token is replaced
// once; everything else is returned at once.
func (c *Client) page(ctx context.Context, ep endpoint, w Window, token string) (page, error) {
	q := url.Values{
		"from":      {day(w.From)},
		"to":        {day(w.To)},
		"page_size": {strconv.Itoa(c.cfg.PageSize)},
	}
	if token != "" {
		q.Set("next_page_token", token)
	}
	u := c.cfg.APIBase + ep.path + "?" + q.Encode()
	reauthed := false
	for retries := 0; ; {
		a := c.once(ctx, ep, u, token != "")
		if a.err == nil {
			return a.page, nil
		}
		if err := ctx.Err(); err != nil {
			return page{}, fmt.Errorf("zoom GET %s: %w", ep.path, err)
		}
		if a.reauth {
			if reauthed {
				return page{}, a.err
			}
			reauthed = true
			if inv, ok := c.ts.(Invalidator); ok {
				inv.Invalidate(a.tok)
			}
			c.cfg.Logger.WarnContext(ctx, "zoom refused the access token; fetching a new one",
				"endpoint", ep.path, "status", a.status)
			continue
		}
		if !a.retry || retries >= c.cfg.MaxRetries {
			return page{}, a.err
		}
		d := a.after
		if d < 0 {
			d = backoff(retries)
		} else if d > maxRetryAfter {
			return page{}, a.err
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
			// Waiting past the caller's deadline only to be cancelled helps nobody.
			return page{}, a.err
		}
		retries++
		c.cfg.Logger.WarnContext(ctx, "zoom request failed; retrying",
			"endpoint", ep.path, "status", a.status, "error_kind", string(KindOf(a.err)),
			"retry", retries, "delay", d.String())
		if err := c.cfg.Sleep(ctx, d); err != nil {
			return page{}, fmt.Errorf("zoom GET %s: %w", ep.path, err)
		}
	}
}

// once sends one request and classifies the answer.
func (c *Client) once(ctx context.Context, ep endpoint, u string, paging bool) attempt {
	if err := c.waitTurn(ctx); err != nil {
		return attempt{err: err}
	}
	tok, err := c.ts.Token()
	if err != nil {
		var te *TokenEndpointError
		return attempt{
			err:   fmt.Errorf("zoom GET %s: get access token: %w", ep.path, err),
			retry: errors.As(err, &te) && te.Temporary(),
			after: -1,
		}
	}
	actx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodGet, u, nil)
	if err != nil {
		return attempt{err: fmt.Errorf("zoom GET %s: build request: %w", ep.path, err)}
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "zoomwatch")
	tok.SetAuthHeader(req)
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		// Connection failures and timeouts; net/http's error names the URL (no credentials:
		// the token travels in a header) and strips any password from it.
		return attempt{err: fmt.Errorf("zoom GET %s: %w", ep.path, err), retry: true, after: -1}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes+1))
	_ = resp.Body.Close()
	a := attempt{status: resp.StatusCode, after: -1, tok: tok}
	if err != nil {
		a.err = &ResponseError{Endpoint: ep.path, Status: resp.StatusCode, Problem: "body cut off", Err: err}
		a.retry = true
		return a
	}
	if len(body) > maxBodyBytes {
		a.err = &ResponseError{Endpoint: ep.path, Status: resp.StatusCode, Problem: fmt.Sprintf("body larger than %d bytes", maxBodyBytes)}
		return a
	}
	now := c.cfg.Now()
	retryAt, hasRetryAt := parseRetryAfter(resp.Header.Get("Retry-After"), now)
	if hasRetryAt {
		a.after = max(retryAt.Sub(now), 0)
	}
	ze, _ := parseZoomError(body)
	msg := redactToken(ze.text(), tok.AccessToken)
	code := ze.code()
	switch st := resp.StatusCode; {
	case st == http.StatusOK:
		p, err := decodePage(body, ep.field)
		if err != nil {
			a.err = &ResponseError{Endpoint: ep.path, Status: st, Problem: err.Error()}
			// A damaged body may be a one-off; a well-formed answer of the wrong shape is not.
			a.retry = !errors.Is(err, errPageShape)
			a.after = -1
			return a
		}
		a.page = p
		return attempt{page: p}
	case st == http.StatusTooManyRequests:
		rle := &RateLimitError{
			Endpoint: ep.path,
			Type:     clean(resp.Header.Get("X-RateLimit-Type")),
			Category: clean(resp.Header.Get("X-RateLimit-Category")),
			Message:  msg,
		}
		if hasRetryAt {
			rle.RetryAt = retryAt
		}
		rle.Daily = strings.EqualFold(rle.Type, "Daily-limit") ||
			(rle.Type == "" && strings.Contains(strings.ToLower(msg), "daily"))
		a.err, a.retry = rle, !rle.Daily
		if c.cfg.OnRateLimited != nil {
			c.cfg.OnRateLimited(rle.Daily)
		}
		return a
	case st == http.StatusUnauthorized || code == codeInvalidToken:
		a.err = &AuthError{Endpoint: ep.path, Status: st, Code: code, Message: msg}
		a.reauth = true
		return a
	case st >= 500:
		a.err = &ResponseError{Endpoint: ep.path, Status: st, Code: code, Message: msg, Problem: "server error"}
		a.retry = true
		return a
	case code == codeValidation && paging && (st == http.StatusBadRequest || st == http.StatusNotFound):
		a.err = &pageTokenError{status: st, message: msg}
		return a
	case code == codeNoPermission || code == codeMissingScopes || code == codeMissingScopes2 || st == http.StatusForbidden:
		a.err = &PermissionError{
			Endpoint: ep.path, LogType: ep.logType, Status: st, Code: code, Message: msg,
			MissingScopes: code == codeMissingScopes || code == codeMissingScopes2,
			Scopes:        ep.scopes,
		}
		return a
	case code == codeBadClientID || code == codeBadClientSecret:
		a.err = &AuthError{Endpoint: ep.path, Status: st, Code: code, Message: msg}
		return a
	}
	problem := "unexpected status"
	if ze.Code == "" && ze.Message == "" && len(body) > 0 {
		problem = "unexpected status with a body that is not a Zoom error"
	}
	a.err = &ResponseError{Endpoint: ep.path, Status: resp.StatusCode, Code: code, Message: msg, Problem: problem}
	return a
}

// waitTurn takes the next slot of the client-side rate limit on the configured clock, so tests
// with a fake clock and Sleep never wait for real.
func (c *Client) waitTurn(ctx context.Context) error {
	now := c.cfg.Now()
	r := c.lim.ReserveN(now, 1)
	if !r.OK() {
		return errors.New("zoom: rate limiter refused a request")
	}
	d := r.DelayFrom(now)
	if d <= 0 {
		return nil
	}
	if err := c.cfg.Sleep(ctx, d); err != nil {
		r.CancelAt(c.cfg.Now())
		return err
	}
	return nil
}

// backoff is exponential backoff with full jitter: uniform in [0, min(cap, base·2^retry)].
func backoff(retry int) time.Duration {
	d := backoffCap
	if retry < 16 {
		d = min(backoffCap, backoffBase<<retry)
	}
	return time.Duration(rand.Int64N(int64(d) + 1))
}

// retryAfterLayouts are the absolute forms of Retry-After: Zoom's daily limit sends a
// timestamp, HTTP allows an HTTP-date.
var retryAfterLayouts = []string{time.RFC3339, time.RFC1123, time.RFC1123Z, time.RFC850, time.ANSIC, time.DateTime}

// parseRetryAfter reads Retry-After as seconds or as an absolute time; a time in the past means
// "now". ok is false when the header is missing or unreadable.
func parseRetryAfter(v string, now time.Time) (at time.Time, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, false
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs < 0 || secs > 1e7 || secs != secs {
			return time.Time{}, false
		}
		return now.Add(time.Duration(secs * float64(time.Second))), true
	}
	for _, layout := range retryAfterLayouts {
		if t, err := time.Parse(layout, v); err == nil {
			if t.Before(now) {
				t = now
			}
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}
