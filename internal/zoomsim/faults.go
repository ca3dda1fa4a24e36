package zoomsim

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Faults are failures the simulator injects into report requests (never into /oauth), to test
// that clients retry, back off, restart windows and refresh tokens the way real Zoom requires.
// Rates are fractions in [0,1] drawn from a generator seeded by Config.Seed, so a given
// request sequence fails the same way every run.
type Faults struct {
	// ServerErrorRate is the fraction of report requests answered 500, 502 or 503, with
	// Zoom's JSON error body or with an empty body.
	ServerErrorRate float64
	// Burst429 makes the next N report requests fail with a per-second 429.
	Burst429 int
	// RetryAfter is the Retry-After form of injected per-second 429s: "seconds" (default),
	// "timestamp" (an absolute RFC 3339 time, as Zoom sends for the daily limit) or "none"
	// (no header, as has been seen from Zoom).
	RetryAfter string
	// DailyLimitExhausted answers every report request 429 with X-RateLimit-Type Daily-limit
	// and Retry-After at the next UTC midnight.
	DailyLimitExhausted bool
	// SlowRate is the fraction of report requests delayed by Slow (real time) before they
	// are answered, to push a client past its timeout.
	SlowRate float64
	// Slow is the delay of slowed requests.
	Slow time.Duration
	// TruncateRate is the fraction of report requests answered 200 with the body cut off in
	// the middle of the JSON.
	TruncateRate float64
	// HTMLRate is the fraction of report requests answered 502 or 503 with an HTML error page,
	// as a proxy in front of Zoom would send.
	HTMLRate float64
	// ExpirePageTokens rejects page tokens with code 300 once per paging window: the first
	// next_page_token presented for a window (same report, from, to, page_size and category)
	// after SetFaults fails; a client that restarts the window from page 1 then pages through.
	ExpirePageTokens bool
	// ExpireAccessTokens invalidates every access token issued before SetFaults; they are
	// answered 401, code 124. Tokens issued afterwards work.
	ExpireAccessTokens bool
}

// Retry-After forms of Faults.RetryAfter.
const (
	RetryAfterSeconds   = "seconds"
	RetryAfterTimestamp = "timestamp"
	RetryAfterNone      = "none"
)

// Validate reports values the simulator cannot apply.
func (f Faults) Validate() error {
	var errs []error
	for _, r := range []struct {
		name string
		v    float64
	}{{"ServerErrorRate", f.ServerErrorRate}, {"SlowRate", f.SlowRate}, {"TruncateRate", f.TruncateRate}, {"HTMLRate", f.HTMLRate}} {
		if !(r.v >= 0 && r.v <= 1) {
			errs = append(errs, fmt.Errorf("%s %v must be between 0 and 1", r.name, r.v))
		}
	}
	if f.Burst429 < 0 {
		errs = append(errs, fmt.Errorf("Burst429 %d must not be negative", f.Burst429))
	}
	switch f.RetryAfter {
	case "", RetryAfterSeconds, RetryAfterTimestamp, RetryAfterNone:
	default:
		errs = append(errs, fmt.Errorf("RetryAfter %q must be seconds, timestamp or none", f.RetryAfter))
	}
	if f.SlowRate > 0 && f.Slow <= 0 {
		errs = append(errs, errors.New("SlowRate is set but Slow is not a positive duration"))
	}
	if f.Slow < 0 {
		errs = append(errs, fmt.Errorf("Slow %s must not be negative", f.Slow))
	}
	return errors.Join(errs...)
}

// faultNames lists the names ParseFaults accepts, with the form of their value, for messages.
const faultNames = "5xx=RATE, 429=COUNT, retry-after=seconds|timestamp|none, daily-limit, " +
	"slow=RATE:DURATION, truncate=RATE, html=RATE, expire-page-tokens, expire-access-tokens"

// ParseFaults reads the command-line form of Faults: comma-separated items such as
// "5xx=0.1,429=5,truncate=0.05,html=0.05,slow=0.1:3s,expire-page-tokens". Each name may appear
// once; rates are decimals in [0,1]. The empty string is no faults.
func ParseFaults(spec string) (Faults, error) {
	var f Faults
	if strings.TrimSpace(spec) == "" {
		return f, nil
	}
	seen := map[string]bool{}
	for item := range strings.SplitSeq(spec, ",") {
		item = strings.TrimSpace(item)
		name, value, hasValue := strings.Cut(item, "=")
		name = strings.TrimSpace(name)
		value = strings.TrimSpace(value)
		if name == "" {
			return Faults{}, fmt.Errorf("fault spec %q: empty item (want %s)", spec, faultNames)
		}
		if seen[name] {
			return Faults{}, fmt.Errorf("fault %q given twice", name)
		}
		seen[name] = true
		needValue := func() error {
			if !hasValue || value == "" {
				return fmt.Errorf("fault %q needs a value (%s)", name, faultNames)
			}
			return nil
		}
		noValue := func() error {
			if hasValue {
				return fmt.Errorf("fault %q takes no value, got %q", name, value)
			}
			return nil
		}
		var err error
		switch name {
		case "5xx":
			if err = needValue(); err == nil {
				f.ServerErrorRate, err = parseRate(name, value)
			}
		case "429":
			if err = needValue(); err == nil {
				f.Burst429, err = strconv.Atoi(value)
				if err != nil || f.Burst429 < 0 {
					err = fmt.Errorf("fault 429=%q: want a count of requests, a whole number >= 0", value)
				}
			}
		case "retry-after":
			if err = needValue(); err == nil {
				f.RetryAfter = value
				if value != RetryAfterSeconds && value != RetryAfterTimestamp && value != RetryAfterNone {
					err = fmt.Errorf("fault retry-after=%q: want seconds, timestamp or none", value)
				}
			}
		case "daily-limit":
			err = noValue()
			f.DailyLimitExhausted = true
		case "slow":
			if err = needValue(); err == nil {
				rate, dur, ok := strings.Cut(value, ":")
				if !ok {
					err = fmt.Errorf("fault slow=%q: want RATE:DURATION, e.g. slow=0.1:3s", value)
					break
				}
				if f.SlowRate, err = parseRate(name, rate); err != nil {
					break
				}
				f.Slow, err = time.ParseDuration(dur)
				if err != nil || f.Slow <= 0 {
					err = fmt.Errorf("fault slow=%q: %q is not a positive duration such as 3s", value, dur)
				}
			}
		case "truncate":
			if err = needValue(); err == nil {
				f.TruncateRate, err = parseRate(name, value)
			}
		case "html":
			if err = needValue(); err == nil {
				f.HTMLRate, err = parseRate(name, value)
			}
		case "expire-page-tokens":
			err = noValue()
			f.ExpirePageTokens = true
		case "expire-access-tokens":
			err = noValue()
			f.ExpireAccessTokens = true
		default:
			err = fmt.Errorf("unknown fault %q (known: %s)", name, faultNames)
		}
		if err != nil {
			return Faults{}, err
		}
	}
	return f, nil
}

func parseRate(name, s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || !(v >= 0 && v <= 1) {
		return 0, fmt.Errorf("fault %s=%q: want a rate between 0 and 1, e.g. 0.1", name, s)
	}
	return v, nil
}

// String renders f in the form ParseFaults reads, so that ParseFaults(f.String()) == f.
func (f Faults) String() string {
	var items []string
	rate := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	if f.ServerErrorRate != 0 {
		items = append(items, "5xx="+rate(f.ServerErrorRate))
	}
	if f.Burst429 != 0 {
		items = append(items, "429="+strconv.Itoa(f.Burst429))
	}
	if f.RetryAfter != "" {
		items = append(items, "retry-after="+f.RetryAfter)
	}
	if f.DailyLimitExhausted {
		items = append(items, "daily-limit")
	}
	if f.SlowRate != 0 || f.Slow != 0 {
		items = append(items, "slow="+rate(f.SlowRate)+":"+f.Slow.String())
	}
	if f.TruncateRate != 0 {
		items = append(items, "truncate="+rate(f.TruncateRate))
	}
	if f.HTMLRate != 0 {
		items = append(items, "html="+rate(f.HTMLRate))
	}
	if f.ExpirePageTokens {
		items = append(items, "expire-page-tokens")
	}
	if f.ExpireAccessTokens {
		items = append(items, "expire-access-tokens")
	}
	return strings.Join(items, ",")
}
