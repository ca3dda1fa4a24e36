package onboard

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"time"
)

// stateVersion is the first byte of every state payload; a new layout gets a new version.
const stateVersion = 1

// Sizes inside the state payload.
const (
	nonceLen   = 16
	bindingLen = 32 // the browser cookie's random value
	headerLen  = 1 + 8 + nonceLen + sha256.Size
	maxState   = 512 // bytes of a state parameter we bother to decode
)

// Key-separation labels: the one Config.Key signs states and derives PKCE verifiers, each
// under its own label, so neither output can stand in for the other.
const (
	labelState = "zoomwatch/onboard/state-mac/v1"
	labelPKCE  = "zoomwatch/onboard/pkce-verifier/v1"
	labelKey   = "zoomwatch/onboard/key/v1"
)

// DeriveKey derives the handler's Key from the deployment's setup token, so every Lambda
// instance shares one key without a second secret. Rotating the setup token invalidates the
// authorizations in flight, which is what a rotation should do.
func DeriveKey(setupToken string) []byte {
	return mac([]byte(labelKey), []byte(setupToken))
}

// state is what /start signs into the OAuth state parameter.
type state struct {
	Expiry  time.Time
	Nonce   [nonceLen]byte
	Binding [sha256.Size]byte // SHA-256 of the browser cookie's value
	Source  string
}

// Reasons a state is refused; each gets its own page.
var (
	errStateForged  = errors.New("state is missing, malformed or not signed by this deployment")
	errStateExpired = errors.New("state has expired")
)

// encode signs s: base64url(payload) "." base64url(HMAC-SHA256(stateKey, payload)).
func (s state) encode(key []byte) string {
	p := make([]byte, 0, headerLen+len(s.Source))
	p = append(p, stateVersion)
	p = binary.BigEndian.AppendUint64(p, uint64(s.Expiry.Unix()))
	p = append(p, s.Nonce[:]...)
	p = append(p, s.Binding[:]...)
	p = append(p, s.Source...)
	sig := mac(subKey(key, labelState), p)
	return b64(p) + "." + b64(sig)
}

// decodeState checks the signature first and only then reads the payload, so nothing an
// attacker wrote is interpreted. It does not check expiry (the caller does, to tell expired
// from forged).
func decodeState(key []byte, v string) (state, error) {
	if len(v) == 0 || len(v) > maxState {
		return state{}, errStateForged
	}
	payload, sig, ok := strings.Cut(v, ".")
	if !ok {
		return state{}, errStateForged
	}
	p, err1 := base64.RawURLEncoding.Strict().DecodeString(payload)
	got, err2 := base64.RawURLEncoding.Strict().DecodeString(sig)
	if err1 != nil || err2 != nil || !hmac.Equal(got, mac(subKey(key, labelState), p)) {
		return state{}, errStateForged
	}
	if len(p) <= headerLen || p[0] != stateVersion {
		return state{}, errStateForged
	}
	var s state
	s.Expiry = time.Unix(int64(binary.BigEndian.Uint64(p[1:9])), 0).UTC()
	copy(s.Nonce[:], p[9:9+nonceLen])
	copy(s.Binding[:], p[9+nonceLen:headerLen])
	s.Source = string(p[headerLen:])
	if !sourcePattern.MatchString(s.Source) {
		return state{}, errStateForged
	}
	return s, nil
}

// nonceID is the nonce as the NonceStore sees it.
func (s state) nonceID() string { return b64(s.Nonce[:]) }

// boundTo reports, in constant time, whether cookie is the browser value this state was
// issued with.
func (s state) boundTo(cookie string) bool {
	raw, err := base64.RawURLEncoding.DecodeString(cookie)
	if err != nil || len(raw) != bindingLen {
		return false
	}
	sum := sha256.Sum256(raw)
	return subtle.ConstantTimeCompare(sum[:], s.Binding[:]) == 1
}

// pkceVerifier derives the PKCE code verifier of this authorization from the key, the nonce
// and the browser cookie: 43 base64url characters, the shortest RFC 7636 allows, with 256 bits
// of entropy. Deriving it means the verifier never leaves the server and needs no storage.
func pkceVerifier(key []byte, nonce [nonceLen]byte, cookie string) string {
	msg := make([]byte, 0, nonceLen+len(cookie))
	msg = append(msg, nonce[:]...)
	msg = append(msg, cookie...)
	return b64(mac(subKey(key, labelPKCE), msg))
}

// newBinding returns a fresh browser cookie value and its SHA-256.
func newBinding() (cookie string, sum [sha256.Size]byte) {
	raw := make([]byte, bindingLen)
	_, _ = rand.Read(raw) // crypto/rand.Read never fails (Go 1.24+).
	return b64(raw), sha256.Sum256(raw)
}

// newNonce returns a fresh random nonce.
func newNonce() (n [nonceLen]byte) {
	_, _ = rand.Read(n[:])
	return n
}

// equalSecret compares two secrets in constant time, including their lengths (both sides are
// hashed first, so the comparison does not reveal how long the expected value is).
func equalSecret(got, want string) bool {
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1 && want != ""
}

func subKey(key []byte, label string) []byte { return mac(key, []byte(label)) }

func mac(key, msg []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(msg)
	return h.Sum(nil)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
