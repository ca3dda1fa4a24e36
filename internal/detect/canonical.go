package detect

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"

	"github.com/zoomwatch/zoomwatch/internal/event"
)

// canonicalMember is one key and its value's bytes in a flat record.
type canonicalMember struct {
	key string
	val []byte
}

// canonicalFlat returns event.Canonical(raw) without a map round trip for the common case of
// a flat record: no nested values, ASCII strings without escapes, no duplicate keys. ok is
// false for anything else, and callers fall back to event.Canonical.
func canonicalFlat(raw []byte, members []canonicalMember, dst []byte) (out []byte, _ []canonicalMember, ok bool) {
	members = members[:0]
	var d decoder
	flat := true
	_, err := d.members(raw, skipWS(raw, 0), func(b []byte, key string, v int) (int, error) {
		if !plainASCII(key) {
			flat = false
		}
		// A string that is plain to its end re-encodes unchanged (with HTML escaping off, as
		// event.Canonical has it); one scan finds its end and says so.
		if b[v] == '"' {
			if j := plainRun(b, v+1); j < len(b) && b[j] == '"' {
				members = append(members, canonicalMember{key: key, val: b[v : j+1]})
				return j + 1, nil
			}
			flat = false
		}
		end, err := skipValue(b, v, 0)
		if err != nil {
			return 0, err
		}
		val := b[v:end]
		switch val[0] {
		case '{', '[':
			flat = false
		case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			if !validNumber(val) {
				flat = false
			}
		}
		members = append(members, canonicalMember{key: key, val: val})
		return end, nil
	})
	if err != nil || !flat || len(d.arena) > 0 {
		return dst, members, false
	}
	if len(members) <= 32 {
		// A record has a handful of keys: insertion sort, without a comparison function call.
		for i := 1; i < len(members); i++ {
			for j := i; j > 0 && members[j].key < members[j-1].key; j-- {
				members[j], members[j-1] = members[j-1], members[j]
			}
		}
	} else {
		slices.SortFunc(members, func(a, b canonicalMember) int { return strings.Compare(a.key, b.key) })
	}
	for i := 1; i < len(members); i++ {
		if members[i].key == members[i-1].key {
			return dst, members, false
		}
	}
	dst = append(dst, '{')
	for i, m := range members {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = append(dst, m.key...)
		dst = append(dst, '"', ':')
		dst = append(dst, m.val...)
	}
	return append(dst, '}'), members, true
}

// plainASCII reports whether s encodes to JSON unchanged: ASCII without control characters,
// '"' or '\\' (keys; values are checked where they are scanned).
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// validNumber checks the JSON number grammar, which the lenient skipper does not.
func validNumber(b []byte) bool {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	return i == len(b)
}

// recordID is the envelope identity of a raw record, as event.Normalize computes it.
func (w *Worker) recordID(source string, lt event.LogType, raw []byte) string {
	var ok bool
	w.canon, w.canonMembers, ok = canonicalFlat(raw, w.canonMembers, w.canon[:0])
	if ok {
		return w.identity(source, lt, w.canon)
	}
	canon, err := event.Canonical(raw)
	if err != nil {
		return ""
	}
	return w.identity(source, lt, canon)
}

// identity is event.Identity hashing one reused buffer in one call: the ID string is its only
// allocation.
func (w *Worker) identity(source string, lt event.LogType, canon []byte) string {
	b := append(w.idBuf[:0], source...)
	b = append(b, 0)
	b = append(b, lt...)
	b = append(b, 0)
	b = append(b, canon...)
	w.idBuf = b
	sum := sha256.Sum256(b)
	var out [2 * sha256.Size]byte
	hex.Encode(out[:], sum[:])
	return string(out[:])
}
