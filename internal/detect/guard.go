package detect

import (
	"encoding/binary"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/expr-lang/expr/ast"

	"github.com/zoomwatch/zoomwatch/internal/ascii"
)

// guard is a literal test at the top of a condition's && chain ("iequals(action, \"Sign in\")
// && …"), checked in Go before the VM runs: when it fails, so does the whole condition, and
// most events fail the first one. It reads only string fields and has no side effects, so
// skipping the VM changes no verdict (TestGuardsKeepVerdicts).
type guard struct {
	get   func(*Env) string
	op    func(a, b string) bool
	lit   string
	needs uint8
	// alts, when set, make this guard a disjunction: it passes when every guard of one
	// alternative passes (from "(A && B) || C" at the top of a condition).
	alts [][]guard
	// native, when set, is the whole condition compiled to Go (nativeCompiler.condition); it is
	// then the rule's only guard and decides the verdict unless it bails out to the VM.
	native func(*Worker) bool
}

// maxGuards bounds the guards taken from one condition.
const maxGuards = 3

// guardsOf extracts guards from the top-level conjuncts of a checked condition tree.
func guardsOf(node ast.Node, params map[string]any) []guard {
	if f := (&nativeCompiler{params: params, bound: true}).condition(node); f != nil {
		return []guard{{native: f}}
	}
	g := necessary(node)
	if len(g) > maxGuards {
		g = g[:maxGuards]
	}
	return g
}

// necessary returns literal tests that must all pass for n to be true (none when unknown).
func necessary(n ast.Node) []guard {
	switch n := n.(type) {
	case *ast.BinaryNode:
		switch n.Operator {
		case "&&", "and":
			return append(necessary(n.Left), necessary(n.Right)...)
		case "||", "or":
			l, r := necessary(n.Left), necessary(n.Right)
			if len(l) == 0 || len(r) == 0 {
				return nil
			}
			return []guard{{alts: [][]guard{l, r}}}
		case "==":
			if g, ok := fieldLiteral(n.Left, n.Right, exactEqual); ok {
				return []guard{g}
			}
			if g, ok := fieldLiteral(n.Right, n.Left, exactEqual); ok {
				return []guard{g}
			}
		}
	case *ast.CallNode:
		id, ok := n.Callee.(*ast.IdentifierNode)
		if !ok || len(n.Arguments) != 2 {
			return nil
		}
		var op func(a, b string) bool
		switch id.Value {
		case "iequals":
			op = iequals
		case "icontains":
			op = icontains
		case "istarts":
			op = istarts
		default:
			return nil
		}
		if g, ok := fieldLiteral(n.Arguments[0], n.Arguments[1], op); ok {
			return []guard{g}
		}
	}
	return nil
}

func exactEqual(a, b string) bool { return a == b }

// fieldLiteral recognises (string field, string literal).
func fieldLiteral(f, l ast.Node, op func(a, b string) bool) (guard, bool) {
	id, ok := f.(*ast.IdentifierNode)
	if !ok {
		return guard{}, false
	}
	lit, ok := l.(*ast.StringNode)
	if !ok {
		return guard{}, false
	}
	get, ok := stringFields[id.Value]
	if !ok {
		return guard{}, false
	}
	return guard{get: get, op: op, lit: lit.Value, needs: needsOf(id.Value)}, true
}

// Native evaluation. Conditions of the supported shape (string fields, params, the helpers,
// &&, ||, !, comparisons, matches with a literal pattern, len, int, any, findIndex) are also
// compiled into Go closures over the Worker, which evaluate without the VM: no operand stack,
// no boxing of strings, and operation_detail parsed only when a branch actually reads a parsed
// field. expr still parses and type-checks every condition, and its program stays the
// reference: whenever a closure meets a value it cannot treat exactly as expr would (a
// non-string where a helper takes a string, int() of a non-number, len of a scalar) it bails
// out and the VM evaluates the event instead, so errors and verdicts are expr's
// (TestGuardsKeepVerdicts compares the two over a corpus).

type nativeKind uint8

const (
	kBool nativeKind = iota + 1
	kString
	kInt
	kAny
)

// native is a compiled sub-expression; exactly the function of its kind is set. konst says
// it reads nothing of the event (literals, and params when the compiler binds them).
type native struct {
	kind  nativeKind
	b     func(*Worker) bool
	s     func(*Worker) string
	i     func(*Worker) int
	a     func(*Worker) any
	konst bool
}

// nativeCompiler compiles conditions to natives. bound compiles for one rule's params: they
// become constants, and parts of the condition that read nothing else are evaluated once here
// (len(params.allowed_domains) > 0, a rule's params lists). A rule is compiled again when
// tuning changes its params (Rule.withOverride). Unbound, params are read from the Env.
type nativeCompiler struct {
	params map[string]any
	bound  bool
}

// fold evaluates a konst native once and returns it as a constant, unless evaluating it bails
// (then expr's VM must meet the same value at run time, and report the same error).
func fold(x native) native {
	if !x.konst {
		return x
	}
	var w Worker
	switch x.kind {
	case kBool:
		v := x.b(&w)
		if !w.bail {
			return native{kind: kBool, b: func(*Worker) bool { return v }, konst: true}
		}
	case kString:
		v := x.s(&w)
		if !w.bail {
			return native{kind: kString, s: func(*Worker) string { return v }, konst: true}
		}
	case kInt:
		v := x.i(&w)
		if !w.bail {
			return native{kind: kInt, i: func(*Worker) int { return v }, konst: true}
		}
	case kAny:
		v := x.a(&w)
		if !w.bail {
			return native{kind: kAny, a: func(*Worker) any { return v }, konst: true}
		}
	}
	x.konst = false
	return x
}

// constBool reports the value of a folded konst bool native.
func constBool(x native) (v, ok bool) {
	if x.kind != kBool || !x.konst {
		return false, false
	}
	var w Worker
	return x.b(&w), true
}

// condition compiles a checked condition, or returns nil when some node is outside the
// supported shape.
func (c *nativeCompiler) condition(node ast.Node) func(*Worker) bool {
	n, ok := c.compile(node)
	if !ok || n.kind != kBool {
		return nil
	}
	return n.b
}

func (c *nativeCompiler) compile(node ast.Node) (native, bool) {
	switch n := node.(type) {
	case *ast.StringNode:
		v := n.Value
		return native{kind: kString, s: func(*Worker) string { return v }, konst: true}, true
	case *ast.IntegerNode:
		v := n.Value
		return native{kind: kInt, i: func(*Worker) int { return v }, konst: true}, true
	case *ast.BoolNode:
		v := n.Value
		return native{kind: kBool, b: func(*Worker) bool { return v }, konst: true}, true
	case *ast.IdentifierNode:
		return c.ident(n.Value)
	case *ast.PointerNode:
		if n.Name != "" {
			return native{}, false
		}
		return native{kind: kAny, a: func(w *Worker) any { return w.ptr }}, true
	case *ast.MemberNode:
		id, ok := n.Node.(*ast.IdentifierNode)
		prop, ok2 := n.Property.(*ast.StringNode)
		if !ok || !ok2 || id.Value != "params" || n.Optional || n.Method {
			return native{}, false
		}
		name := prop.Value
		if c.bound {
			v := c.params[name]
			return native{kind: kAny, a: func(*Worker) any { return v }, konst: true}, true
		}
		return native{kind: kAny, a: func(w *Worker) any { return w.env.Params[name] }}, true
	case *ast.UnaryNode:
		if n.Operator != "!" && n.Operator != "not" {
			return native{}, false
		}
		x, ok := c.compile(n.Node)
		if !ok || x.kind != kBool {
			return native{}, false
		}
		f := x.b
		return fold(native{kind: kBool, b: func(w *Worker) bool { return !f(w) }, konst: x.konst}), true
	case *ast.BinaryNode:
		x, ok := c.binary(n)
		return fold(x), ok
	case *ast.CallNode:
		id, ok := n.Callee.(*ast.IdentifierNode)
		if !ok {
			return native{}, false
		}
		return c.call(id.Value, n.Arguments)
	case *ast.BuiltinNode:
		x, ok := c.builtin(n)
		return fold(x), ok
	}
	return native{}, false
}

func (c *nativeCompiler) ident(name string) (native, bool) {
	needs := needsOf(name)
	if get, ok := stringFields[name]; ok {
		if name == "text" {
			return native{kind: kString, s: func(w *Worker) string { return w.env.Text }}, true
		}
		if needs == 0 {
			return native{kind: kString, s: func(w *Worker) string { return get(&w.env) }}, true
		}
		return native{kind: kString, s: func(w *Worker) string {
			if w.lazy&needs != 0 {
				w.fill(needs)
			}
			return get(&w.env)
		}}, true
	}
	switch name {
	case "parsed":
		return native{kind: kBool, b: func(w *Worker) bool {
			if w.lazy&needDetail != 0 {
				w.fill(needDetail)
			}
			return w.env.Parsed
		}}, true
	case "params":
		if c.bound {
			p := c.params
			return native{kind: kAny, a: func(*Worker) any { return p }, konst: true}, true
		}
		return native{kind: kAny, a: func(w *Worker) any { return w.env.Params }}, true
	}
	return native{}, false
}

// str returns x as a string-valued function; any values that are not strings bail.
func (x native) str() (func(*Worker) string, bool) {
	switch x.kind {
	case kString:
		return x.s, true
	case kAny:
		a := x.a
		return func(w *Worker) string {
			s, ok := a(w).(string)
			if !ok {
				w.bail = true
			}
			return s
		}, true
	}
	return nil, false
}

func (c *nativeCompiler) binary(n *ast.BinaryNode) (native, bool) {
	l, ok := c.compile(n.Left)
	if !ok {
		return native{}, false
	}
	if n.Operator == "matches" {
		lit, ok := n.Right.(*ast.StringNode)
		if !ok {
			return native{}, false
		}
		re, err := regexp.Compile(lit.Value)
		s, ok := l.str()
		if err != nil || !ok || l.kind != kString {
			return native{}, false
		}
		if id, ok := n.Left.(*ast.IdentifierNode); ok && id.Value == "text" {
			if low := lowerPattern(lit.Value); low != nil {
				// The regexp engine is worth avoiding; a wordSeq is as quick as the check.
				var req literalSet
				if _, ok := low.(*regexp.Regexp); ok {
					lits := requiredLiterals(strings.TrimPrefix(lit.Value, "(?i)"))
					req = newLiteralSet(lits[:min(len(lits), maxRequired)])
				}
				return native{kind: kBool, b: func(w *Worker) bool { return w.textMatches(re, low, req) }}, true
			}
		}
		return native{kind: kBool, b: func(w *Worker) bool { return re.MatchString(s(w)) }}, true
	}
	r, ok := c.compile(n.Right)
	if !ok {
		return native{}, false
	}
	switch n.Operator {
	case "&&", "and", "||", "or":
		if l.kind != kBool || r.kind != kBool {
			return native{}, false
		}
		and := n.Operator == "&&" || n.Operator == "and"
		// A constant left side settles the operator or leaves only the right side, as
		// short-circuit evaluation would: the right side is then all that can fail.
		if v, ok := constBool(l); ok {
			if v == and {
				return r, true
			}
			return l, true
		}
		a, b := l.b, r.b
		if and {
			return native{kind: kBool, b: func(w *Worker) bool { return a(w) && b(w) }}, true
		}
		return native{kind: kBool, b: func(w *Worker) bool { return a(w) || b(w) }}, true
	case "==", "!=", "<", ">", "<=", ">=":
		x, ok := c.compare(n, l, r)
		x.konst = l.konst && r.konst
		return x, ok
	}
	return native{}, false
}

// compare compiles the comparison n of l and r.
func (c *nativeCompiler) compare(n *ast.BinaryNode, l, r native) (native, bool) {
	switch n.Operator {
	case "==", "!=":
		neg := n.Operator == "!="
		switch {
		case l.kind == kString && r.kind == kString:
			a, b := l.s, r.s
			if lit, ok := n.Right.(*ast.StringNode); ok {
				v := lit.Value
				return native{kind: kBool, b: func(w *Worker) bool { return (a(w) == v) != neg }}, true
			}
			return native{kind: kBool, b: func(w *Worker) bool { return (a(w) == b(w)) != neg }}, true
		case l.kind == kInt && r.kind == kInt:
			a, b := l.i, r.i
			return native{kind: kBool, b: func(w *Worker) bool { return (a(w) == b(w)) != neg }}, true
		}
		return native{}, false
	case "<", ">", "<=", ">=":
		if l.kind != kInt || r.kind != kInt {
			return native{}, false
		}
		a, b := l.i, r.i
		switch n.Operator {
		case "<":
			return native{kind: kBool, b: func(w *Worker) bool { return a(w) < b(w) }}, true
		case ">":
			return native{kind: kBool, b: func(w *Worker) bool { return a(w) > b(w) }}, true
		case "<=":
			return native{kind: kBool, b: func(w *Worker) bool { return a(w) <= b(w) }}, true
		default:
			return native{kind: kBool, b: func(w *Worker) bool { return a(w) >= b(w) }}, true
		}
	}
	return native{}, false
}

// strArgs compiles call arguments that must all be strings.
func (c *nativeCompiler) strArgs(args []ast.Node, want int) ([]func(*Worker) string, bool) {
	if len(args) != want {
		return nil, false
	}
	out := make([]func(*Worker) string, want)
	for i, a := range args {
		x, ok := c.compile(a)
		if !ok {
			return nil, false
		}
		if out[i], ok = x.str(); !ok {
			return nil, false
		}
	}
	return out, true
}

func (c *nativeCompiler) call(name string, args []ast.Node) (native, bool) {
	switch name {
	case "icontains", "istarts", "iequals", "__matches", "version_lt":
		s, ok := c.strArgs(args, 2)
		if !ok {
			return native{}, false
		}
		a, b := s[0], s[1]
		var op func(string, string) bool
		lit, isLit := args[1].(*ast.StringNode)
		switch name {
		case "icontains":
			if isLit && isASCII(lit.Value) {
				low := strings.ToLower(lit.Value)
				if id, ok := args[0].(*ast.IdentifierNode); ok && id.Value == "text" {
					m := bigramsOf(low)
					return native{kind: kBool, b: func(w *Worker) bool { return w.textContains(low, m) }}, true
				}
				return native{kind: kBool, b: func(w *Worker) bool { return icontainsLower(a(w), low) }}, true
			}
			op = icontains
		case "istarts":
			op = istarts
		case "iequals":
			if isLit {
				// iequals trims both sides; the literal's side is trimmed once here.
				v := strings.TrimSpace(lit.Value)
				return native{kind: kBool, b: func(w *Worker) bool { return strings.EqualFold(strings.TrimSpace(a(w)), v) }}, true
			}
			op = iequals
		case "version_lt":
			op = versionLess
		case "__matches":
			return native{kind: kBool, b: func(w *Worker) bool { return w.sys.matches(a(w), b(w)) }}, true
		}
		return native{kind: kBool, b: func(w *Worker) bool { return op(a(w), b(w)) }}, true
	case "__is_on", "__is_off", "is_admin":
		s, ok := c.strArgs(args, 1)
		if !ok {
			return native{}, false
		}
		a := s[0]
		switch name {
		case "__is_on":
			return native{kind: kBool, b: func(w *Worker) bool { return isOn(a(w)) }}, true
		case "__is_off":
			return native{kind: kBool, b: func(w *Worker) bool { return isOff(a(w)) }}, true
		}
		if c.bound {
			admins := c.params["admins"]
			return native{kind: kBool, b: func(w *Worker) bool { return isAdmin(&w.sys, admins, a(w)) }}, true
		}
		return native{kind: kBool, b: func(w *Worker) bool { return isAdmin(&w.sys, w.env.Params["admins"], a(w)) }}, true
	case "domain", "field":
		s, ok := c.strArgs(args, 1)
		if !ok {
			return native{}, false
		}
		a := s[0]
		if name == "domain" {
			return native{kind: kString, s: func(w *Worker) string { return domain(a(w)) }}, true
		}
		return native{kind: kString, s: func(w *Worker) string { return rawField(w.sys.raw, a(w)) }}, true
	case "in_list":
		if len(args) != 2 {
			return native{}, false
		}
		x, ok1 := c.compile(args[0])
		l, ok2 := c.compile(args[1])
		if !ok1 || !ok2 {
			return native{}, false
		}
		list, ok := l.anyFn()
		if !ok {
			return native{}, false
		}
		// in_list treats a non-string first argument as "".
		var s func(*Worker) string
		switch x.kind {
		case kString:
			s = x.s
		case kAny:
			a := x.a
			s = func(w *Worker) string { v, _ := a(w).(string); return v }
		default:
			return native{}, false
		}
		return native{kind: kBool, b: func(w *Worker) bool { return inList(s(w), list(w)) }}, true
	}
	return native{}, false
}

// anyFn returns x as an any-valued function for kinds that box without allocating.
func (x native) anyFn() (func(*Worker) any, bool) {
	if x.kind == kAny {
		return x.a, true
	}
	return nil, false
}

func (c *nativeCompiler) builtin(n *ast.BuiltinNode) (native, bool) {
	switch n.Name {
	case "len", "int":
		if len(n.Arguments) != 1 {
			return native{}, false
		}
		x, ok := c.compile(n.Arguments[0])
		if !ok {
			return native{}, false
		}
		if n.Name == "int" {
			switch x.kind {
			case kInt:
				return x, true
			case kString:
				s := x.s
				return native{kind: kInt, i: func(w *Worker) int {
					v, err := strconv.Atoi(s(w))
					if err != nil {
						w.bail = true
					}
					return v
				}, konst: x.konst}, true
			}
			return native{}, false
		}
		switch x.kind {
		case kString:
			s := x.s
			return native{kind: kInt, i: func(w *Worker) int { return utf8.RuneCountInString(s(w)) }, konst: x.konst}, true
		case kAny:
			a := x.a
			return native{kind: kInt, i: func(w *Worker) int {
				switch v := a(w).(type) {
				case []any:
					return len(v)
				case []string:
					return len(v)
				case map[string]any:
					return len(v)
				case string:
					return utf8.RuneCountInString(v)
				}
				w.bail = true
				return 0
			}, konst: x.konst}, true
		}
		return native{}, false
	case "any", "findIndex":
		if len(n.Arguments) != 2 {
			return native{}, false
		}
		arr, ok := c.compile(n.Arguments[0])
		pred, ok2 := n.Arguments[1].(*ast.PredicateNode)
		if !ok || !ok2 || arr.kind != kAny {
			return native{}, false
		}
		body, ok := c.compile(pred.Node)
		if !ok || body.kind != kBool {
			return native{}, false
		}
		list, test := arr.a, body.b
		index := func(w *Worker) int {
			saved := w.ptr
			defer func() { w.ptr = saved }()
			switch l := list(w).(type) {
			case []any:
				for i, v := range l {
					w.ptr = v
					if test(w) {
						return i
					}
					if w.bail {
						return -1
					}
				}
			default:
				// Other element types box per element or are not arrays: the VM decides.
				w.bail = true
			}
			return -1
		}
		if n.Name == "findIndex" {
			// expr's findIndex is nil, not -1, when nothing matches, and comparing nil fails:
			// the VM reproduces that error.
			return native{kind: kInt, i: func(w *Worker) int {
				i := index(w)
				if i < 0 {
					w.bail = true
				}
				return i
			}}, true
		}
		return native{kind: kBool, b: func(w *Worker) bool { return index(w) >= 0 }}, true
	}
	return native{}, false
}

// textContains is icontains(text, low) for a lower-case ASCII literal with bigrams m: the
// event's text is lower-cased once (into a reused buffer) and searched for every literal of
// every rule. A literal with a bigram the text lacks is absent without a search, which
// settles most of the literals rules test on an event.
func (w *Worker) textContains(low string, m bigramSet) bool {
	if w.lowerText() {
		if !w.lowGrams.holds(m) {
			return false
		}
		return strings.Contains(bytesToString(w.lowBuf), low)
	}
	return icontains(w.env.Text, low)
}

// bigramSet is a 128-bit set of hashed byte pairs: a Bloom filter of the pairs in a string.
type bigramSet [2]uint64

// holds says g has every pair of sub: a string with g's pairs may contain one with sub's.
func (g bigramSet) holds(sub bigramSet) bool { return sub[0]&^g[0]|sub[1]&^g[1] == 0 }

// bigramsOf returns the set of s's byte pairs. The pair (a, b) hashes to bit
// (a*61+b) mod 128; the set's two words stay in registers, each pair's bit masked into both.
func bigramsOf(s string) bigramSet {
	var g0, g1 uint64
	if len(s) > 0 {
		prev := uint(s[0])
		for i := 1; i < len(s); i++ {
			c := uint(s[i])
			h := (prev*61 + c) & 127
			bit := uint64(1) << (h & 63)
			hiWord := -uint64(h >> 6)
			g0 |= bit &^ hiWord
			g1 |= bit & hiWord
			prev = c
		}
	}
	return bigramSet{g0, g1}
}

// lowerText fills lowBuf with the event's text lower-cased, and lowGrams with its bigrams,
// once per event, and reports whether the text is ASCII (otherwise neither is used).
func (w *Worker) lowerText() bool {
	if w.lowState == lowUnknown {
		t := w.env.Text
		if cap(w.lowBuf) < len(t) {
			w.lowBuf = make([]byte, len(t), 2*len(t))
		}
		low := w.lowBuf[:len(t)]
		// Lower-case eight bytes at a time: a byte is upper-case ASCII when adding 0x3f to
		// its low seven bits carries into bit 7 ('A' and above) and adding 0x25 does not
		// ('Z' and below); bytes with bit 7 set are left alone and make the text non-ASCII.
		const sevens, highs = 0x7f7f7f7f7f7f7f7f, 0x8080808080808080
		var hi uint64
		i := 0
		for ; i+8 <= len(t); i += 8 {
			x := word(t, i)
			hi |= x
			upper := ((x & sevens) + 0x3f3f3f3f3f3f3f3f) &^ ((x & sevens) + 0x2525252525252525) &^ x & highs
			binary.LittleEndian.PutUint64(low[i:], x|upper>>2)
		}
		for ; i < len(t); i++ {
			c := t[i]
			hi |= uint64(c)
			if c-'A' < 26 {
				c += 'a' - 'A'
			}
			low[i] = c
		}
		w.lowBuf, w.lowGrams = low, bigramsOf(bytesToString(low))
		w.lowState = lowASCII
		if hi&highs != 0 {
			w.lowState = lowOther
		}
	}
	return w.lowState == lowASCII
}

// States of Worker.lowBuf for the current event.
const (
	lowUnknown uint8 = iota
	lowASCII
	lowOther
)

// stringMatcher is a compiled pattern: *regexp.Regexp or *wordSeq.
type stringMatcher interface {
	MatchString(s string) bool
}

// lowerPattern returns, for a "(?i)…" pattern whose body has no upper-case or non-ASCII
// characters and no further flags, the body compiled case-sensitively: on ASCII text
// lower-cased it matches exactly where the original matches the text (every letter it names
// is lower-case, and lower-casing ASCII changes neither \s, \d, \b nor any other class it can
// use), and Go's regexp then finds its literal prefix with a fast substring search instead of
// trying a case-folding match at every position. A body of words and whitespace runs is
// matched without a regexp engine (wordSeq). Nil when the pattern does not qualify.
func lowerPattern(pattern string) stringMatcher {
	body, ok := strings.CutPrefix(pattern, "(?i)")
	if !ok || strings.Contains(body, "(?") && strings.Count(body, "(?") != strings.Count(body, "(?:") {
		return nil
	}
	for i := 0; i < len(body); i++ {
		if c := body[i]; c >= 0x80 || ('A' <= c && c <= 'Z') {
			return nil
		}
	}
	re, err := regexp.Compile(body)
	if err != nil {
		return nil
	}
	if ws := compileWordSeq(body); ws != nil {
		return ws
	}
	return re
}

// textMatches is matches(text, re) with low the lower-case form of re (see lowerPattern)
// and req the literals every match of low contains.
func (w *Worker) textMatches(re *regexp.Regexp, low stringMatcher, req literalSet) bool {
	if w.lowerText() {
		for i, lit := range req.lits {
			if !w.textContains(lit, req.grams[i]) {
				return false
			}
		}
		return low.MatchString(bytesToString(w.lowBuf))
	}
	return re.MatchString(w.env.Text)
}

// maxRequired is how many of a pattern's required literals (the longest, most selective)
// are checked before it runs: on a near miss every check passes and only costs time.
const maxRequired = 3

// literalSet is lower-case literals with their bigrams.
type literalSet struct {
	lits  []string
	grams []bigramSet
}

func newLiteralSet(lits []string) literalSet {
	ls := literalSet{lits: lits}
	for _, l := range lits {
		ls.grams = append(ls.grams, bigramsOf(l))
	}
	return ls
}

// icontainsLower is icontains(s, low) for a lower-case ASCII low, without re-examining low.
func icontainsLower(s, low string) bool {
	if len(low) == 0 {
		return true
	}
	if len(low) > len(s) {
		return false
	}
	return ascii.IndexFold(s, low) >= 0 || !isASCII(s) && icontains(s, low)
}

// textNeeds is what a condition requires of the text's bigrams: every pair of all, and when
// anyOf is set, every pair of at least one of its sets (from "icontains(text, \"sso\") ||
// icontains(text, \"saml\")").
type textNeeds struct {
	all   bigramSet
	anyOf []bigramSet
}

// mayMatch reports whether text bigrams g can satisfy the needs.
func (t *textNeeds) mayMatch(g bigramSet) bool {
	if !g.holds(t.all) {
		return false
	}
	for _, a := range t.anyOf {
		if g.holds(a) {
			return true
		}
	}
	return t.anyOf == nil
}

// empty says the needs rule nothing out.
func (t *textNeeds) empty() bool { return t.all == bigramSet{} && t.anyOf == nil }

// textNeedsOf returns the bigrams of the text literals n cannot be true without, taken only
// from the conjuncts evaluated before the first one that could fail or read anything but a
// string field: skipping a rule whose literals the event's text lacks then changes neither
// its verdict nor its errors (icontains(text, "lit") and matches(text, "(?i)…") are false
// there, and nothing before them can fail). One disjunction of such tests is kept as anyOf.
func textNeedsOf(n ast.Node) textNeeds {
	var t textNeeds
	for _, c := range conjuncts(n, nil) {
		alts, safe := textAlternatives(c)
		if !safe {
			break
		}
		switch {
		case len(alts) == 1:
			t.all[0], t.all[1] = t.all[0]|alts[0][0], t.all[1]|alts[0][1]
		case len(alts) > 1 && t.anyOf == nil:
			t.anyOf = alts
		}
	}
	return t
}

// textAlternatives returns bigram sets of which the text must hold at least one for c to be
// true (none: no requirement), and whether c cannot fail (see textLiterals).
func textAlternatives(c ast.Node) (alts []bigramSet, safe bool) {
	if b, ok := c.(*ast.BinaryNode); ok {
		switch b.Operator {
		case "&&", "and", "||", "or":
			l, lsafe := textAlternatives(b.Left)
			r, rsafe := textAlternatives(b.Right)
			if !lsafe || !rsafe {
				return nil, false
			}
			if b.Operator == "||" || b.Operator == "or" {
				if l == nil || r == nil {
					return nil, true // one side needs nothing of the text
				}
				return append(l, r...), true
			}
			switch {
			case l == nil:
				return r, true
			case r == nil || len(r) > 1:
				return l, true
			case len(l) == 1:
				return []bigramSet{{l[0][0] | r[0][0], l[0][1] | r[0][1]}}, true
			}
			return r, true
		}
	}
	lits, safe := textLiterals(c)
	if !safe || len(lits) == 0 {
		return nil, safe
	}
	var m bigramSet
	for _, l := range lits {
		g := bigramsOf(l)
		m[0], m[1] = m[0]|g[0], m[1]|g[1]
	}
	return []bigramSet{m}, true
}

// conjuncts appends the operands of n's top-level && chain to dst, in evaluation order.
func conjuncts(n ast.Node, dst []ast.Node) []ast.Node {
	if b, ok := n.(*ast.BinaryNode); ok && (b.Operator == "&&" || b.Operator == "and") {
		return conjuncts(b.Right, conjuncts(b.Left, dst))
	}
	return append(dst, n)
}

// paramGatesOf compiles the conjuncts of n that read nothing but params and literals
// ("len(params.allowed_domains) > 0"), taken only from those evaluated before the first one
// that could fail or read anything but a string field. When one is false for the rule's
// params, the condition is false for every event without an error (&& stops there), so the
// rule is left out of the index (Rule.inert) instead of being evaluated on every event.
func paramGatesOf(n ast.Node) []func(*Worker) bool {
	var gates []func(*Worker) bool
	for _, c := range conjuncts(n, nil) {
		if onlyParams(c) {
			if f := (&nativeCompiler{}).condition(c); f != nil {
				gates = append(gates, f)
				continue
			}
			break
		}
		if _, safe := textLiterals(c); !safe {
			break
		}
	}
	return gates
}

// onlyParams reports whether n reads nothing but params, literals, len and int.
func onlyParams(n ast.Node) bool {
	switch n := n.(type) {
	case *ast.StringNode, *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.NilNode:
		return true
	case *ast.IdentifierNode:
		return n.Value == "params"
	case *ast.MemberNode:
		return onlyParams(n.Node) && onlyParams(n.Property)
	case *ast.UnaryNode:
		return onlyParams(n.Node)
	case *ast.BinaryNode:
		return onlyParams(n.Left) && onlyParams(n.Right)
	case *ast.BuiltinNode:
		if n.Name != "len" && n.Name != "int" {
			return false
		}
		for _, a := range n.Arguments {
			if !onlyParams(a) {
				return false
			}
		}
		return true
	}
	return false
}

// pureHelpers are the helpers whose answer depends on their arguments alone (not is_admin,
// which reads state, nor field, which reads the raw record).
var pureHelpers = map[string]bool{"domain": true, "in_list": true, "iequals": true, "icontains": true,
	"istarts": true, "__matches": true, "version_lt": true, "__is_on": true, "__is_off": true}

// readsOnlyActor reports whether n reads nothing of the event but the actor: such a
// condition has one verdict per actor (Rule.actorOnly).
func readsOnlyActor(n ast.Node) bool {
	switch n := n.(type) {
	case *ast.StringNode, *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.NilNode, *ast.PointerNode:
		return true
	case *ast.IdentifierNode:
		return n.Value == "actor" || n.Value == "params"
	case *ast.MemberNode:
		return readsOnlyActor(n.Node) && readsOnlyActor(n.Property)
	case *ast.UnaryNode:
		return readsOnlyActor(n.Node)
	case *ast.BinaryNode:
		return readsOnlyActor(n.Left) && readsOnlyActor(n.Right)
	case *ast.PredicateNode:
		return readsOnlyActor(n.Node)
	case *ast.CallNode:
		id, ok := n.Callee.(*ast.IdentifierNode)
		if !ok || !pureHelpers[id.Value] {
			return false
		}
		return allReadOnlyActor(n.Arguments)
	case *ast.BuiltinNode:
		switch n.Name {
		case "len", "int", "any", "findIndex":
			return allReadOnlyActor(n.Arguments)
		}
	}
	return false
}

func allReadOnlyActor(ns []ast.Node) bool {
	for _, a := range ns {
		if !readsOnlyActor(a) {
			return false
		}
	}
	return true
}

// inert reports whether r's params make its condition false for every event (paramGatesOf).
func (r *Rule) inert() bool {
	var w Worker
	w.env.Params = r.Params
	for _, g := range r.paramGates {
		w.bail = false
		if ok := g(&w); w.bail {
			return false // expr would fail here on every event: leave that to the VM
		} else if !ok {
			return true
		}
	}
	return false
}

// textLiterals returns the lower-case literals the text must contain for c to be true, and
// whether c is a test that cannot fail: a string helper or comparison of string fields and
// literals.
func textLiterals(c ast.Node) (lits []string, safe bool) {
	isText := func(n ast.Node) bool {
		id, ok := n.(*ast.IdentifierNode)
		return ok && id.Value == "text"
	}
	isField := func(n ast.Node) bool {
		id, ok := n.(*ast.IdentifierNode)
		if !ok {
			return false
		}
		_, str := stringFields[id.Value]
		return str
	}
	literal := func(n ast.Node) (string, bool) {
		s, ok := n.(*ast.StringNode)
		if !ok {
			return "", false
		}
		return s.Value, true
	}
	pattern := func(p string) []string {
		if lowerPattern(p) == nil {
			return nil
		}
		return requiredLiterals(strings.TrimPrefix(p, "(?i)"))
	}
	switch c := c.(type) {
	case *ast.CallNode:
		id, ok := c.Callee.(*ast.IdentifierNode)
		if !ok || len(c.Arguments) != 2 || !isField(c.Arguments[0]) {
			return nil, false
		}
		lit, ok := literal(c.Arguments[1])
		if !ok {
			return nil, false
		}
		switch id.Value {
		case "icontains":
			if isText(c.Arguments[0]) && isASCII(lit) {
				return []string{strings.ToLower(lit)}, true
			}
			return nil, true
		case "istarts", "iequals":
			return nil, true
		case "__matches":
			if _, err := regexp.Compile(lit); err == nil && isText(c.Arguments[0]) {
				return pattern(lit), true
			}
		}
	case *ast.BinaryNode:
		lit, ok := literal(c.Right)
		if !ok || !isField(c.Left) {
			return nil, false
		}
		switch c.Operator {
		case "==", "!=":
			return nil, true
		case "matches":
			if _, err := regexp.Compile(lit); err == nil && isText(c.Left) {
				return pattern(lit), true
			}
		}
	}
	return nil, false
}

// actionsOf returns the activity types one of which n requires of the event's action,
// lower-cased: from iequals(action, "lit") or action == "lit" in n's top-level && chain (the
// first found), or from every alternative of an ||. It returns nil when n does not say, or
// says it with a non-ASCII literal (whose lower-casing may not fold like the comparison).
// The index built from it may hold more events than the condition accepts, never fewer.
func actionsOf(n ast.Node) []string {
	switch n := n.(type) {
	case *ast.BinaryNode:
		switch n.Operator {
		case "&&", "and":
			if a := actionsOf(n.Left); a != nil {
				return a
			}
			return actionsOf(n.Right)
		case "||", "or":
			l, r := actionsOf(n.Left), actionsOf(n.Right)
			if l == nil || r == nil {
				return nil
			}
			return append(l, r...)
		case "==":
			if a := actionLiteral(n.Left, n.Right); a != nil {
				return a
			}
			return actionLiteral(n.Right, n.Left)
		}
	case *ast.CallNode:
		if id, ok := n.Callee.(*ast.IdentifierNode); ok && id.Value == "iequals" && len(n.Arguments) == 2 {
			if a := actionLiteral(n.Arguments[0], n.Arguments[1]); a != nil {
				return a
			}
			return actionLiteral(n.Arguments[1], n.Arguments[0])
		}
	}
	return nil
}

// actionLiteral recognises (action, ASCII string literal) for actionsOf.
func actionLiteral(f, l ast.Node) []string {
	id, ok := f.(*ast.IdentifierNode)
	if !ok || id.Value != "action" {
		return nil
	}
	lit, ok := l.(*ast.StringNode)
	if !ok || !isASCII(lit.Value) {
		return nil
	}
	return []string{strings.ToLower(strings.TrimSpace(lit.Value))}
}
