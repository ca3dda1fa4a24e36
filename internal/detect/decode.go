package detect

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/bits"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/zoomwatch/zoomwatch/internal/ascii"
	"github.com/zoomwatch/zoomwatch/internal/event"
)

// DecodeError is input that is not a JSON object zoomwatch can read.
type DecodeError struct {
	// Offset is the byte offset in the input where decoding failed; Reason says why.
	Offset int
	Reason string
}

// Error implements error.
func (e *DecodeError) Error() string {
	return "invalid JSON at byte " + itoa(e.Offset) + ": " + e.Reason
}

// fields is what one pass over an input object collects. Strings point into the input (or the
// decoder's arena when they had escapes): they are valid only until the input is reused.
type fields struct {
	// Envelope fields.
	id, source, logType, time, actor string
	emails, ips, detail, raw         span
	// Raw record fields.
	pLogType, operator, categoryType, action, operationDetail string
	email, typ, ipAddress, clientType, version                string
	has                                                       uint16
	// Report page: {"operation_logs": [...]} or {"activity_logs": [...]}.
	page   span
	pageLT event.LogType
}

// span is a value's position in the input; valid when end > 0.
type span struct{ start, end int }

const (
	hasPLogType = 1 << iota
	hasLogType
	hasOperator
	hasOperationDetail
	hasCategoryType
	hasEmail
	hasType
	hasIPAddress
	hasID
)

// decoder is a per-worker, allocation-free JSON scanner specialised for envelopes and Zoom
// records. Only the keys rules read are materialised; everything else is skipped.
type decoder struct {
	arena []byte
	f     fields
}

func (d *decoder) reset() {
	d.arena = d.arena[:0]
	d.f = fields{}
}

// object scans a top-level object into d.f.
func (d *decoder) object(b []byte) error {
	d.reset()
	i := skipWS(b, 0)
	end, err := d.members(b, i, d.topKey)
	if err != nil {
		return err
	}
	if j := skipWS(b, end); j != len(b) {
		return &DecodeError{Offset: j, Reason: "trailing data after the object"}
	}
	return nil
}

// members walks the object starting at b[i] == '{', calling on for each key with the index of
// its value; on returns the index after the value. It returns the index after '}'.
func (d *decoder) members(b []byte, i int, on func(b []byte, key string, v int) (int, error)) (int, error) {
	if i >= len(b) || b[i] != '{' {
		return 0, &DecodeError{Offset: i, Reason: "expected an object"}
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return 0, &DecodeError{Offset: i, Reason: "expected a key"}
		}
		key, j, err := d.str(b, i)
		if err != nil {
			return 0, err
		}
		j = skipWS(b, j)
		if j >= len(b) || b[j] != ':' {
			return 0, &DecodeError{Offset: j, Reason: "expected ':'"}
		}
		j = skipWS(b, j+1)
		if j, err = on(b, key, j); err != nil {
			return 0, err
		}
		j = skipWS(b, j)
		if j >= len(b) {
			return 0, &DecodeError{Offset: j, Reason: "unterminated object"}
		}
		switch b[j] {
		case ',':
			i = skipWS(b, j+1)
		case '}':
			return j + 1, nil
		default:
			return 0, &DecodeError{Offset: j, Reason: "expected ',' or '}'"}
		}
	}
}

// strField reads a string value, or skips a non-string value (leaving ok false).
func (d *decoder) strField(b []byte, v int) (s string, next int, ok bool, err error) {
	if v < len(b) && b[v] == '"' {
		s, next, err = d.str(b, v)
		return s, next, err == nil, err
	}
	next, err = skipValue(b, v, 0)
	return "", next, false, err
}

// topKeys are the keys topKey reads; like encoding/json, other spellings of them in another
// case match too.
var topKeys = []string{"id", "source", "log_type", "p_log_type", "time", "actor", "operator",
	"category_type", "action", "operation_detail", "email", "type", "ip_address", "client_type",
	"version", "emails", "ips", "detail", "raw", "operation_logs", "activity_logs"}

// foldKey maps a key with upper-case or non-ASCII letters to the known key it case-folds to.
func foldKey(key string, known []string) string {
	for i := 0; i < len(key); i++ {
		if c := key[i]; c >= 0x80 || ('A' <= c && c <= 'Z') {
			for _, k := range known {
				if strings.EqualFold(key, k) {
					return k
				}
			}
			return key
		}
	}
	return key
}

func (d *decoder) topKey(b []byte, key string, v int) (int, error) {
	var (
		dst  *string
		flag uint16
	)
	switch key {
	case "id":
		dst, flag = &d.f.id, hasID
	case "source":
		dst = &d.f.source
	case "log_type":
		dst, flag = &d.f.logType, hasLogType
	case "p_log_type":
		dst, flag = &d.f.pLogType, hasPLogType
	case "time":
		dst = &d.f.time
	case "actor":
		dst = &d.f.actor
	case "operator":
		dst, flag = &d.f.operator, hasOperator
	case "category_type":
		dst, flag = &d.f.categoryType, hasCategoryType
	case "action":
		dst = &d.f.action
	case "operation_detail":
		dst, flag = &d.f.operationDetail, hasOperationDetail
	case "email":
		dst, flag = &d.f.email, hasEmail
	case "type":
		dst, flag = &d.f.typ, hasType
	case "ip_address":
		dst, flag = &d.f.ipAddress, hasIPAddress
	case "client_type":
		dst = &d.f.clientType
	case "version":
		dst = &d.f.version
	case "emails", "ips", "detail", "raw", "operation_logs", "activity_logs":
		end, err := skipValue(b, v, 0)
		if err != nil {
			return 0, err
		}
		sp := span{v, end}
		switch key {
		case "emails":
			d.f.emails = sp
		case "ips":
			d.f.ips = sp
		case "detail":
			d.f.detail = sp
		case "raw":
			d.f.raw = sp
		case "operation_logs":
			d.f.page, d.f.pageLT = sp, event.Operation
		case "activity_logs":
			d.f.page, d.f.pageLT = sp, event.Activity
		}
		return end, nil
	default:
		// Keys are nearly always spelled as above; only the others are case-folded.
		if k := foldKey(key, topKeys); k != key {
			return d.topKey(b, k, v)
		}
		return skipValue(b, v, 0)
	}
	s, next, ok, err := d.strField(b, v)
	if err != nil {
		return 0, err
	}
	if ok {
		*dst = s
		d.f.has |= flag
	}
	return next, nil
}

// isEnvelope tells an envelope from a raw record: envelopes carry the raw record as an object.
func (f *fields) isEnvelope(b []byte) bool {
	return f.raw.end > 0 && b[f.raw.start] == '{' && (f.has&hasID != 0 || f.detail.end > 0)
}

// isPage tells a Zoom report page: its records are in an array.
func (f *fields) isPage(b []byte) bool {
	return f.page.end > 0 && b[f.page.start] == '[' && f.raw.end == 0
}

// logTypeOf resolves a raw record's log type as event.InferLogType does.
func (f *fields) logTypeOf() (event.LogType, error) {
	switch {
	case f.has&hasPLogType != 0:
		return event.ParseLogType(f.pLogType)
	case f.has&hasLogType != 0:
		return event.ParseLogType(f.logType)
	case f.has&(hasOperator|hasOperationDetail|hasCategoryType) != 0:
		return event.Operation, nil
	case f.has&(hasIPAddress|hasType|hasEmail) != 0:
		return event.Activity, nil
	}
	return "", event.ErrUnknownLogType
}

// stringArray appends the strings of the JSON array at sp to dst.
func (d *decoder) stringArray(b []byte, sp span, dst []string) ([]string, error) {
	i := skipWS(b, sp.start)
	if sp.end == 0 || b[i] != '[' {
		return dst, nil
	}
	i = skipWS(b, i+1)
	if b[i] == ']' {
		return dst, nil
	}
	for {
		s, next, ok, err := d.strField(b, i)
		if err != nil {
			return dst, err
		}
		if ok {
			dst = append(dst, s)
		}
		i = skipWS(b, next)
		if b[i] == ']' {
			return dst, nil
		}
		i = skipWS(b, i+1)
	}
}

// detailInto reads an envelope's detail object.
func (d *decoder) detailInto(b []byte, sp span, e *Env) error {
	if sp.end == 0 || b[sp.start] != '{' {
		return nil
	}
	_, err := d.members(b[:sp.end], sp.start, func(b []byte, key string, v int) (int, error) {
		var dst *string
		switch key {
		case "category":
			dst = &e.Category
		case "action":
			dst = &e.Action
		case "object":
			dst = &e.Object
		case "setting":
			dst = &e.Setting
		case "from":
			dst = &e.From
		case "to":
			dst = &e.To
		case "target_user":
			dst = &e.TargetUser
		case "group":
			dst = &e.Group
		case "role":
			dst = &e.Role
		case "text":
			dst = &e.Text
		case "client_type":
			dst = &e.ClientType
		case "version":
			dst = &e.Version
		case "parsed":
			if strings.HasPrefix(string(b[v:min(v+4, len(b))]), "true") {
				e.Parsed = true
			}
			return skipValue(b, v, 0)
		default:
			return skipValue(b, v, 0)
		}
		s, next, ok, err := d.strField(b, v)
		if ok {
			*dst = s
		}
		return next, err
	})
	return err
}

// str decodes the JSON string at b[i] == '"'. Without escapes the result aliases b.
func (d *decoder) str(b []byte, i int) (string, int, error) {
	// Nearly every string is printable ASCII without escapes: one pass finds its end.
	if j := plainRun(b, i+1); j < len(b) && b[j] == '"' {
		return bytesToString(b[i+1 : j]), j + 1, nil
	}
	return d.strSlow(b, i)
}

// plainRun returns the index of the first byte at or after i that is a quote, a backslash, a
// control character or not ASCII (len(b) if none), eight bytes at a time.
func plainRun(b []byte, i int) int {
	const lsb, msb = 0x0101010101010101, 0x8080808080808080
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		q, s := x^(lsb*'"'), x^(lsb*'\\')
		// Each term flags its lowest matching byte exactly (a borrow only runs upwards from
		// a true match), so the lowest flag of all is the first special byte.
		if m := ((q-lsb)&^q | (s-lsb)&^s | (x-lsb*0x20)&^x | x) & msb; m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c == '"' || c == '\\' || c < 0x20 || c >= 0x80 {
			return i
		}
	}
	return i
}

// strSlow is str for strings with escapes, non-ASCII text, control characters or no end.
func (d *decoder) strSlow(b []byte, i int) (string, int, error) {
	q := bytes.IndexByte(b[i+1:], '"')
	if q < 0 {
		return "", 0, &DecodeError{Offset: i, Reason: "unterminated string"}
	}
	seg := b[i+1 : i+1+q]
	if bytes.IndexByte(seg, '\\') >= 0 {
		return d.strEscaped(b, i)
	}
	var hi byte
	for j, c := range seg {
		if c < 0x20 {
			return "", 0, &DecodeError{Offset: i + 1 + j, Reason: "control character in string"}
		}
		hi |= c
	}
	if hi >= 0x80 && !utf8.Valid(seg) {
		return d.fixUTF8(seg), i + 2 + q, nil
	}
	return bytesToString(seg), i + 2 + q, nil
}

// fixUTF8 replaces invalid UTF-8 bytes with U+FFFD, as encoding/json does.
func (d *decoder) fixUTF8(seg []byte) string {
	start := len(d.arena)
	for len(seg) > 0 {
		r, size := utf8.DecodeRune(seg)
		if r == utf8.RuneError && size == 1 {
			d.arena = utf8.AppendRune(d.arena, utf8.RuneError)
		} else {
			d.arena = append(d.arena, seg[:size]...)
		}
		seg = seg[size:]
	}
	return bytesToString(d.arena[start:])
}

func (d *decoder) strEscaped(b []byte, i int) (string, int, error) {
	start := len(d.arena)
	j := i + 1
	for j < len(b) {
		c := b[j]
		switch {
		case c == '"':
			out := d.arena[start:]
			if !utf8.Valid(out) {
				fixed := d.fixUTF8(out)
				return fixed, j + 1, nil
			}
			return bytesToString(out), j + 1, nil
		case c < 0x20:
			return "", 0, &DecodeError{Offset: j, Reason: "control character in string"}
		case c != '\\':
			d.arena = append(d.arena, c)
			j++
			continue
		}
		if j+1 >= len(b) {
			break
		}
		switch b[j+1] {
		case '"', '\\', '/':
			d.arena = append(d.arena, b[j+1])
		case 'b':
			d.arena = append(d.arena, '\b')
		case 'f':
			d.arena = append(d.arena, '\f')
		case 'n':
			d.arena = append(d.arena, '\n')
		case 'r':
			d.arena = append(d.arena, '\r')
		case 't':
			d.arena = append(d.arena, '\t')
		case 'u':
			r, ok := hex4(b, j+2)
			if !ok {
				return "", 0, &DecodeError{Offset: j, Reason: "bad \\u escape"}
			}
			j += 6
			if utf16.IsSurrogate(r) {
				if r2, ok := hex4(b, j+2); ok && j+1 < len(b) && b[j] == '\\' && b[j+1] == 'u' {
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						r = dec
						j += 6
					} else {
						r = utf8.RuneError
					}
				} else {
					r = utf8.RuneError
				}
			}
			d.arena = utf8.AppendRune(d.arena, r)
			continue
		default:
			return "", 0, &DecodeError{Offset: j, Reason: "bad escape"}
		}
		j += 2
	}
	return "", 0, &DecodeError{Offset: i, Reason: "unterminated string"}
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			r = r<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// maxDepth bounds nesting so hostile input cannot exhaust the stack.
const maxDepth = 512

var errDepth = errors.New("nesting too deep")

// skipValue returns the index after the JSON value at b[i].
func skipValue(b []byte, i, depth int) (int, error) {
	if i >= len(b) {
		return 0, &DecodeError{Offset: i, Reason: "unexpected end of input"}
	}
	switch c := b[i]; {
	case c == '"':
		if j := plainRun(b, i+1); j < len(b) && b[j] == '"' {
			return j + 1, nil
		}
		j := i + 1
		for {
			q := bytes.IndexByte(b[j:], '"')
			if q < 0 {
				return 0, &DecodeError{Offset: i, Reason: "unterminated string"}
			}
			seg := b[j : j+q]
			bs := bytes.IndexByte(seg, '\\')
			if bs < 0 {
				for k, c := range seg {
					if c < 0x20 {
						return 0, &DecodeError{Offset: j + k, Reason: "control character in string"}
					}
				}
				return j + q + 1, nil
			}
			for k, c := range seg[:bs] {
				if c < 0x20 {
					return 0, &DecodeError{Offset: j + k, Reason: "control character in string"}
				}
			}
			j += bs
			if j+1 >= len(b) || !validEscape(b, j+1) {
				return 0, &DecodeError{Offset: j, Reason: "bad escape"}
			}
			j += 2
		}
	case c == '{' || c == '[':
		if depth >= maxDepth {
			return 0, &DecodeError{Offset: i, Reason: errDepth.Error()}
		}
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		j := skipWS(b, i+1)
		if j < len(b) && b[j] == closer {
			return j + 1, nil
		}
		for {
			if c == '{' {
				if j >= len(b) || b[j] != '"' {
					return 0, &DecodeError{Offset: j, Reason: "expected a key"}
				}
				k, err := skipValue(b, j, depth+1)
				if err != nil {
					return 0, err
				}
				k = skipWS(b, k)
				if k >= len(b) || b[k] != ':' {
					return 0, &DecodeError{Offset: k, Reason: "expected ':'"}
				}
				j = skipWS(b, k+1)
			}
			k, err := skipValue(b, j, depth+1)
			if err != nil {
				return 0, err
			}
			k = skipWS(b, k)
			if k >= len(b) {
				return 0, &DecodeError{Offset: k, Reason: "unterminated value"}
			}
			if b[k] == closer {
				return k + 1, nil
			}
			if b[k] != ',' {
				return 0, &DecodeError{Offset: k, Reason: "expected ',' or closing bracket"}
			}
			j = skipWS(b, k+1)
		}
	case c == 't':
		return literal(b, i, "true")
	case c == 'f':
		return literal(b, i, "false")
	case c == 'n':
		return literal(b, i, "null")
	case c == '-' || ('0' <= c && c <= '9'):
		j := i + 1
		for j < len(b) && (('0' <= b[j] && b[j] <= '9') || b[j] == '.' || b[j] == 'e' || b[j] == 'E' || b[j] == '+' || b[j] == '-') {
			j++
		}
		return j, nil
	}
	return 0, &DecodeError{Offset: i, Reason: "unexpected character"}
}

func literal(b []byte, i int, lit string) (int, error) {
	if len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit {
		return i + len(lit), nil
	}
	return 0, &DecodeError{Offset: i, Reason: "invalid literal"}
}

func skipWS(b []byte, i int) int {
	// Compact JSON has no whitespace: one test rules out all four for any byte above ' '.
	for i < len(b) && b[i] <= ' ' && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// bytesToString aliases b without copying; callers keep b unchanged while the string lives and
// clone anything they retain (see Match).
func bytesToString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// stringBytes returns s's bytes without copying; they must not be modified.
func stringBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// parseTime parses RFC 3339, with an allocation-free path for Zoom's "2006-01-02T15:04:05Z".
func parseTime(s string) (time.Time, bool) {
	if len(s) == 20 && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' && s[16] == ':' && s[19] == 'Z' {
		y, ok1 := digits(s[0:4])
		mo, ok2 := digits(s[5:7])
		dd, ok3 := digits(s[8:10])
		h, ok4 := digits(s[11:13])
		mi, ok5 := digits(s[14:16])
		se, ok6 := digits(s[17:19])
		if ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && mo >= 1 && mo <= 12 && dd >= 1 && dd <= daysIn(mo, y) && h < 24 && mi < 60 && se < 60 {
			sec := daysFromCivil(y, mo, dd)*86400 + int64(h*3600+mi*60+se)
			return time.Unix(sec, 0).UTC(), true
		}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// daysFromCivil is the number of days from 1970-01-01 to the proleptic Gregorian date y-m-d
// (H. Hinnant's days_from_civil): time.Date normalises and looks up zones, which costs more
// than the rest of parsing the time.
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y
	if era < 0 {
		era -= 399
	}
	era /= 400
	yoe := y - era*400
	doy := (153*((m+9)%12)+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

var monthDays = [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

func daysIn(m, y int) int {
	if m == 2 && y%4 == 0 && (y%100 != 0 || y%400 == 0) {
		return 29
	}
	return monthDays[m]
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var buf [20]byte
	i := len(buf)
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		buf[i] = '-'
	}
	return string(buf[i:])
}

// appendEmails adds the e-mail addresses in text as event.Normalize does, lower-cased into the
// arena.
func (d *decoder) appendEmails(list []string, text string) []string {
	return event.AppendEmails(list, text, d.lower)
}

// lower lower-cases s, copying into the arena only when s has upper-case letters.
func (d *decoder) lower(s string) string {
	upper := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			return strings.ToLower(s)
		}
		upper = upper || ('A' <= c && c <= 'Z')
	}
	if !upper {
		return s
	}
	start := len(d.arena)
	for j := 0; j < len(s); j++ {
		d.arena = append(d.arena, ascii.Lower(s[j]))
	}
	return bytesToString(d.arena[start:])
}

// rawField returns the top-level string field name of the raw record, or "".
func rawField(raw []byte, name string) string {
	var d decoder
	var out string
	_, _ = d.members(raw, skipWS(raw, 0), func(b []byte, key string, v int) (int, error) {
		s, next, ok, err := d.strField(b, v)
		if ok && key == name && out == "" {
			out = strings.Clone(s)
		}
		return next, err
	})
	return out
}

// validEscape reports whether b[i] starts a valid JSON escape (after the backslash).
func validEscape(b []byte, i int) bool {
	switch b[i] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return true
	case 'u':
		_, ok := hex4(b, i+1)
		return ok
	}
	return false
}
