package detect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/zoomwatch/zoomwatch/internal/alert"
	"github.com/zoomwatch/zoomwatch/internal/tuning"
)

// Override is the JSON value of a rules/<RuleID> tuning parameter (DESIGN.md "Tuning").
// Absent fields leave the shipped setting alone.
type Override struct {
	// Enabled, Severity, Threshold and DedupMinutes replace the rule's settings.
	Enabled      *bool   `json:"enabled,omitempty"`
	Severity     *string `json:"severity,omitempty"`
	Threshold    *int    `json:"threshold,omitempty"`
	DedupMinutes *int    `json:"dedup_minutes,omitempty"`
	// LearnDays replaces a first_seen rule's learning period (Rule.FirstSeenLearn); 0 ends
	// learning.
	LearnDays *int `json:"learn_days,omitempty"`
	// Suppress lists values to ignore: "actors" skips events whose actor is listed, "ips"
	// events whose first IP is listed; any other key names a list param of the rule and is
	// appended to it (e.g. "allowed_domains").
	Suppress map[string][]string `json:"suppress,omitempty"`
	// Params replace the rule's params of the same name.
	Params map[string]any `json:"params,omitempty"`
}

// maxDedupMinutes caps dedup_minutes at 30 days, beyond which state TTLs stop making sense.
const maxDedupMinutes = 30 * 24 * 60

// maxLearnDays caps learn_days at Zoom's history of about six months: a longer period would
// never end on anything the poller can read.
const maxLearnDays = 180

// OverrideError is a rejected tuning value; the rule (or setting) keeps its last good value.
type OverrideError struct {
	// RuleID is empty for detect/min_severity.
	RuleID string
	// Reason says why the value was rejected.
	Reason string
}

// Error implements error.
func (e *OverrideError) Error() string {
	if e.RuleID == "" {
		return "tuning " + e.Param() + " ignored: " + e.Reason
	}
	return fmt.Sprintf("tuning override for rule %s ignored: %s", e.RuleID, e.Reason)
}

// Param names the rejected tuning parameter: rules/<RuleID> or detect/min_severity.
func (e *OverrideError) Param() string {
	if e.RuleID == "" {
		return tuning.DetectMinSeverity
	}
	return tuning.RulePrefix + e.RuleID
}

// Tuning is the detector's share of the tuning parameters.
type Tuning struct {
	// Overrides are the rules/<RuleID> values keyed by rule ID.
	Overrides map[string]string
	// MinSeverity, when set, keeps rules below it from running.
	MinSeverity string
}

// TuningFrom picks the detector's parameters out of all tuning parameters (names relative to
// the stage prefix).
func TuningFrom(params map[string]string) Tuning {
	return Tuning{Overrides: tuning.RuleOverrides(params), MinSeverity: params[tuning.DetectMinSeverity]}
}

// Tune returns base (the shipped rules) with t applied. last is the set in force before (nil
// at start): a rule whose override is rejected keeps its settings from last, and a rejected
// min_severity keeps last's. One error per rejected value; overrides naming no loaded rule are
// reported too, so typos in rule IDs do not pass silently.
func Tune(base, last *RuleSet, t Tuning) (*RuleSet, []error) {
	var errs []error
	minSev := alert.Severity("")
	if last != nil {
		minSev = last.minSeverity
	}
	if s := strings.TrimSpace(t.MinSeverity); s != "" {
		if sev, err := ParseSeverity(s); err != nil {
			errs = append(errs, &OverrideError{Reason: err.Error()})
		} else {
			minSev = sev
		}
	} else {
		minSev = ""
	}
	ids := make([]string, 0, len(t.Overrides))
	for id := range t.Overrides {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if _, ok := base.Rule(id); !ok {
			errs = append(errs, &OverrideError{RuleID: id, Reason: "no such rule"})
		}
	}
	rules := make([]*Rule, 0, len(base.rules))
	for _, r := range base.rules {
		text, ok := t.Overrides[r.ID]
		if !ok {
			rules = append(rules, r)
			continue
		}
		tuned, err := r.withOverride(text)
		if err != nil {
			errs = append(errs, err)
			if last != nil {
				if prev, ok := last.Rule(r.ID); ok {
					tuned = prev
				}
			}
			if tuned == nil {
				tuned = r
			}
		}
		rules = append(rules, tuned)
	}
	rs, err := newRuleSet(minSev, rules)
	if err != nil {
		// Unreachable: base already had unique IDs.
		return base, append(errs, err)
	}
	return rs, errs
}

// withOverride returns a copy of r with the override applied, or an *OverrideError.
func (r *Rule) withOverride(text string) (*Rule, error) {
	reject := func(format string, args ...any) error {
		return &OverrideError{RuleID: r.ID, Reason: fmt.Sprintf(format, args...)}
	}
	var o Override
	dec := json.NewDecoder(bytes.NewReader([]byte(text)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o); err != nil {
		return nil, reject("not a JSON object of enabled, severity, threshold, dedup_minutes, learn_days, suppress, params: %v", err)
	}
	nr := *r
	if o.Enabled != nil {
		nr.Enabled = *o.Enabled
	}
	if o.Severity != nil {
		sev, err := ParseSeverity(*o.Severity)
		if err != nil {
			return nil, reject("%v", err)
		}
		nr.Severity = sev
	}
	if o.Threshold != nil {
		if *o.Threshold < 1 {
			return nil, reject("threshold must be at least 1, got %d", *o.Threshold)
		}
		nr.Threshold = *o.Threshold
	}
	if o.DedupMinutes != nil {
		if *o.DedupMinutes < 1 || *o.DedupMinutes > maxDedupMinutes {
			return nil, reject("dedup_minutes must be between 1 and %d, got %d", maxDedupMinutes, *o.DedupMinutes)
		}
		nr.DedupPeriod = time.Duration(*o.DedupMinutes) * time.Minute
	}
	if o.LearnDays != nil {
		switch {
		case r.firstSeen == nil:
			return nil, reject("learn_days applies only to first_seen rules")
		case *o.LearnDays < 0 || *o.LearnDays > maxLearnDays:
			return nil, reject("learn_days must be between 0 and %d, got %d", maxLearnDays, *o.LearnDays)
		}
		nr.FirstSeenLearn = time.Duration(*o.LearnDays) * 24 * time.Hour
	}
	nr.Params = make(map[string]any, len(r.Params))
	for k, v := range r.Params {
		nr.Params[k] = v
	}
	for k, v := range o.Params {
		old, known := r.Params[k]
		if !known {
			return nil, reject("rule has no param %q (it has: %s)", k, strings.Join(paramNames(r.Params), ", "))
		}
		if err := sameKind(old, v); err != nil {
			return nil, reject("param %q: %v", k, err)
		}
		nr.Params[k] = v
	}
	nr.suppressed = nil
	for k, list := range o.Suppress {
		switch k {
		case "actors", "ips":
			if nr.suppressed == nil {
				nr.suppressed = map[string]map[string]bool{}
			}
			set := map[string]bool{}
			for _, v := range list {
				set[strings.ToLower(strings.TrimSpace(v))] = true
			}
			nr.suppressed[k] = set
		default:
			old, known := nr.Params[k]
			oldList, isList := old.([]any)
			if !known || (!isList && old != nil) {
				return nil, reject("suppress %q: not actors, ips or a list param of the rule", k)
			}
			merged := append([]any(nil), oldList...)
			for _, v := range list {
				merged = append(merged, v)
			}
			nr.Params[k] = merged
		}
	}
	nr.compileNative()
	return &nr, nil
}

// isSuppressed reports whether a suppression list names the event's actor or IP.
func (r *Rule) isSuppressed(e *Env) bool {
	if r.suppressed == nil {
		return false
	}
	if set := r.suppressed["actors"]; set != nil && set[strings.ToLower(e.Actor)] {
		return true
	}
	if set := r.suppressed["ips"]; set != nil && set[strings.ToLower(e.IP)] {
		return true
	}
	return false
}

func paramNames(p map[string]any) []string {
	names := make([]string, 0, len(p))
	for k := range p {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// sameKind rejects an override whose JSON kind differs from the shipped value's (a list for a
// list, a number for a number …), so a typo cannot turn a list into a string.
func sameKind(old, v any) error {
	kind := func(x any) string {
		switch x.(type) {
		case nil:
			return "null"
		case []any:
			return "list"
		case string:
			return "string"
		case bool:
			return "bool"
		case float64, int, int64, uint64:
			return "number"
		case map[string]any:
			return "object"
		}
		return fmt.Sprintf("%T", x)
	}
	if old == nil {
		return nil
	}
	if ko, kv := kind(old), kind(v); ko != kv {
		return fmt.Errorf("want a %s, got a %s", ko, kv)
	}
	return nil
}
