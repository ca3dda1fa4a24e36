package detect

import (
	"math/rand/v2"
	"testing"
)

// naivePlainRun is plainRun's definition, a byte at a time.
func naivePlainRun(b []byte, i int) int {
	for ; i < len(b); i++ {
		if c := b[i]; c == '"' || c == '\\' || c < 0x20 || c >= 0x80 {
			return i
		}
	}
	return i
}

// TestPlainRun checks the word-at-a-time scan against its definition, with special bytes at
// every position of a word and next to each other (where a borrow could mislead it).
func TestPlainRun(t *testing.T) {
	specials := []byte{'"', '\\', 0x00, 0x1f, 0x80, 0xff, 0x21, 0x5b, 0x5d, 0x20, 0x7f, 0x01}
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 20000; n++ {
		b := make([]byte, rng.IntN(40))
		for j := range b {
			b[j] = 'a' + byte(rng.IntN(26))
			if rng.IntN(6) == 0 {
				b[j] = specials[rng.IntN(len(specials))]
			}
		}
		start := 0
		if len(b) > 0 {
			start = rng.IntN(len(b) + 1)
		}
		if got, want := plainRun(b, start), naivePlainRun(b, start); got != want {
			t.Fatalf("plainRun(%q, %d) = %d, want %d", b, start, got, want)
		}
	}
}

func FuzzPlainRun(f *testing.F) {
	f.Add([]byte(`{"operator":"a\"b@x.io","x":"\u00e9"}`), 1)
	f.Add([]byte("\x00\x01 \"\\\x7f\x80\xff abcdefgh"), 0)
	f.Fuzz(func(t *testing.T, b []byte, i int) {
		if i < 0 || i > len(b) {
			return
		}
		if got, want := plainRun(b, i), naivePlainRun(b, i); got != want {
			t.Fatalf("plainRun(%q, %d) = %d, want %d", b, i, got, want)
		}
	})
}
