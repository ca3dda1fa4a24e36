package detect

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// wordSeqPatterns are lower-cased rule patterns (lowerPattern's form) and variations; want
// says whether compileWordSeq takes the pattern.
var wordSeqPatterns = []struct {
	pattern string
	want    bool
}{
	{`sign\s+in\s+with\s+two-factor\s+authentication\s*:\s*from\s+on\s+to\s+off\b`, true},
	{`allow\s+cloud\s+recording\s+sharing\s*:\s*from\s+off\s+to\s+on\b`, true},
	{`:\s*from\s+on\s+to\s+off\b`, true},
	{`\b(sso|saml)\b`, false},
	{`\bsso\b`, true},
	{`^\s*delete\s+role\b`, true},
	{`^delete`, true},
	{`^\s*(delete|remove)\s+role\b`, false},
	{`passcode[^:]*:\s*from\s+on\s+to\s+off\b`, false},
	{`cloud\s+recordings?\s*:`, false},
	{`a\s+\s*b`, false},
	{`\s+from`, false},
	{`from\s+on$`, false},
	{`from\s+?on`, false},
	{`x y\s*`, true},
	{`^\s*sign-in\s+methods\s+-\s+(?:.*\s-\s+)?allow\s+users\s+to\s+sign\s+in\s+with\s+[^:]+:\s*from\s+off\s+to\s+on\b`, false},
	{`passcode[^:]*cloud\s+recordings?\s*:\s*from\s+on\s+to\s+off\b`, false},
	{`(ab){2,}c|d`, false},
	{`(ab){2,}(cd)+e?`, false},
}

func TestCompileWordSeq(t *testing.T) {
	for _, tt := range wordSeqPatterns {
		if got := compileWordSeq(tt.pattern) != nil; got != tt.want {
			t.Errorf("compileWordSeq(%q) compiled: %v, want %v", tt.pattern, got, tt.want)
		}
	}
}

// wordSeqTexts are lower-cased operation details, matches and near misses.
var wordSeqTexts = []string{
	"security  - sign in with two-factor authentication: from on to off",
	"security  - sign in with two-factor authentication: from off to on",
	"security  - sign in  with\ttwo-factor authentication :from  on to off (all users)",
	"security  - sign in with two-factor authentication: from on to offline",
	"sign in with sign in with two-factor authentication: from on to off",
	"edit group a  - allow cloud recording sharing: from off to on",
	"allow cloud recording sharing:from off to on_",
	"delete role  auditors",
	"  delete role auditors",
	"x delete role auditors",
	"single sign-on  - sso: from a to b",
	"ssologin",
	"x y",
	"x yz",
	"",
}

func TestWordSeqMatchesRegexp(t *testing.T) {
	n := 0
	for _, tt := range wordSeqPatterns {
		ws := compileWordSeq(tt.pattern)
		if ws == nil {
			continue
		}
		re := regexp.MustCompile(tt.pattern)
		for _, s := range wordSeqTexts {
			if got, want := ws.MatchString(s), re.MatchString(s); got != want {
				t.Errorf("%q on %q: %v, regexp says %v", tt.pattern, s, got, want)
			}
			if ws.MatchString(s) {
				n++
			}
		}
	}
	if n < 8 {
		t.Errorf("only %d matches: the texts do not exercise the patterns", n)
	}
}

func TestRequiredLiterals(t *testing.T) {
	tests := map[string][]string{
		`^\s*sign-in\s+methods\s+-\s+(?:.*\s-\s+)?allow\s+users`: {"sign-in", "methods", "allow", "users"},
		`passcode[^:]*cloud\s+recordings?\s*:`:                   {"recording", "passcode", "cloud"},
		`(ab){2,}(cd)+e?|x`:                                      nil,
		`(ab){2,}(cd)+e?`:                                        {"ab", "cd"},
		`\b(sso|saml)\b`:                                         nil,
	}
	for pattern, want := range tests {
		if got := requiredLiterals(pattern); !slices.Equal(got, want) {
			t.Errorf("requiredLiterals(%q) = %q, want %q", pattern, got, want)
		}
	}
	for _, tt := range wordSeqPatterns {
		checkRequired(t, tt.pattern, wordSeqTexts)
	}
}

// checkRequired fails when a text matching pattern lacks one of its required literals.
func checkRequired(t *testing.T, pattern string, texts []string) {
	t.Helper()
	re := regexp.MustCompile(pattern)
	for _, s := range texts {
		if !re.MatchString(s) {
			continue
		}
		for _, lit := range requiredLiterals(pattern) {
			if !strings.Contains(s, lit) {
				t.Fatalf("%q matches %q but lacks its required literal %q", pattern, s, lit)
			}
		}
	}
}

// FuzzWordSeq checks the matcher against Go's regexp on fuzzed text for every pattern it
// compiles.
func FuzzWordSeq(f *testing.F) {
	for _, s := range wordSeqTexts {
		f.Add(s)
	}
	type pair struct {
		ws *wordSeq
		re *regexp.Regexp
	}
	var ps []pair
	for _, tt := range wordSeqPatterns {
		if ws := compileWordSeq(tt.pattern); ws != nil {
			ps = append(ps, pair{ws, regexp.MustCompile(tt.pattern)})
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, tt := range wordSeqPatterns {
			checkRequired(t, tt.pattern, []string{s})
		}
		for _, p := range ps {
			if got, want := p.ws.MatchString(s), p.re.MatchString(s); got != want {
				t.Fatalf("%s on %q: %v, regexp says %v", p.re, s, got, want)
			}
		}
	})
}
