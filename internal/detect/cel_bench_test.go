package detect

import (
	"testing"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/interpreter"
)

// The expression language was chosen by this benchmark: the same conditions, over the same
// event, in expr-lang/expr (compiled to its VM, typed struct environment) and google/cel-go
// (checked, optimized program, allocation-free activation over the same struct).

type langCase struct {
	name, expr, cel string
}

var langCases = []langCase{
	{"two-factor-off",
		`icontains(setting, "two-factor") && changed("on", "off")`,
		`icontains(setting, "two-factor") && iequals(from, "on") && iequals(to, "off")`},
	{"role-to-admin",
		`setting == "User Role" && to == "Admin" && from != "Admin"`,
		`setting == "User Role" && to == "Admin" && from != "Admin"`},
	{"outside-domains",
		`actor != "" && !in_list(domain(actor), params.allowed_domains)`,
		`actor != "" && !in_list(domain(actor), allowed_domains)`},
	{"old-client",
		`iequals(action, "Sign in") && version_lt(version, "5.17.0")`,
		`iequals(action, "Sign in") && version_lt(version, "5.17.0")`},
}

// celActivation resolves CEL names from the same Env struct expr reads.
type celActivation struct{ e *Env }

func (a celActivation) ResolveName(name string) (any, bool) {
	switch name {
	case "setting":
		return a.e.Setting, true
	case "from":
		return a.e.From, true
	case "to":
		return a.e.To, true
	case "actor":
		return a.e.Actor, true
	case "action":
		return a.e.Action, true
	case "version":
		return a.e.Version, true
	case "allowed_domains":
		return a.e.Params["allowed_domains"], true
	}
	return nil, false
}

func (a celActivation) Parent() interpreter.Activation { return nil }

func celEnv(b *testing.B) *cel.Env {
	str2 := func(f func(a, b string) bool) cel.OverloadOpt {
		return cel.BinaryBinding(func(x, y ref.Val) ref.Val {
			return types.Bool(f(string(x.(types.String)), string(y.(types.String))))
		})
	}
	env, err := cel.NewEnv(
		cel.Variable("setting", cel.StringType), cel.Variable("from", cel.StringType),
		cel.Variable("to", cel.StringType), cel.Variable("actor", cel.StringType),
		cel.Variable("action", cel.StringType), cel.Variable("version", cel.StringType),
		cel.Variable("allowed_domains", cel.ListType(cel.StringType)),
		cel.Function("icontains", cel.Overload("icontains_ss", []*cel.Type{cel.StringType, cel.StringType}, cel.BoolType, str2(icontains))),
		cel.Function("iequals", cel.Overload("iequals_ss", []*cel.Type{cel.StringType, cel.StringType}, cel.BoolType, str2(iequals))),
		cel.Function("version_lt", cel.Overload("version_lt_ss", []*cel.Type{cel.StringType, cel.StringType}, cel.BoolType, str2(versionLess))),
		cel.Function("domain", cel.Overload("domain_s", []*cel.Type{cel.StringType}, cel.StringType,
			cel.UnaryBinding(func(x ref.Val) ref.Val { return types.String(domain(string(x.(types.String)))) }))),
		cel.Function("in_list", cel.Overload("in_list_sl", []*cel.Type{cel.StringType, cel.ListType(cel.StringType)}, cel.BoolType,
			cel.BinaryBinding(func(x, l ref.Val) ref.Val {
				native, err := l.ConvertToNative(reflectAnySlice)
				if err != nil {
					return types.False
				}
				return types.Bool(inList(string(x.(types.String)), native))
			}))),
	)
	if err != nil {
		b.Fatal(err)
	}
	return env
}

// BenchmarkConditionLanguage compares expr and CEL per condition evaluation, on a benign
// operation log (most conditions fail early) and a sign-in.
func BenchmarkConditionLanguage(b *testing.B) {
	events := map[string]*Env{
		"benign-op": {LogType: "Zoom.Operation", Actor: "admin@x.io", Category: "User", Action: "Update",
			Setting: "Display Name", From: "Lisa S", To: "Lisa Simpson", Params: map[string]any{"allowed_domains": []any{"x.io"}}},
		"sign-in": {LogType: "Zoom.Activity", Actor: "lisa@x.io", Action: "Sign in", Version: "5.9.3.1234",
			Params: map[string]any{"allowed_domains": []any{"x.io"}}},
	}
	for _, ev := range events {
		ev.setHelpers(&sysContext{})
	}
	celE := celEnv(b)
	for _, c := range langCases {
		prog, err := expr.Compile(rewriteMatchesCalls(c.expr), exprOptions()...)
		if err != nil {
			b.Fatal(err)
		}
		ast, iss := celE.Compile(c.cel)
		if iss.Err() != nil {
			b.Fatal(iss.Err())
		}
		cprog, err := celE.Program(ast, cel.EvalOptions(cel.OptOptimize))
		if err != nil {
			b.Fatal(err)
		}
		for evName, ev := range events {
			b.Run("expr/"+c.name+"/"+evName, func(b *testing.B) {
				var machine vm.VM
				b.ReportAllocs()
				start := lockThread(b)
				defer func() { b.ReportMetric(cpuNow().sub(start)*1e9/float64(b.N), "cpu-ns/op") }()
				for i := 0; i < b.N; i++ {
					if _, err := machine.Run(prog, ev); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("cel/"+c.name+"/"+evName, func(b *testing.B) {
				act := celActivation{ev}
				b.ReportAllocs()
				start := lockThread(b)
				defer func() { b.ReportMetric(cpuNow().sub(start)*1e9/float64(b.N), "cpu-ns/op") }()
				for i := 0; i < b.N; i++ {
					if _, _, err := cprog.Eval(act); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

var reflectAnySlice = reflectTypeOf[[]any]()
