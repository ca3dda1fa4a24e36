package detect

import (
	"math/rand/v2"
	"testing"

	"github.com/zoomwatch/zoomwatch/internal/ascii"
)

// TestLowerText checks the word-at-a-time lower-casing against a byte loop on every byte
// value at every offset, and that the text's bigram set holds every substring's pairs.
func TestLowerText(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	w := NewEngine(nil, NewMemState(), Options{}).NewWorker()
	for n := 0; n < 2000; n++ {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			b[i] = byte(rng.IntN(256))
			if rng.IntN(2) == 0 {
				b[i] = byte('@' + rng.IntN(30)) // around 'A'..'Z'
			}
		}
		if n%2 == 0 {
			for i := range b {
				b[i] &= 0x7f
			}
		}
		w.env.Text, w.lowState = string(b), lowUnknown
		plain := w.lowerText()
		want := make([]byte, len(b))
		wantASCII := true
		for i, c := range b {
			wantASCII = wantASCII && c < 0x80
			want[i] = ascii.Lower(c)
		}
		if plain != wantASCII {
			t.Fatalf("%q: ASCII %v, want %v", b, plain, wantASCII)
		}
		if plain && string(w.lowBuf) != string(want) {
			t.Fatalf("%q: lower-cased to %q, want %q", b, w.lowBuf, want)
		}
		// The filter may only rule out literals the text lacks: every substring's pairs
		// must be in the text's set.
		for i := 0; plain && i < len(want); i++ {
			for j := i + 1; j <= len(want); j++ {
				if g := bigramsOf(string(want[i:j])); g[0]&^w.lowGrams[0]|g[1]&^w.lowGrams[1] != 0 {
					t.Fatalf("%q: the pairs of its substring %q are not all in its set", want, want[i:j])
				}
			}
		}
	}
}

// TestTextGramsOf checks which literals a condition is skipped without: only those of the
// leading conjuncts that cannot fail.
func TestTextGramsOf(t *testing.T) {
	grams := func(lits ...string) bigramSet {
		var m bigramSet
		for _, l := range lits {
			g := bigramsOf(l)
			m[0], m[1] = m[0]|g[0], m[1]|g[1]
		}
		return m
	}
	tests := map[string]bigramSet{
		`icontains(text, "Role") && iequals(setting, "User Role")`:                 grams("role"),
		`iequals(action, "update") && icontains(text, "two-factor") && to == "x"`:  grams("two-factor"),
		`ip != "" && matches(text, "(?i)sign\\s+in\\s+with")`:                      grams("sign", "in", "with"),
		`icontains(text, "ab") && !icontains(text, "cd") && icontains(text, "ef")`: grams("ab"),
		`int(to) < 3 && icontains(text, "xy")`:                                     {},
		`icontains(text, "ab") || icontains(text, "cd")`:                           {},
		`matches(text, "Sign\\s+in")`:                                              {},
		`icontains(action, "ab")`:                                                  {},
	}
	for cond, want := range tests {
		src := "id: T\nname: t\nlog_types: [Zoom.Operation]\nseverity: LOW\ncondition: '" + cond + "'\ntitle: t\n"
		r, err := ParseRule("t.yaml", []byte(src))
		if err != nil {
			t.Fatalf("%s: %v", cond, err)
		}
		if r.textGrams != want {
			t.Errorf("%s: text bigrams %x, want %x", cond, r.textGrams, want)
		}
	}
}
