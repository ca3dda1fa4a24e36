package detect

import (
	"regexp/syntax"
	"slices"
	"strings"

	"github.com/zoomwatch/zoomwatch/internal/ascii"
)

// wordSeq matches a regular expression made of literal words joined by \s+ or \s*, with
// optional word boundaries and an optional ^ (and \s*) at the start — the shape of most rule
// patterns, such as `sign\s+in\s+with\s+two-factor\s+authentication\s*:\s*from\s+on\s+to\s+off\b`
// — without a regexp engine. Every literal starts with a non-space, so a whitespace run before
// it can only end where the literal begins: from a given start the match is decided in one
// pass, and trying each occurrence of the first literal decides whether the text matches at
// all, exactly as regexp.MatchString does. Go's backtracker takes several times longer on the
// near misses rules see all day (" from off to on").
type wordSeq struct {
	anchored bool // ^: only a match at the start of the text counts
	steps    []wordStep
	first    int // index of the first literal step
}

// wordStep is one element of a wordSeq.
type wordStep struct {
	lit      string // literal bytes, or
	spaces   int    // a whitespace run of at least this many (0 or 1) bytes, or
	boundary bool   // \b
}

// compileWordSeq returns the matcher of a case-sensitive ASCII pattern of that shape, or nil.
func compileWordSeq(pattern string) *wordSeq {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil
	}
	re = re.Simplify()
	subs := []*syntax.Regexp{re}
	if re.Op == syntax.OpConcat {
		subs = re.Sub
	}
	ws := &wordSeq{}
	for i, s := range subs {
		switch {
		case i == 0 && s.Op == syntax.OpBeginText:
			ws.anchored = true
		case s.Op == syntax.OpLiteral && s.Flags&syntax.FoldCase == 0:
			lit, ok := asciiLiteral(s.Rune)
			if !ok || ascii.IsSpace(lit[0]) {
				return nil
			}
			ws.steps = append(ws.steps, wordStep{lit: lit})
		case (s.Op == syntax.OpPlus || s.Op == syntax.OpStar) && isSpaceClass(s.Sub[0]) && s.Flags&syntax.NonGreedy == 0:
			n := 0
			if s.Op == syntax.OpPlus {
				n = 1
			}
			ws.steps = append(ws.steps, wordStep{spaces: n})
		case s.Op == syntax.OpWordBoundary:
			ws.steps = append(ws.steps, wordStep{boundary: true})
		default:
			return nil
		}
	}
	// A whitespace run must be followed by a literal (which cannot start with a space), or
	// by the end of the pattern or text; before anything else greedy matching is not exact.
	first := -1
	for i, s := range ws.steps {
		if s.lit != "" && first < 0 {
			first = i
		}
		if s.lit == "" && !s.boundary && i+1 < len(ws.steps) && ws.steps[i+1].lit == "" {
			return nil
		}
	}
	// Unanchored, the search starts at occurrences of the first literal; only word
	// boundaries, checked there, may come before it.
	if first < 0 {
		return nil
	}
	for _, st := range ws.steps[:first] {
		if !ws.anchored && !st.boundary {
			return nil
		}
	}
	ws.first = first
	return ws
}

func asciiLiteral(rs []rune) (string, bool) {
	var b strings.Builder
	for _, r := range rs {
		if r >= 0x80 {
			return "", false
		}
		b.WriteByte(byte(r))
	}
	return b.String(), b.Len() > 0
}

// isSpaceClass says re is \s: [\t\n\f\r ].
func isSpaceClass(re *syntax.Regexp) bool {
	want := []rune{'\t', '\n', '\f', '\r', ' ', ' '} // ranges: \t-\n, \f-\r, space
	if re.Op != syntax.OpCharClass || len(re.Rune) != len(want) {
		return false
	}
	for i := range want {
		if re.Rune[i] != want[i] {
			return false
		}
	}
	return true
}

// MatchString reports whether s contains a match.
func (ws *wordSeq) MatchString(s string) bool {
	if ws.anchored {
		return ws.matchAt(s, 0)
	}
	first := ws.steps[ws.first].lit
	for from := 0; ; {
		i := strings.Index(s[from:], first)
		if i < 0 {
			return false
		}
		if ws.matchAt(s, from+i) {
			return true
		}
		from += i + 1
	}
}

// matchAt reports whether the steps match s from i on.
func (ws *wordSeq) matchAt(s string, i int) bool {
	for _, st := range ws.steps {
		switch {
		case st.lit != "":
			if !strings.HasPrefix(s[i:], st.lit) {
				return false
			}
			i += len(st.lit)
		case st.boundary:
			if !atWordBoundary(s, i) {
				return false
			}
		default:
			j := i
			for j < len(s) && ascii.IsSpace(s[j]) {
				j++
			}
			if j-i < st.spaces {
				return false
			}
			i = j
		}
	}
	return true
}

// atWordBoundary is \b at i: the ASCII word characters on either side differ.
func atWordBoundary(s string, i int) bool {
	before := i > 0 && ascii.IsWord(s[i-1])
	after := i < len(s) && ascii.IsWord(s[i])
	return before != after
}

// requiredLiterals returns literals of at least two bytes that every match of the
// case-sensitive pattern contains, longest first: a text lacking one cannot match, which
// settles most texts before the pattern runs.
func requiredLiterals(pattern string) []string {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil
	}
	var out []string
	var walk func(re *syntax.Regexp)
	walk = func(re *syntax.Regexp) {
		switch re.Op {
		case syntax.OpLiteral:
			if lit, ok := asciiLiteral(re.Rune); ok && re.Flags&syntax.FoldCase == 0 && len(lit) >= 2 && !slices.Contains(out, lit) {
				out = append(out, lit)
			}
		case syntax.OpConcat:
			for _, s := range re.Sub {
				walk(s)
			}
		case syntax.OpCapture, syntax.OpPlus:
			walk(re.Sub[0])
		case syntax.OpRepeat:
			if re.Min >= 1 {
				walk(re.Sub[0])
			}
		}
	}
	walk(re)
	slices.SortStableFunc(out, func(a, b string) int { return len(b) - len(a) })
	return out
}
