package event

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/zoomwatch/zoomwatch/internal/ascii"
)

// RecordError reports a record that cannot be normalized at all (not a JSON object). Records
// that are objects but of an unknown shape are never rejected: they keep their raw form.
type RecordError struct {
	Reason string
}

func (e *RecordError) Error() string { return "invalid Zoom record: " + e.Reason }

// operationRecord and activityRecord are the fields of the two report records zoomwatch reads;
// anything else in a record survives only in Envelope.Raw.
type operationRecord struct {
	Time            string `json:"time"`
	Operator        string `json:"operator"`
	CategoryType    string `json:"category_type"`
	Action          string `json:"action"`
	OperationDetail string `json:"operation_detail"`
}

type activityRecord struct {
	Email      string `json:"email"`
	Time       string `json:"time"`
	Type       string `json:"type"`
	IPAddress  string `json:"ip_address"`
	ClientType string `json:"client_type"`
	Version    string `json:"version"`
}

// Normalize turns one raw Zoom record of log type lt into an envelope. The record's bytes are
// kept unchanged in Raw; the identity is computed over its canonical JSON so that the same
// record served with different key order or spacing still dedupes. A record whose time is
// missing or unparsable keeps ingestedAt as its time rather than being dropped.
func Normalize(source string, lt LogType, raw json.RawMessage, ingestedAt time.Time) (Envelope, error) {
	if !lt.Valid() {
		return Envelope{}, fmt.Errorf("normalize record: unknown log type %q", lt)
	}
	canon, err := Canonical(raw)
	if err != nil {
		return Envelope{}, err
	}
	env := Envelope{
		ID:         Identity(source, lt, canon),
		Source:     source,
		LogType:    lt,
		IngestedAt: ingestedAt.UTC(),
		Raw:        append(json.RawMessage(nil), raw...),
	}
	var timeText string
	switch lt {
	case Operation:
		var r operationRecord
		// Field type mismatches leave the field empty; the record is still kept.
		_ = json.Unmarshal(raw, &r)
		timeText = r.Time
		env.Actor = strings.ToLower(strings.TrimSpace(r.Operator))
		env.Detail = ParseOperationDetail(r.OperationDetail)
		env.Detail.Category = r.CategoryType
		env.Detail.Action = r.Action
		env.Emails = AppendEmails(env.Emails, env.Actor, strings.ToLower)
		env.Emails = AppendEmails(env.Emails, r.OperationDetail, strings.ToLower)
	case Activity:
		var r activityRecord
		_ = json.Unmarshal(raw, &r)
		timeText = r.Time
		env.Actor = strings.ToLower(strings.TrimSpace(r.Email))
		env.Detail = Detail{Action: r.Type, ClientType: r.ClientType, Version: r.Version, Parsed: true}
		env.Emails = AppendEmails(env.Emails, env.Actor, strings.ToLower)
		if ip := strings.TrimSpace(r.IPAddress); ip != "" {
			env.IPs = []string{ip}
		}
	}
	env.Time = env.IngestedAt
	if t, err := time.Parse(time.RFC3339, timeText); err == nil {
		env.Time = t.UTC()
	}
	return env, nil
}

// Canonical returns the canonical JSON of a record: object keys sorted, no insignificant
// space, numbers as written, no HTML escaping. It fails for anything but a JSON object.
func Canonical(raw json.RawMessage) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		return nil, &RecordError{Reason: "not a JSON object: " + err.Error()}
	}
	if dec.More() {
		return nil, &RecordError{Reason: "trailing data after the JSON object"}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, &RecordError{Reason: err.Error()}
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// Identity is the envelope ID: hex SHA-256 over source, log type and canonical record JSON,
// separated by NUL bytes so no two different triples hash the same input.
func Identity(source string, lt LogType, canonical []byte) string {
	h := sha256.New()
	h.Write([]byte(source))
	h.Write([]byte{0})
	h.Write([]byte(lt))
	h.Write([]byte{0})
	h.Write(canonical)
	return hex.EncodeToString(h.Sum(nil))
}

// ErrUnknownLogType is returned by InferLogType for records that are neither shape.
var ErrUnknownLogType = errors.New("cannot tell the log type: the record has neither operation-log fields (operator, operation_detail, category_type) nor activity fields (email, type, ip_address)")

// InferLogType tells an operation log from an activity record by its fields. An explicit
// "p_log_type" or "log_type" field wins.
func InferLogType(raw json.RawMessage) (LogType, error) {
	var probe struct {
		PLogType        *string `json:"p_log_type"`
		LogType         *string `json:"log_type"`
		Operator        *string `json:"operator"`
		OperationDetail *string `json:"operation_detail"`
		CategoryType    *string `json:"category_type"`
		Email           *string `json:"email"`
		Type            *string `json:"type"`
		IPAddress       *string `json:"ip_address"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return "", &RecordError{Reason: "not a JSON object: " + err.Error()}
	}
	for _, explicit := range []*string{probe.PLogType, probe.LogType} {
		if explicit != nil {
			return ParseLogType(*explicit)
		}
	}
	switch {
	case probe.Operator != nil || probe.OperationDetail != nil || probe.CategoryType != nil:
		return Operation, nil
	case probe.IPAddress != nil || probe.Type != nil || probe.Email != nil:
		return Activity, nil
	}
	return "", ErrUnknownLogType
}

// AppendEmails adds the e-mail addresses found in text (FindEmail's, trailing dots trimmed),
// passed through lower, skipping ones already in list. lower lets callers choose where the
// lower-cased copies live.
func AppendEmails(list []string, text string, lower func(string) string) []string {
	for from := 0; from < len(text); {
		s, e, ok := FindEmail(text[from:])
		if !ok {
			break
		}
		m := lower(strings.TrimRight(text[from+s:from+e], "."))
		from += e
		if !slices.Contains(list, m) {
			list = append(list, m)
		}
	}
	return list
}

// groupVerbs and roleVerbs are the object prefixes Zoom writes before a group or role name.
var (
	groupVerbs = []string{"Edit Group ", "Update Group ", "Add Group ", "Delete Group ", "Group "}
	roleVerbs  = []string{"Edit Role ", "Update Role ", "Add Role ", "Delete Role ", "Create Role ", "Role "}
)

// ParseOperationDetail extracts what rules need from Zoom's free-text operation_detail,
// which reads "<object>  - <setting>: from <old> to <new>" (two spaces before the dash; some
// records use one), e.g. "Update User bart@x.io  - User Role: from Member to Admin" or
// "Change Role  - a@b.c: from Member to Admin". Shapes it does not know come back with
// Parsed=false and the text kept.
//
// It is hand-written rather than built on regular expressions because the detector parses
// the detail of most operation records; it returns exactly what the expressions in its
// fuzz oracle return (FuzzParseOperationDetail) at a tenth of the cost, and allocates only
// to lower-case an e-mail address or a setting with upper-case letters.
func ParseOperationDetail(s string) Detail {
	d := Detail{Text: s}
	text := strings.TrimSpace(s)
	if text == "" {
		return d
	}
	object, rest, found := strings.Cut(text, "  - ")
	if !found {
		object, rest, found = strings.Cut(text, " - ")
	}
	if !found {
		object, rest = "", text
	}
	d.Object = strings.TrimSpace(object)
	rest = strings.TrimSpace(rest)
	key := rest
	if k, from, to, ok := matchChange(rest); ok {
		key = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(k), ":"))
		d.From, d.To = strings.TrimSpace(from), strings.TrimSpace(to)
		d.Parsed = true
	}
	if found {
		d.Parsed = true
	}
	if s, e, ok := FindEmail(key); ok && strings.TrimSpace(key[s:e]) == key {
		d.TargetUser = strings.ToLower(key)
	} else {
		d.Setting = key
	}
	if d.TargetUser == "" {
		if s, e, ok := FindEmail(d.Object); ok {
			d.TargetUser = strings.ToLower(d.Object[s:e])
		}
	}
	for _, v := range groupVerbs {
		if strings.HasPrefix(d.Object, v) {
			d.Group = strings.TrimSpace(strings.TrimPrefix(d.Object, v))
			break
		}
	}
	for _, v := range roleVerbs {
		if strings.HasPrefix(d.Object, v) {
			d.Role = strings.TrimSpace(strings.TrimPrefix(d.Object, v))
			break
		}
	}
	// Only ASCII letters lower-case to "role", so an ASCII case-folding search equals
	// searching the lower-cased setting, without allocating it.
	isRoleChange := ascii.IndexFold(d.Setting, "role") >= 0 || strings.HasPrefix(d.Object, "Change Role")
	switch {
	case isRoleChange && d.To != "":
		d.Role = d.To
	case d.Role == "" && (d.Object == "Add Role" || d.Object == "Delete Role" || d.Object == "Create Role"):
		d.Role = key
		d.Setting = ""
	}
	return d
}

// matchChange is `(?is)^(.*?):?\s*\bfrom\s+(.*?)\s+to\s+(.*?)\s*$` by hand, trying the
// alternatives in the order a backtracking engine does, which is the match Go's regexp
// returns (leftmost, then by the preference of lazy and greedy operators).
func matchChange(rest string) (key, from, to string, ok bool) {
	n := len(rest)
	// Group 1 can only end where ':'? and spaces lead to a "from": no p before the run in
	// front of the first "from" reaches one, so the search starts there. ASCII case folding
	// is exact here: RE2's (?i) folds no other character onto the letters of "from" and "to".
	first := ascii.IndexFold(rest, "from")
	if first < 0 {
		return "", "", "", false
	}
	start := first
	for start > 0 && ascii.IsSpace(rest[start-1]) {
		start--
	}
	if start > 0 && rest[start-1] == ':' {
		start--
	}
	var failed map[int]bool       // "from" positions whose remainder cannot match
	for p := start; p <= n; p++ { // group 1, lazy
		for colon := 1; colon >= 0; colon-- { // ':?' greedy
			q := p
			if colon == 1 {
				if q >= n || rest[q] != ':' {
					continue
				}
				q++
			}
			for r := spaceRun(rest, q); r >= q; r-- { // \s* greedy
				if r > 0 && ascii.IsWord(rest[r-1]) || !ascii.HasPrefixFold(rest[r:], "from") || failed[r] {
					continue
				}
				if s, e, m, end, ok := matchChangeTail(rest, r+4); ok {
					return rest[:p], rest[s:e], rest[m:end], true
				}
				if failed == nil {
					failed = map[int]bool{}
				}
				failed[r] = true
			}
		}
	}
	return "", "", "", false
}

// matchChangeTail matches `\s+(.*?)\s+to\s+(.*?)\s*$` at s0, returning group 2 as [s:e] and
// group 3 as [m:end].
func matchChangeTail(rest string, s0 int) (s, e, m, end int, ok bool) {
	n := len(rest)
	for s = spaceRun(rest, s0); s > s0; s-- { // \s+ greedy
		for e = s; e <= n; e++ { // group 2, lazy
			for kk := spaceRun(rest, e); kk > e; kk-- { // \s+ greedy
				if !ascii.HasPrefixFold(rest[kk:], "to") {
					continue
				}
				m0 := kk + 2
				if m = spaceRun(rest, m0); m > m0 { // \s+ greedy, then group 3
					end = n
					for end > m && ascii.IsSpace(rest[end-1]) {
						end--
					}
					return s, e, m, end, true
				}
			}
		}
	}
	return 0, 0, 0, 0, false
}

func spaceRun(s string, i int) int {
	for i < len(s) && ascii.IsSpace(s[i]) {
		i++
	}
	return i
}

func isDomainChar(c byte) bool {
	return ascii.IsLetter(c) || ('0' <= c && c <= '9') || c == '.' || c == '-'
}

func isLocalChar(c byte) bool {
	return isDomainChar(c) || c == '_' || c == '%' || c == '+' || c == '\''
}

// FindEmail returns the leftmost match of the e-mail pattern
// [A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,} in text as text[start:end], without a
// regular expression; searching again from end finds the next one, as FindAllString does.
func FindEmail(text string) (start, end int, ok bool) {
	from := 0
	for from < len(text) {
		at := strings.IndexByte(text[from:], '@')
		if at < 0 {
			return 0, 0, false
		}
		at += from
		l := at
		for l > from && isLocalChar(text[l-1]) {
			l--
		}
		if l < at {
			e := at + 1
			for e < len(text) && isDomainChar(text[e]) {
				e++
			}
			if q := emailEnd(text, at, e); q >= 0 {
				return l, q, true
			}
		}
		from = at + 1
	}
	return 0, 0, false
}

// emailEnd returns the end of the longest domain text[at+1:q] (q <= e) of the form
// [A-Za-z0-9.-]+\.[A-Za-z]{2,}, or -1.
func emailEnd(text string, at, e int) int {
	for q := e; q >= at+5; q-- {
		// The TLD is the letters run ending at q.
		k := q
		for k > at+1 && ascii.IsLetter(text[k-1]) {
			k--
		}
		if q-k >= 2 && k-1 > at+1 && text[k-1] == '.' {
			return q
		}
		// A longer TLD run contains shorter suffixes that start with a letter, not a dot,
		// so only shrinking q past the run can help; q-- continues that search.
	}
	return -1
}
