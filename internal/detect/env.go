package detect

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"

	"github.com/zoomwatch/zoomwatch/internal/ascii"
	"github.com/zoomwatch/zoomwatch/internal/event"
)

// Env is what a rule condition sees: one event's normalized fields. It is a typed struct, not a
// map, so expr resolves every name at compile time and reads fields by index at run time. The
// names are the rule language's names (DESIGN.md "Rules").
type Env struct {
	// LogType is Zoom.Operation or Zoom.Activity; Source the configured Zoom source.
	LogType string `expr:"log_type"`
	Source  string `expr:"source"`
	// Actor is the operator or signing-in user, lower-cased.
	Actor string `expr:"actor"`
	// Time is the record's own time.
	Time time.Time `expr:"time"`
	// Emails are all addresses in the record (actor first); IPs its IP addresses and IP the
	// first of them, or "".
	Emails []string `expr:"emails"`
	IPs    []string `expr:"ips"`
	IP     string   `expr:"ip"`
	// Category … Version mirror event.Detail: the operation log's category_type and action,
	// the parsed operation_detail (object, setting, from, to, target user, group, role), the
	// whole detail text, whether it parsed, and the activity record's client type and version.
	Category   string `expr:"category"`
	Action     string `expr:"action"`
	Object     string `expr:"object"`
	Setting    string `expr:"setting"`
	From       string `expr:"from"`
	To         string `expr:"to"`
	TargetUser string `expr:"target_user"`
	Group      string `expr:"group"`
	Role       string `expr:"role"`
	Text       string `expr:"text"`
	Parsed     bool   `expr:"parsed"`
	ClientType string `expr:"client_type"`
	Version    string `expr:"version"`
	// Params are the evaluated rule's params after tuning overrides.
	Params map[string]any `expr:"params"`

	// The helper functions, as func-typed fields so expr calls them through its typed,
	// allocation-free call path. They are set once per worker (see helpers) and kept across
	// events by reset.
	Icontains func(string, string) bool `expr:"icontains"`
	Istarts   func(string, string) bool `expr:"istarts"`
	Iequals   func(string, string) bool `expr:"iequals"`
	Matches   func(string, string) bool `expr:"__matches"`
	IsOn      func(string) bool         `expr:"__is_on"`
	IsOff     func(string) bool         `expr:"__is_off"`
	Domain    func(string) string       `expr:"domain"`
	InList    func(any, any) bool       `expr:"in_list"`
	VersionLt func(string, string) bool `expr:"version_lt"`
	IsAdmin   func(string) bool         `expr:"is_admin"`
	Field     func(string) string       `expr:"field"`
}

// reset clears the event fields, keeping the helpers. Field by field: copying the helpers out
// and the whole struct back cost more than the rest of an event's set-up
// (TestEnvResetClearsEveryEventField keeps the list complete).
func (e *Env) reset() {
	e.LogType, e.Source, e.Actor, e.Time = "", "", "", time.Time{}
	e.Emails, e.IPs, e.IP = nil, nil, ""
	e.Category, e.Action, e.Object, e.Setting, e.From, e.To = "", "", "", "", "", ""
	e.TargetUser, e.Group, e.Role, e.Text, e.Parsed = "", "", "", "", false
	e.ClientType, e.Version, e.Params = "", "", nil
}

// setHelpers installs the helper functions; is_admin and field read the worker's sys context
// and the params of the rule being evaluated.
func (e *Env) setHelpers(sys *sysContext) {
	e.Icontains, e.Istarts, e.Iequals, e.VersionLt = icontains, istarts, iequals, versionLess
	e.IsOn, e.IsOff, e.Domain = isOn, isOff, domain
	e.InList = func(s, list any) bool {
		str, _ := s.(string)
		return inList(str, list)
	}
	e.Matches = sys.matches
	e.IsAdmin = func(actor string) bool { return isAdmin(sys, e.Params["admins"], actor) }
	e.Field = func(name string) string { return rawField(sys.raw, name) }
}

// templateData is the view title, dedup and distinct templates execute over: text/template
// addresses struct fields by Go name, so the rule language's names are supplied as a map. It is
// only built for matching events.
func (e *Env) templateData() map[string]any {
	return map[string]any{
		"log_type": e.LogType, "source": e.Source, "actor": e.Actor, "time": e.Time,
		"emails": e.Emails, "ips": e.IPs, "ip": e.IP, "category": e.Category, "action": e.Action,
		"object": e.Object, "setting": e.Setting, "from": e.From, "to": e.To,
		"target_user": e.TargetUser, "group": e.Group, "role": e.Role, "text": e.Text,
		"parsed": e.Parsed, "client_type": e.ClientType, "version": e.Version, "params": e.Params,
	}
}

// setDetail copies an envelope detail into the env.
func (e *Env) setDetail(d *event.Detail) {
	e.Category, e.Action, e.Object, e.Setting = d.Category, d.Action, d.Object, d.Setting
	e.From, e.To, e.TargetUser, e.Group, e.Role = d.From, d.To, d.TargetUser, d.Group, d.Role
	e.Text, e.Parsed, e.ClientType, e.Version = d.Text, d.Parsed, d.ClientType, d.Version
}

// sysContext is the per-worker context of the stateful helpers.
type sysContext struct {
	ctx    context.Context
	admins *adminCache
	raw    []byte // the raw Zoom record of the current event, for field()
	// regexps caches patterns matches() receives at run time (literal ones compile once).
	regexps map[string]*regexp.Regexp
	// clock is the wall clock as last read by now, clockUses how often it was handed out
	// since; clockRead reads it.
	clock     time.Time
	clockUses int
	clockRead func() time.Time
}

// clockReuse is how many admin lookups share one reading of the wall clock. Reading it can
// cost more than the lookup (on virtual machines without a fast clock source), and a reading
// a few dozen lookups old only delays, by as long as those lookups took, noticing an admin
// that another detector noted. Engine.Detect reads it afresh for every batch.
const clockReuse = 64

// now returns the wall clock, read at most every clockReuse calls.
func (c *sysContext) now() time.Time {
	if c.clockUses == 0 || c.clockUses >= clockReuse {
		c.clock, c.clockUses = c.clockRead(), 0
	}
	c.clockUses++
	return c.clock
}

// matches is matches(s, pattern) for a pattern that is not a literal. An invalid pattern
// matches nothing; the load-time check catches literal ones.
func (c *sysContext) matches(s, pattern string) bool {
	re, ok := c.regexps[pattern]
	if !ok {
		if c.regexps == nil || len(c.regexps) > 1000 {
			c.regexps = map[string]*regexp.Regexp{}
		}
		re, _ = regexp.Compile(pattern)
		c.regexps[strings.Clone(pattern)] = re // pattern may alias the input
	}
	return re != nil && re.MatchString(s)
}

// rewrites expand the helpers that read the change's from/to values into calls of the typed
// helpers, so rules say changed("on", "off") and the VM runs iequals(from, "on") && ….
var rewrites = map[string]func(args []ast.Node) (ast.Node, bool){
	"changed": func(a []ast.Node) (ast.Node, bool) {
		if len(a) != 2 {
			return nil, false
		}
		return and(call("iequals", ident("from"), a[0]), call("iequals", ident("to"), a[1])), true
	},
	"turned_off": func(a []ast.Node) (ast.Node, bool) {
		if len(a) != 0 {
			return nil, false
		}
		return and(call("__is_on", ident("from")), call("__is_off", ident("to"))), true
	},
	"turned_on": func(a []ast.Node) (ast.Node, bool) {
		if len(a) != 0 {
			return nil, false
		}
		return and(call("__is_off", ident("from")), call("__is_on", ident("to"))), true
	},
}

func ident(name string) ast.Node { return &ast.IdentifierNode{Value: name} }

func call(name string, args ...ast.Node) ast.Node {
	return &ast.CallNode{Callee: ident(name), Arguments: args}
}

func and(a, b ast.Node) ast.Node { return &ast.BinaryNode{Operator: "&&", Left: a, Right: b} }

// helperPatch rewrites helper calls (see rewrites) and turns matches(s, "literal") into expr's
// matches operator, whose literal pattern expr compiles once at compile time.
type helperPatch struct{}

// Visit implements ast.Visitor.
func (helperPatch) Visit(node *ast.Node) {
	call, ok := (*node).(*ast.CallNode)
	if !ok {
		return
	}
	id, ok := call.Callee.(*ast.IdentifierNode)
	if !ok {
		return
	}
	if id.Value == "__matches" && len(call.Arguments) == 2 {
		if _, lit := call.Arguments[1].(*ast.StringNode); lit {
			ast.Patch(node, &ast.BinaryNode{Operator: "matches", Left: call.Arguments[0], Right: call.Arguments[1]})
			return
		}
	}
	if rw, ok := rewrites[id.Value]; ok {
		if n, ok := rw(call.Arguments); ok {
			ast.Patch(node, n)
		}
	}
}

// exprOptions are the compile options shared by every condition.
func exprOptions() []expr.Option {
	return []expr.Option{
		expr.Env(Env{}),
		expr.AsBool(),
		expr.Patch(helperPatch{}),
	}
}

// icontains reports whether sub occurs in s, ignoring ASCII and Unicode case.
func icontains(s, sub string) bool {
	if len(sub) == 0 {
		return true
	}
	if len(sub) > len(s) {
		return false
	}
	if isASCII(sub) {
		// Allocation-free ASCII scan: the common case for Zoom setting names. An ASCII match
		// is a match of the lower-cased strings whatever else s holds; only when there is
		// none does non-ASCII text need lower-casing (a few runes lower-case to ASCII).
		if ascii.IndexFold(s, sub) >= 0 {
			return true
		}
		if isASCII(s) {
			return false
		}
	}
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

func istarts(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// iequals compares case-insensitively, ignoring surrounding space.
func iequals(a, b string) bool {
	return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
}

func isOn(s string) bool {
	s = strings.TrimSpace(s)
	return strings.EqualFold(s, "on") || strings.EqualFold(s, "true") || strings.EqualFold(s, "enabled") || strings.EqualFold(s, "yes")
}

func isOff(s string) bool {
	s = strings.TrimSpace(s)
	return strings.EqualFold(s, "off") || strings.EqualFold(s, "false") || strings.EqualFold(s, "disabled") || strings.EqualFold(s, "no")
}

// domain returns the lower-cased domain of an e-mail address, or "" when s has none.
func domain(email string) string {
	i := strings.LastIndexByte(email, '@')
	if i < 0 {
		return ""
	}
	return strings.ToLower(strings.TrimSpace(email[i+1:]))
}

// inList reports whether s equals (case-insensitively) an element of list, which may be a
// []any from YAML/JSON params, a []string, or a single string.
func inList(s string, list any) bool {
	switch l := list.(type) {
	case []any:
		for _, v := range l {
			if str, ok := v.(string); ok && iequals(s, str) {
				return true
			}
		}
	case []string:
		for _, v := range l {
			if iequals(s, v) {
				return true
			}
		}
	case string:
		return iequals(s, l)
	}
	return false
}

// versionLess compares dotted numeric versions ("6.2.5.12345" < "6.3"); a non-numeric part
// compares by its leading digits, and a missing part counts as 0. An empty version is never
// less: an unknown client is not evidence of an old one.
func versionLess(v, min string) bool {
	v, min = strings.TrimSpace(v), strings.TrimSpace(min)
	if v == "" || min == "" {
		return false
	}
	for v != "" || min != "" {
		var a, b string
		a, v, _ = strings.Cut(v, ".")
		b, min, _ = strings.Cut(min, ".")
		x, y := leadingInt(a), leadingInt(b)
		if x != y {
			return x < y
		}
	}
	return false
}

func leadingInt(s string) int {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0 // without calling Atoi, whose error for "" allocates
	}
	n, _ := strconv.Atoi(s[:i])
	return n
}

// isAdmin is is_admin(actor): listed in params.admins, or seen operating.
func isAdmin(sys *sysContext, admins any, actor string) bool {
	if actor == "" {
		return false
	}
	if admins != nil && inList(actor, admins) {
		return true
	}
	if sys == nil || sys.admins == nil {
		return false
	}
	return sys.admins.isAdminAt(sys.ctx, strings.ToLower(strings.TrimSpace(actor)), sys.now)
}

// word returns s[i:i+8] as a little-endian integer; the compiler turns the shifts into one
// load (a []byte conversion of the string would copy it first).
func word(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

func isASCII(s string) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if word(s, i)&0x8080808080808080 != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// rewriteMatchesCalls renames the function-call form matches(s, re) to __matches(s, re):
// "matches" is an infix operator in expr ("s matches re") and cannot be called as a function.
// String literals and the infix form are left alone.
func rewriteMatchesCalls(src string) string {
	const word = "matches"
	var sb strings.Builder
	prev := byte(0) // last non-space byte outside strings
	for i := 0; i < len(src); {
		c := src[i]
		if c == '"' || c == '\'' || c == '`' {
			j := i + 1
			for j < len(src) && src[j] != c {
				if src[j] == '\\' && c != '`' {
					j++
				}
				j++
			}
			j = min(j+1, len(src))
			sb.WriteString(src[i:j])
			prev, i = c, j
			continue
		}
		operandBefore := (isIdentByte(prev) && !endsWithKeyword(sb.String())) || prev == ')' || prev == ']'
		if strings.HasPrefix(src[i:], word) && !operandBefore &&
			(i == 0 || !isIdentByte(src[i-1])) {
			k := i + len(word)
			for k < len(src) && (src[k] == ' ' || src[k] == '\t' || src[k] == '\n') {
				k++
			}
			if k < len(src) && src[k] == '(' {
				sb.WriteString("__")
			}
		}
		sb.WriteByte(c)
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			prev = c
		}
		i++
	}
	return sb.String()
}

func isIdentByte(c byte) bool {
	return c == '_' || c == '$' || ('0' <= c && c <= '9') || ascii.IsLetter(c)
}

// endsWithKeyword reports whether s (trailing space ignored) ends with a word operator, after
// which an identifier starts an operand rather than continuing an expression.
func endsWithKeyword(s string) bool {
	s = strings.TrimRight(s, " \t\n\r")
	for _, kw := range []string{"and", "or", "not", "in", "if", "else", "then"} {
		if strings.HasSuffix(s, kw) && (len(s) == len(kw) || !isIdentByte(s[len(s)-len(kw)-1])) {
			return true
		}
	}
	return false
}
