// Package ascii holds the byte-level text tests zoomwatch's hand-written matchers share: ASCII
// case folding, and the character classes of RE2 (Go's regexp) they reproduce. Each function
// matches what the regexp or strings function it replaces would do on ASCII input; callers
// decide what happens to other bytes.
package ascii

// Lower lower-cases an ASCII letter and returns any other byte unchanged.
func Lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// IsLetter reports whether c is an ASCII letter.
func IsLetter(c byte) bool { return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') }

// IsWord is RE2's \w: an ASCII letter, digit or '_'.
func IsWord(c byte) bool { return c == '_' || ('0' <= c && c <= '9') || IsLetter(c) }

// IsSpace is RE2's \s: space, \t, \n, \f or \r.
func IsSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r' }

// EqualFold reports whether a and b, of equal length, are equal ignoring ASCII case.
func EqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if Lower(a[i]) != Lower(b[i]) {
			return false
		}
	}
	return true
}

// HasPrefixFold reports whether s starts with prefix, ignoring ASCII case.
func HasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && EqualFold(s[:len(prefix)], prefix)
}

// IndexFold returns the index of the first occurrence of sub in s ignoring ASCII case, or -1.
func IndexFold(s, sub string) int {
	if len(sub) == 0 {
		return 0
	}
	first := Lower(sub[0])
	for i := 0; i+len(sub) <= len(s); i++ {
		// c|0x20 equals a lower-case letter only for that letter and its upper case; for
		// other bytes EqualFold decides.
		if c := s[i]; (c == first || c|0x20 == first) && EqualFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}
