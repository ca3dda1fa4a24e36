package onboard

import (
	"strings"
	"testing"
	"time"
)

func TestStateRoundTrip(t *testing.T) {
	t.Parallel()
	key := DeriveKey(testSetupToken)
	cookie, binding := newBinding()
	in := state{Expiry: testStart.Add(DefaultStateTTL), Nonce: newNonce(), Binding: binding, Source: "emea-1"}
	enc := in.encode(key)
	if len(enc) > maxState {
		t.Fatalf("state is %d bytes, more than decodeState accepts", len(enc))
	}
	out, err := decodeState(key, enc)
	if err != nil {
		t.Fatal(err)
	}
	if out != in {
		t.Errorf("decoded %+v, want %+v", out, in)
	}
	if !out.boundTo(cookie) {
		t.Error("not bound to its cookie")
	}
	other, _ := newBinding()
	for _, c := range []string{other, "", "!!", cookie + "A"} {
		if out.boundTo(c) {
			t.Errorf("bound to %q", c)
		}
	}
	if strings.Contains(enc, cookie) {
		t.Error("state carries the cookie value")
	}
}

func TestDecodeStateRejects(t *testing.T) {
	t.Parallel()
	key := DeriveKey(testSetupToken)
	_, binding := newBinding()
	good := state{Expiry: testStart, Nonce: newNonce(), Binding: binding, Source: "main"}.encode(key)
	payload, sig, _ := strings.Cut(good, ".")
	for name, v := range map[string]string{
		"empty":           "",
		"no dot":          payload,
		"empty signature": payload + ".",
		"bad base64":      payload + "." + sig + "*",
		"swapped":         sig + "." + payload,
		"other key":       state{Expiry: testStart, Source: "main"}.encode(DeriveKey("x")),
		"bad source":      state{Expiry: testStart, Source: "../etc"}.encode(key),
		"no source":       state{Expiry: testStart}.encode(key),
		"too long":        strings.Repeat("A", maxState+1),
		"truncated sig":   good[:len(good)-2],
	} {
		if _, err := decodeState(key, v); err != errStateForged {
			t.Errorf("%s: err %v, want errStateForged", name, err)
		}
	}
}

func TestPKCEVerifier(t *testing.T) {
	t.Parallel()
	key := DeriveKey(testSetupToken)
	n := newNonce()
	v := pkceVerifier(key, n, "cookie")
	if len(v) != 43 || strings.Trim(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
		t.Errorf("verifier %q is not 43 unreserved characters (RFC 7636)", v)
	}
	if v != pkceVerifier(key, n, "cookie") {
		t.Error("verifier not deterministic")
	}
	if v == pkceVerifier(key, n, "cookie2") || v == pkceVerifier(key, newNonce(), "cookie") || v == pkceVerifier(DeriveKey("x"), n, "cookie") {
		t.Error("verifier ignores one of its inputs")
	}
}

func TestEqualSecret(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		got, want string
		ok        bool
	}{
		{"abc", "abc", true}, {"abd", "abc", false}, {"ab", "abc", false}, {"", "", false}, {"abc", "", false},
	} {
		if equalSecret(tt.got, tt.want) != tt.ok {
			t.Errorf("equalSecret(%q, %q) != %v", tt.got, tt.want, tt.ok)
		}
	}
}

// FuzzDecodeState: no input panics, and whatever verifies decodes to the same state again
// after re-encoding.
func FuzzDecodeState(f *testing.F) {
	key := DeriveKey(testSetupToken)
	_, binding := newBinding()
	f.Add(state{Expiry: time.Unix(1_800_000_000, 0), Binding: binding, Source: "main"}.encode(key))
	f.Add("")
	f.Add("a.b")
	f.Fuzz(func(t *testing.T, v string) {
		s, err := decodeState(key, v)
		if err != nil {
			return
		}
		again, err := decodeState(key, s.encode(key))
		if err != nil || again != s {
			t.Errorf("verified state %q does not survive re-encoding: %+v, %v", v, again, err)
		}
	})
}
