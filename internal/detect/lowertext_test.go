package detect

import (
	"math/rand/v2"
	"reflect"
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
				if g := bigramsOf(string(want[i:j])); !w.lowGrams.holds(g) {
					t.Fatalf("%q: the pairs of its substring %q are not all in its set", want, want[i:j])
				}
			}
		}
	}
}

// TestTextNeedsOf checks which literals a condition is skipped without: only those of the
// leading conjuncts that cannot fail, and of one disjunction of them.
func TestTextNeedsOf(t *testing.T) {
	grams := func(lits ...string) bigramSet {
		var m bigramSet
		for _, l := range lits {
			g := bigramsOf(l)
			m[0], m[1] = m[0]|g[0], m[1]|g[1]
		}
		return m
	}
	all := func(lits ...string) textNeeds { return textNeeds{all: grams(lits...)} }
	tests := map[string]textNeeds{
		`icontains(text, "Role") && iequals(setting, "User Role")`:                                             all("role"),
		`iequals(action, "update") && icontains(text, "two-factor") && to == "x"`:                              all("two-factor"),
		`ip != "" && matches(text, "(?i)sign\\s+in\\s+with")`:                                                  all("sign", "in", "with"),
		`icontains(text, "ab") && !icontains(text, "cd") && icontains(text, "ef")`:                             all("ab"),
		`int(to) < 3 && icontains(text, "xy")`:                                                                 {},
		`matches(text, "Sign\\s+in")`:                                                                          {},
		`icontains(action, "ab")`:                                                                              {},
		`icontains(text, "ab") || icontains(text, "cd")`:                                                       {anyOf: []bigramSet{grams("ab"), grams("cd")}},
		`icontains(text, "ab") || iequals(action, "cd")`:                                                       {},
		`icontains(text, "ab") || int(to) < 3`:                                                                 {},
		`(icontains(text, "sso") || icontains(text, "saml")) && int(to) < 3`:                                   {anyOf: []bigramSet{grams("sso"), grams("saml")}},
		`(icontains(text, "ab") && icontains(text, "cd")) || icontains(text, "ef")`:                            {anyOf: []bigramSet{grams("ab", "cd"), grams("ef")}},
		`icontains(text, "ab") && (icontains(text, "cd") || icontains(text, "ef"))`:                            {all: grams("ab"), anyOf: []bigramSet{grams("cd"), grams("ef")}},
		`(icontains(text, "ab") || icontains(text, "cd")) && (icontains(text, "ef") || icontains(text, "gh"))`: {anyOf: []bigramSet{grams("ab"), grams("cd")}},
	}
	for cond, want := range tests {
		src := "id: T\nname: t\nlog_types: [Zoom.Operation]\nseverity: LOW\ncondition: '" + cond + "'\ntitle: t\n"
		r, err := ParseRule("t.yaml", []byte(src))
		if err != nil {
			t.Fatalf("%s: %v", cond, err)
		}
		if !reflect.DeepEqual(r.text, want) {
			t.Errorf("%s: text needs %x, want %x", cond, r.text, want)
		}
	}
}

// TestTextNeedsMayMatch: all of the all-set, and one of the anyOf sets.
func TestTextNeedsMayMatch(t *testing.T) {
	needs := textNeeds{all: bigramsOf("ab"), anyOf: []bigramSet{bigramsOf("sso"), bigramsOf("saml")}}
	for text, want := range map[string]bool{
		"ab saml": true, "ab sso": true, "ab": false, "saml sso": false, "absso": true, "": false,
	} {
		if got := needs.mayMatch(bigramsOf(text)); got != want {
			t.Errorf("mayMatch(%q) = %v, want %v", text, got, want)
		}
	}
	if !(&textNeeds{}).mayMatch(bigramSet{}) {
		t.Error("no needs must match anything")
	}
}
