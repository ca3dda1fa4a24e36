package detect

import (
	"github.com/expr-lang/expr/ast"
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
}

// maxGuards bounds the guards taken from one condition.
const maxGuards = 3

// guardsOf extracts guards from the top-level conjuncts of a checked condition tree.
func guardsOf(node ast.Node) []guard {
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
