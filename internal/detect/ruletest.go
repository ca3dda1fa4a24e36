package detect

import (
	"context"
	"fmt"

	"github.com/zoomwatch/zoomwatch/internal/event"
)

// TestResult is the outcome of one inline test of a rule.
type TestResult struct {
	// RuleID and File name the rule.
	RuleID string
	File   string
	// Name is the test's name; empty for a rule that has no tests at all (which fails).
	Name   string
	Passed bool
	// Reason says why a test failed.
	Reason string
}

// Test runs every rule's inline tests, disabled rules included, each on fresh state, and
// returns one result per test in rule order. A rule without tests yields one failed result.
func (rs *RuleSet) Test() []TestResult {
	var out []TestResult
	for _, r := range rs.rules {
		if len(r.Tests) == 0 {
			out = append(out, TestResult{RuleID: r.ID, File: r.File, Reason: "rule has no tests"})
			continue
		}
		for _, tc := range r.Tests {
			res := TestResult{RuleID: r.ID, File: r.File, Name: tc.Name}
			res.Reason = runTest(r, tc)
			res.Passed = res.Reason == ""
			out = append(out, res)
		}
	}
	return out
}

// runTest evaluates one test case and returns "" when it passes, else why it failed.
func runTest(r *Rule, tc RuleTest) string {
	enabled := *r
	enabled.Enabled = true
	tested := &enabled
	if len(tc.Params) > 0 {
		var err error
		if tested, err = enabled.withTestParams(tc.Params); err != nil {
			return err.Error()
		}
	}
	set, err := NewRuleSet(tested)
	if err != nil {
		return err.Error()
	}
	eng := NewEngine(set, NewMemState(), Options{NoDedup: true, Source: "test"})
	w := eng.NewWorker()
	ctx := context.Background()
	var matches []Match
	if tc.LogType != "" {
		if err := w.dec.object(tc.Log); err != nil {
			return fmt.Sprintf("log: %v", err)
		}
		matches, err = w.evalRecord(ctx, tc.Log, tc.LogType, nil)
	} else {
		if _, ierr := event.InferLogType(tc.Log); ierr != nil && !looksLikeEnvelope(tc.Log) {
			return fmt.Sprintf("log: %v (set log_type)", ierr)
		}
		matches, err = w.EvalJSON(ctx, tc.Log, nil)
	}
	if err != nil {
		return fmt.Sprintf("log: %v", err)
	}
	if w.lastErr != nil {
		return fmt.Sprintf("condition failed: %v", w.lastErr)
	}
	switch {
	case tc.Expect && len(matches) == 0:
		return "expected a match, got none"
	case !tc.Expect && len(matches) > 0:
		return fmt.Sprintf("expected no match, but it matched with title %q", matches[0].Title)
	case tc.Expect && tc.Title != "" && matches[0].Title != tc.Title:
		return fmt.Sprintf("title %q, want %q", matches[0].Title, tc.Title)
	}
	return ""
}

func looksLikeEnvelope(b []byte) bool {
	var d decoder
	return d.object(b) == nil && d.f.isEnvelope(b)
}
