// Package tuning turns the operator-set parameters of DESIGN.md "Tuning" (SSM parameters under
// /zoomwatch/<stage>/, or a local JSON file on a laptop) into typed settings. A value that does
// not parse is reported and ignored, so the last good setting stays in force.
package tuning

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/zoomwatch/zoomwatch/internal/poll"
)

// Parameter names, relative to the stage prefix.
const (
	PollOverlap       = "poll/overlap"
	PollFirstBackfill = "poll/first_backfill"
	PollMaxRPS        = "poll/max_rps"
	PollPageSize      = "poll/page_size"
	DetectMinSeverity = "detect/min_severity"
	// RulePrefix precedes a rule ID; the value is that rule's JSON override.
	RulePrefix = "rules/"
)

// ParamError names a parameter whose value was rejected.
type ParamError struct {
	Name, Value, Reason string
}

func (e *ParamError) Error() string {
	return fmt.Sprintf("tuning parameter %s=%q ignored: %s", e.Name, e.Value, e.Reason)
}

// Poll holds the poller's tunables.
type Poll struct {
	// Poll is applied to the poller's configuration.
	Poll poll.Config
	// MaxRPS is the client-side request budget per second for Zoom.
	MaxRPS float64
	// PageSize is the report page size asked of Zoom.
	PageSize int
}

// ApplyPoll returns base with every valid poll/* parameter of params applied, and one error per
// rejected value. base should be the last good settings.
func ApplyPoll(params map[string]string, base Poll) (Poll, []error) {
	out := base
	var errs []error
	reject := func(name, value, reason string) {
		errs = append(errs, &ParamError{Name: name, Value: value, Reason: reason})
	}
	if v, ok := params[PollOverlap]; ok {
		d, err := ParseDuration(v)
		switch {
		case err != nil:
			reject(PollOverlap, v, err.Error())
		case d < 0 || d > poll.MaxHistory:
			reject(PollOverlap, v, "must be between 0 and 180d")
		default:
			out.Poll.Overlap = d
		}
	}
	if v, ok := params[PollFirstBackfill]; ok {
		d, err := ParseDuration(v)
		switch {
		case err != nil:
			reject(PollFirstBackfill, v, err.Error())
		case d <= 0 || d > poll.MaxHistory:
			reject(PollFirstBackfill, v, "must be more than 0 and at most 180d (Zoom keeps about six months)")
		default:
			out.Poll.FirstBackfill = d
		}
	}
	if v, ok := params[PollMaxRPS]; ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		switch {
		case err != nil:
			reject(PollMaxRPS, v, "not a number")
		case f <= 0 || f > 100:
			reject(PollMaxRPS, v, "must be more than 0 and at most 100 requests per second")
		default:
			out.MaxRPS = f
		}
	}
	if v, ok := params[PollPageSize]; ok {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		switch {
		case err != nil:
			reject(PollPageSize, v, "not an integer")
		case n < 1 || n > 300:
			reject(PollPageSize, v, "must be between 1 and 300 (Zoom's maximum)")
		default:
			out.PageSize = n
		}
	}
	return out, errs
}

// RuleOverrides returns the rules/<RuleID> parameters keyed by rule ID.
func RuleOverrides(params map[string]string) map[string]string {
	out := map[string]string{}
	for name, v := range params {
		if id, ok := strings.CutPrefix(name, RulePrefix); ok && id != "" {
			out[id] = v
		}
	}
	return out
}

// ParseDuration accepts Go durations ("90m", "6h") and whole days ("7d").
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration like 6h, 90m or 7d", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration like 6h, 90m or 7d", s)
	}
	return d, nil
}
