package ascii

import (
	"regexp"
	"strings"
	"testing"
)

// TestClassesMatchRegexp checks IsSpace and IsWord against RE2's \s and \w on every byte.
func TestClassesMatchRegexp(t *testing.T) {
	space, word := regexp.MustCompile(`^\s$`), regexp.MustCompile(`^\w$`)
	for c := 0; c < 256; c++ {
		s := string([]byte{byte(c)})
		if got, want := IsSpace(byte(c)), space.MatchString(s); got != want {
			t.Errorf("IsSpace(%#x) = %v, regexp says %v", c, got, want)
		}
		if got, want := IsWord(byte(c)), word.MatchString(s); got != want {
			t.Errorf("IsWord(%#x) = %v, regexp says %v", c, got, want)
		}
	}
}

func TestFold(t *testing.T) {
	tests := []struct {
		s, sub string
		want   int
	}{
		{"Sign in with Two-Factor", "two-factor", 13},
		{"Sign in with Two-Factor", "TWO-factor", 13},
		{"setting: FROM on", "from", 9},
		{"from", "from", 0},
		{"fro", "from", -1},
		{"", "", 0},
		{"a\x1aB", ":b", -1}, // 0x1a|0x20 is ':', which EqualFold then rejects
		{"Ünïcode role", "ROLE", 10},
	}
	for _, tt := range tests {
		if got := IndexFold(tt.s, tt.sub); got != tt.want {
			t.Errorf("IndexFold(%q, %q) = %d, want %d", tt.s, tt.sub, got, tt.want)
		}
		if tt.want >= 0 && !HasPrefixFold(tt.s[tt.want:], tt.sub) {
			t.Errorf("HasPrefixFold(%q, %q) = false at the index IndexFold found", tt.s[tt.want:], tt.sub)
		}
		ascii := strings.IndexFunc(tt.s, func(r rune) bool { return r >= 0x80 }) < 0
		if want := strings.Index(strings.ToLower(tt.s), strings.ToLower(tt.sub)); ascii && want != tt.want {
			t.Errorf("%q in %q: strings finds %d, the test expects %d", tt.sub, tt.s, want, tt.want)
		}
	}
	if EqualFold("ab", "abc") || !EqualFold("RoLe", "rOlE") {
		t.Error("EqualFold")
	}
}
