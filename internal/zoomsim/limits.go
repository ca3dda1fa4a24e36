package zoomsim

import (
	"math"
	"net/http"
	"strconv"
	"time"
)

// Values of X-RateLimit-Type.
const (
	RateLimitPerSecond = "Per-second-limit"
	RateLimitDaily     = "Daily-limit"
)

// throttleAnswer is a 429 to send.
type throttleAnswer struct {
	kind       string // RateLimitPerSecond or RateLimitDaily
	limit      int
	retryAfter string // "" sends no Retry-After
}

func (t *throttleAnswer) write(w http.ResponseWriter) {
	h := w.Header()
	h.Set("X-RateLimit-Category", "Heavy")
	h.Set("X-RateLimit-Type", t.kind)
	h.Set("X-RateLimit-Limit", strconv.Itoa(t.limit))
	h.Set("X-RateLimit-Remaining", "0")
	if t.retryAfter != "" {
		h.Set("Retry-After", t.retryAfter)
	}
	msg := msgPerSecondLimit
	if t.kind == RateLimitDaily {
		msg = msgDailyLimit
	}
	writeZoomError(w, http.StatusTooManyRequests, CodeRateLimited, msg, nil)
}

// nextMidnight is when Zoom's daily budget resets, as Zoom writes it in Retry-After.
func nextMidnight(now time.Time) string {
	return now.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour).Format(time.RFC3339)
}

// throttle applies injected and real rate limits to one report request. It returns the 429
// to send, or nil and counts the request against the daily budget. Callers hold mu.
func (s *Server) throttle(now time.Time) *throttleAnswer {
	day := now.UTC().Truncate(24 * time.Hour)
	if !day.Equal(s.dayStart) {
		s.dayStart, s.dayCount = day, 0
	}
	perSecondLimit := max(s.cfg.PerSecondLimit, 0)
	dailyLimit := max(s.cfg.DailyLimit, 0)
	var t *throttleAnswer
	switch {
	case s.faults.DailyLimitExhausted:
		t = &throttleAnswer{kind: RateLimitDaily, limit: dailyLimit, retryAfter: nextMidnight(now)}
		s.stats.Injected429++
	case s.burstLeft > 0:
		s.burstLeft--
		t = &throttleAnswer{kind: RateLimitPerSecond, limit: perSecondLimit}
		switch s.faults.RetryAfter {
		case RetryAfterTimestamp:
			t.retryAfter = now.Add(time.Second).Truncate(time.Second).Format(time.RFC3339)
		case RetryAfterNone:
		default:
			t.retryAfter = "1"
		}
		s.stats.Injected429++
	case s.cfg.DailyLimit > 0 && s.dayCount >= s.cfg.DailyLimit:
		t = &throttleAnswer{kind: RateLimitDaily, limit: dailyLimit, retryAfter: nextMidnight(now)}
	case s.limiter != nil && !s.limiter.AllowN(now, 1):
		wait := (1 - s.limiter.TokensAt(now)) / float64(s.limiter.Limit())
		t = &throttleAnswer{kind: RateLimitPerSecond, limit: perSecondLimit,
			retryAfter: strconv.Itoa(max(1, int(math.Ceil(wait))))}
	}
	if t == nil {
		s.dayCount++
		return nil
	}
	if t.kind == RateLimitDaily {
		s.stats.Daily429++
	} else {
		s.stats.PerSecond429++
	}
	return t
}

// drawnFaults is what the injected faults do to one request.
type drawnFaults struct {
	serverError int // 500, 502 or 503; 0 for none
	emptyBody   bool
	html        int // 502 or 503 with an HTML page; 0 for none
	slow        bool
	truncate    bool
}

// drawFaults decides the random faults of one request. It always draws the same number of
// values so that the sequence of outcomes depends only on the seed and the request count.
// Callers hold mu.
func (s *Server) drawFaults() drawnFaults {
	f := s.faults
	rng := s.faultRand
	var d drawnFaults
	errDraw, errKind, errBody := rng.Float64(), rng.IntN(3), rng.IntN(2)
	htmlDraw, htmlKind := rng.Float64(), rng.IntN(2)
	slowDraw, truncDraw := rng.Float64(), rng.Float64()
	if errDraw < f.ServerErrorRate {
		d.serverError = []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable}[errKind]
		d.emptyBody = errBody == 1
	}
	if htmlDraw < f.HTMLRate {
		d.html = []int{http.StatusBadGateway, http.StatusServiceUnavailable}[htmlKind]
	}
	d.slow = slowDraw < f.SlowRate && f.Slow > 0
	d.truncate = truncDraw < f.TruncateRate
	return d
}
