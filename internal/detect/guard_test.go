package detect

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/zoomwatch/zoomwatch/internal/event"
)

// TestInertRules: a rule whose leading params-only tests are false for its params is left out
// of the index, and only then; the VM confirms such a rule never matches or fails.
func TestInertRules(t *testing.T) {
	cases := []struct {
		cond, params string
		inert        bool
	}{
		{`len(params.l) > 0 && icontains(text, "role")`, `l: []`, true},
		{`len(params.l) > 0 && icontains(text, "role")`, `l: [a]`, false},
		{`icontains(text, "role") && !(len(params.l) == 0) && iequals(to, "Admin")`, `l: []`, true},
		{`len(params.l) >= 2 && iequals(action, "Update")`, `l: [a]`, true},
		{`len(params.l) >= 2 && iequals(action, "Update")`, `l: [a, b]`, false},
		{`params.mode == "strict" && iequals(action, "Update")`, `mode: lax`, false}, // not compiled to Go: left to the VM
		{`len(params.n) > 0 && iequals(action, "Update")`, `n: 7`, false},
		{`domain(actor) != "" && len(params.l) > 0`, `l: []`, false}, // could fail first
		{`len(params.l) > 0 || icontains(text, "role")`, `l: []`, false},
	}
	records := mixedCorpus(600, 5)
	for _, c := range cases {
		src := fmt.Sprintf("id: Inert\nname: n\nlog_types: [Zoom.Operation, Zoom.Activity]\nseverity: LOW\ncondition: %q\ntitle: t\nparams:\n  %s\n", c.cond, c.params)
		r, err := ParseRule("inert.yaml", []byte(src))
		if err != nil {
			t.Fatalf("%s: %v", c.cond, err)
		}
		if got := r.inert(); got != c.inert {
			t.Errorf("%s with %s: inert = %v, want %v", c.cond, c.params, got, c.inert)
			continue
		}
		rs, err := NewRuleSet(r)
		if err != nil {
			t.Fatal(err)
		}
		if indexed := rs.indexOf(event.Operation) != nil || rs.indexOf(event.Activity) != nil; indexed == c.inert {
			t.Errorf("%s with %s: indexed = %v", c.cond, c.params, indexed)
		}
		if !c.inert {
			continue
		}
		// Evaluate the left-out rule on expr's VM over a corpus: no match and no error.
		for _, lt := range r.LogTypes {
			rs.index[logTypeSlot(lt)] = &typeIndex{any: []*Rule{r}}
		}
		eng := NewEngine(rs, NewMemState(), Options{NoDedup: true})
		eng.noGuards = true
		w := eng.NewWorker()
		for _, in := range records {
			if ms, err := w.EvalJSON(context.Background(), in, nil); err != nil || len(ms) > 0 {
				t.Fatalf("%s: VM gave %d matches, %v", c.cond, len(ms), err)
			}
		}
		if n := eng.ConditionErrors()[r.ID]; n != 0 {
			t.Errorf("%s: VM raised %d condition errors", c.cond, n)
		}
	}
}

// TestEnvResetClearsEveryEventField: reset zeroes every field but the helper functions, which
// it keeps.
func TestEnvResetClearsEveryEventField(t *testing.T) {
	var e Env
	e.setHelpers(&sysContext{})
	v := reflect.ValueOf(&e).Elem()
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString("x")
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Slice:
			f.Set(reflect.MakeSlice(f.Type(), 1, 1))
		case reflect.Map:
			f.Set(reflect.MakeMap(f.Type()))
		case reflect.Struct:
			f.Set(reflect.ValueOf(time.Unix(1, 0)))
		case reflect.Func:
		default:
			t.Fatalf("field %s of kind %s: teach this test to set it", v.Type().Field(i).Name, f.Kind())
		}
	}
	e.reset()
	for i := 0; i < v.NumField(); i++ {
		name, f := v.Type().Field(i).Name, v.Field(i)
		if f.Kind() == reflect.Func {
			if f.IsNil() {
				t.Errorf("reset dropped the helper %s", name)
			}
		} else if !f.IsZero() {
			t.Errorf("reset left %s = %v", name, f.Interface())
		}
	}
}

// TestNativeFoldsBoundParams: compiled for a rule's params, tests of params alone become
// constants, and a constant side of && or || leaves only what the event decides; unbound, or
// when evaluating them would fail (len of a number), they stay for run time.
func TestNativeFoldsBoundParams(t *testing.T) {
	cases := []struct {
		cond, params string
		konst        bool // the first conjunct is a constant
		want         bool // its value
	}{
		{`len(params.l) > 0 && iequals(action, "x")`, `l: [a]`, true, true},
		{`len(params.l) > 0 && iequals(action, "x")`, `l: []`, true, false},
		{`!(len(params.l) >= 2) && iequals(action, "x")`, `l: [a]`, true, true},
		{`len(params.n) > 0 && iequals(action, "x")`, `n: 7`, false, false},
		{`iequals(action, "x") && len(params.l) > 0`, `l: [a]`, false, false},
	}
	for _, c := range cases {
		src := fmt.Sprintf("id: Fold\nname: n\nlog_types: [Zoom.Operation]\nseverity: LOW\ncondition: %q\ntitle: t\nparams:\n  %s\n", c.cond, c.params)
		r, err := ParseRule("fold.yaml", []byte(src))
		if err != nil {
			t.Fatalf("%s: %v", c.cond, err)
		}
		first := conjuncts(r.program.Node(), nil)[0]
		bound, ok := (&nativeCompiler{params: r.Params, bound: true}).compile(first)
		if !ok {
			t.Fatalf("%s: not compiled", c.cond)
		}
		v, konst := constBool(bound)
		if konst != c.konst || (konst && v != c.want) {
			t.Errorf("%s with %s: constant %v (%v), want %v (%v)", c.cond, c.params, konst, v, c.konst, c.want)
		}
		if unbound, _ := (&nativeCompiler{}).compile(first); unbound.konst {
			t.Errorf("%s: constant without bound params", c.cond)
		}
		// The whole condition: a constant-true gate leaves the event's test alone, a
		// constant-false one a constant false.
		whole, _ := (&nativeCompiler{params: r.Params, bound: true}).compile(r.program.Node())
		if v, konst := constBool(whole); c.konst && (konst == c.want || (konst && v)) {
			t.Errorf("%s with %s: whole condition constant %v (%v)", c.cond, c.params, konst, v)
		}
	}
}

// TestActorVerdictsFollowTheActor: a condition of the actor alone is marked so, its verdict is
// reused only for the same actor, and records read from one reused buffer, with more actors
// than the worker remembers, get the verdict their own actor gives.
func TestActorVerdictsFollowTheActor(t *testing.T) {
	src := "id: Actor\nname: n\nlog_types: [Zoom.Operation]\nseverity: LOW\ncondition: 'icontains(actor, \"evil\")'\ntitle: t\n"
	r, err := ParseRule("actor.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if !r.actorOnly {
		t.Fatal("a condition of the actor alone is not marked actorOnly")
	}
	for _, cond := range []string{`icontains(actor, "evil") && iequals(action, "x")`, `is_admin(actor)`, `field("operator") == "x"`} {
		other, err := ParseRule("other.yaml", []byte(fmt.Sprintf("id: O\nname: n\nlog_types: [Zoom.Operation]\nseverity: LOW\ncondition: %q\ntitle: t\n", cond)))
		if err != nil {
			t.Fatal(err)
		}
		if other.actorOnly {
			t.Errorf("%s: marked actorOnly", cond)
		}
	}
	rs, err := NewRuleSet(r)
	if err != nil {
		t.Fatal(err)
	}
	w := NewEngine(rs, NewMemState(), Options{NoDedup: true}).NewWorker()
	buf := make([]byte, 0, 256)
	for i := 0; i < 60; i++ {
		actor := fmt.Sprintf("user%d@x.io", i%7)
		if i%3 == 0 {
			actor = fmt.Sprintf("evil%d@x.io", i%5)
		}
		buf = fmt.Appendf(buf[:0], `{"operator":%q,"category_type":"User","action":"Add","operation_detail":"Add User  - m@x.io"}`, actor)
		ms, err := w.EvalJSON(context.Background(), buf, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(ms) == 1, i%3 == 0; got != want {
			t.Fatalf("record %d by %s: matched %v, want %v", i, actor, got, want)
		}
	}
}
