package detect

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zoomwatch/zoomwatch/internal/event"
)

// benignDetails are operation_detail texts of everyday admin work; riskyDetails would alert.
var (
	benignDetails = []struct{ cat, action, detail string }{
		{"User", "Update", "Update User %s  - Display Name: from Lisa S to Lisa Simpson"},
		{"User", "Add", "Add User  - %s"},
		{"User", "Update", "Update User %s  - Department: from Sales to Marketing"},
		{"Meeting", "Update", "Meeting  - Join before host: from Off to On"},
		{"Account", "Update", "Account Settings  - Mute participants upon entry: from Off to On"},
		{"Recording", "Delete", "Delete Recording  - Weekly sync"},
		{"User Group", "Update", "Edit Group Springfield  - Allow cloud recording: from Off to On"},
		{"Webinar", "Add", "Add Webinar  - Quarterly town hall"},
		{"Account", "Update", "Security  - Sign in with Two-Factor Authentication: from Off to On"},
		{"User", "Update", "Update User %s  - User Role: from Admin to Member"},
	}
	riskyDetails = []struct{ cat, action, detail string }{
		{"Account", "Update", "Security  - Sign in with Two-Factor Authentication: from On to Off"},
		{"User", "Update", "Update User %s  - User Role: from Member to Admin"},
	}
	users    = []string{"lisa@x.io", "bart@x.io", "homer@x.io", "marge@x.io", "maggie@x.io", "ned@x.io"}
	versions = []string{"6.2.5.12345", "6.1.0.1000", "5.9.3.1234", "-", "6.3.1.500"}
)

// mixedCorpus returns n raw Zoom records, about one in 500 risky, 60% operation logs; the
// sign-ins are by six users.
func mixedCorpus(n int, seed uint64) [][]byte { return mixedCorpusUsers(n, seed, 0) }

// mixedCorpusUsers is mixedCorpus with the sign-ins by nUsers users (0: the six of users).
func mixedCorpusUsers(n int, seed uint64, nUsers int) [][]byte {
	rng := rand.New(rand.NewPCG(seed, 7))
	t0 := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	out := make([][]byte, 0, n)
	for i := 0; i < n; i++ {
		ts := t0.Add(time.Duration(i) * 3 * time.Second).Format(time.RFC3339)
		u := users[rng.IntN(len(users))]
		if nUsers > 0 {
			u = fmt.Sprintf("user%d@x.io", rng.IntN(nUsers))
		}
		if rng.IntN(10) < 6 {
			d := benignDetails[rng.IntN(len(benignDetails))]
			if rng.IntN(500) == 0 {
				d = riskyDetails[rng.IntN(len(riskyDetails))]
			}
			detail := d.detail
			if n := countVerbs(detail); n > 0 {
				detail = fmt.Sprintf(detail, users[rng.IntN(len(users))])
			}
			b, _ := json.Marshal(map[string]string{"time": ts, "operator": "admin@x.io", "category_type": d.cat, "action": d.action, "operation_detail": detail})
			out = append(out, b)
			continue
		}
		typ := "Sign in"
		if rng.IntN(3) == 0 {
			typ = "Sign out"
		}
		ip := fmt.Sprintf("203.0.113.%d", rng.IntN(4))
		b, _ := json.Marshal(map[string]string{"email": u, "time": ts, "type": typ, "ip_address": ip, "client_type": "Windows", "version": versions[rng.IntN(len(versions))]})
		out = append(out, b)
	}
	return out
}

func countVerbs(s string) int {
	n := 0
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '%' && s[i+1] == 's' {
			n++
		}
	}
	return n
}

// envelopeCorpus normalizes records into envelope JSON, as the detector Lambda receives them.
func envelopeCorpus(records [][]byte) [][]byte {
	out := make([][]byte, 0, len(records))
	ingested := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	for _, r := range records {
		lt, err := event.InferLogType(r)
		if err != nil {
			panic(err)
		}
		env, err := event.Normalize("acme", lt, r, ingested)
		if err != nil {
			panic(err)
		}
		b, _ := json.Marshal(env)
		out = append(out, b)
	}
	return out
}

// TestNativeConditionsMatchVM compiles conditions that exercise every node the native
// evaluator supports, including the cases where it must hand the event to the VM (values of
// the wrong type, int() of a non-number), and checks that native evaluation and the VM agree
// on every verdict and every condition error over records of both log types.
func TestNativeConditionsMatchVM(t *testing.T) {
	conditions := []string{
		`icontains(text, "role") && iequals(setting, "User Role") && changed("member", "admin")`,
		`matches(text, "(?i)from\\s+on\\s+to\\s+off\\b") || matches(setting, "(?i)^display")`,
		`turned_off() || turned_on() && !parsed`,
		`int(to) < int(from)`,
		`len(params.list) > 1 && in_list(to, params.list) && !in_list(from, params.list)`,
		`any(params.list, {icontains(setting, #)}) || findIndex(params.list, {iequals(#, from)}) >= 0`,
		`any(params.mixed, {iequals(#, to)})`,
		`len(params.number) > 0`,
		`version_lt(version, params.min) && version_lt(version, params.number)`,
		`domain(actor) != "" && domain(actor) == "x.io" && target_user != actor && object != ""`,
		`is_admin(actor) && ip != "" && istarts(client_type, "win")`,
		`field("operator") == "admin@x.io" && group == "" && role == ""`,
		`len(text) > 40 && len(params) == 4 && !__matches(text, params.min)`,
		// Conditions of the actor alone, whose verdicts a worker reuses per actor.
		`len(params.list) > 0 && domain(actor) != "" && !in_list(domain(actor), params.list)`,
		`istarts(actor, "a") || icontains(actor, "bart")`,
	}
	records := mixedCorpus(1500, 9)
	records = append(records,
		[]byte(`{"operator":"A@X.io","category_type":"User","action":"Update","operation_detail":"Update User b@x.io  - User Role: from 12 to 3","time":"2026-11-20T10:00:00Z"}`),
		[]byte(`{"operator":"a@x.io","category_type":"User","action":"Update","operation_detail":"Update User b@x.io  - Seats: from 99999999999999999999 to 3"}`),
		[]byte(`{"operator":"a@x.io","category_type":"Account","action":"Update","operation_detail":"Security  - Waiting Room: from ON to off"}`),
		[]byte(`{"operator":"a@x.io","operation_detail":"Sécurité  - Rôle: from Member to ADMIN"}`))
	var matches, errs int64
	for i, cond := range conditions {
		for _, lt := range []string{"Zoom.Operation", "Zoom.Activity"} {
			src := fmt.Sprintf("id: Native.%d\nname: n\nlog_types: [%s]\nseverity: LOW\ncondition: %q\ntitle: \"{{.actor}}\"\n"+
				"params:\n  list: [Admin, Member, Display Name]\n  mixed: [1, Admin]\n  number: 7\n  min: \"6.2\"\n", i, lt, cond)
			r, err := ParseRule("native.yaml", []byte(src))
			if err != nil {
				t.Fatalf("%s: %v", cond, err)
			}
			if len(r.guards) != 1 || r.guards[0].native == nil {
				t.Fatalf("%s: not compiled natively", cond)
			}
			rs, err := NewRuleSet(r)
			if err != nil {
				t.Fatal(err)
			}
			run := func(vmOnly bool) ([]string, int64) {
				eng := NewEngine(rs, NewMemState(), Options{NoDedup: true})
				eng.noGuards = vmOnly
				w := eng.NewWorker()
				var out []string
				for _, in := range records {
					ms, err := w.EvalJSON(context.Background(), in, nil)
					if err != nil {
						t.Fatal(err)
					}
					for _, m := range ms {
						out = append(out, m.EventID)
					}
				}
				return out, eng.ConditionErrors()[r.ID]
			}
			native, nErr := run(false)
			vm, vErr := run(true)
			matches, errs = matches+int64(len(vm)), errs+vErr
			if !slices.Equal(native, vm) || nErr != vErr {
				t.Errorf("%s on %s: native %d matches, %d errors; VM %d matches, %d errors", cond, lt, len(native), nErr, len(vm), vErr)
			}
		}
	}
	if matches == 0 || errs == 0 {
		t.Errorf("the conditions raised %d matches and %d errors; both must occur for the comparison to mean anything", matches, errs)
	}
}

// shippedRules is the shipped rule pack, read from its directory (internal/rules, which this
// package must not import).
func shippedRules(t testing.TB) *RuleSet {
	t.Helper()
	rs, err := LoadDir("../rules")
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// TestNotedAdminsOutliveTheInput evaluates an operation record from a buffer that is then
// reused, as the CLI reuses its batches: the operator noted for is_admin must stay the
// operator, not whatever the buffer holds next.
func TestNotedAdminsOutliveTheInput(t *testing.T) {
	rs := shippedRules(t)
	eng := NewEngine(rs, NewMemState(), Options{})
	w := eng.NewWorker()
	ctx := context.Background()
	buf := []byte(`{"operator":"boss@x.io","category_type":"User","action":"Add","operation_detail":"Add User  - m@x.io","time":"2026-11-20T10:00:00Z"}`)
	if _, err := w.EvalJSON(ctx, buf, nil); err != nil {
		t.Fatal(err)
	}
	copy(buf[len(`{"operator":"`):], "evil")
	if !eng.admins.isAdmin(ctx, "boss@x.io") || eng.admins.isAdmin(ctx, "evil@x.io") {
		t.Error("the noted admin changed with the input buffer")
	}
}

// TestAdminCacheOutlivesTheInput signs users in from one buffer, reused for each record as the
// CLI reuses its batches: the "not an admin" answers is_admin caches must stay keyed by the
// users who signed in, not by whatever the buffer holds next (which once grew the cache with
// garbage keys and could hide an admin behind a stale answer).
func TestAdminCacheOutlivesTheInput(t *testing.T) {
	rs := shippedRules(t)
	eng := NewEngine(rs, NewMemState(), Options{})
	w := eng.NewWorker()
	ctx := context.Background()
	buf := make([]byte, 0, 256)
	var want []string
	for i := 0; i < 20; i++ {
		user := fmt.Sprintf("user%02d@x.io", i)
		want = append(want, user)
		buf = fmt.Appendf(buf[:0], `{"email":%q,"time":"2026-11-20T10:00:00Z","type":"Sign in","ip_address":"203.0.113.9","client_type":"Windows","version":"6.2.5"}`, user)
		if _, err := w.EvalJSON(ctx, buf, nil); err != nil {
			t.Fatal(err)
		}
	}
	copy(buf, make([]byte, len(buf)))
	got := slices.Sorted(maps.Keys(eng.admins.entries))
	if !slices.Equal(got, want) {
		t.Errorf("is_admin cache keys = %q, want %q", got, want)
	}
}

// FuzzNativeMatchesVM evaluates fuzzed records with the shipped pack twice, natively and on
// expr's VM only: the matches (rule, event, title, keys) and condition errors must agree.
func FuzzNativeMatchesVM(f *testing.F) {
	for _, r := range mixedCorpus(12, 3) {
		f.Add(r)
	}
	f.Add([]byte(`{"operator":"a@x.io","category_type":"Billing","action":"Update","operation_detail":"Billing  - Plan: from Pro to Basic"}`))
	f.Add([]byte(`{"operator":"a@x.io","category_type":"Account","action":"Update","operation_detail":"Single Sign-On  - SAML Issuer: from a to b"}`))
	rs := shippedRules(f)
	now := func() time.Time { return time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC) }
	native := NewEngine(rs, NewMemState(), Options{NoDedup: true, Now: now})
	vm := NewEngine(rs, NewMemState(), Options{NoDedup: true, Now: now})
	vm.noGuards = true
	view := func(ms []Match) []string {
		var out []string
		for _, m := range ms {
			out = append(out, strings.Join([]string{m.Rule.ID, m.EventID, m.Title, m.DedupKey, m.Distinct, m.FirstSeenKey, string(m.Sample)}, "|"))
		}
		return out
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx := context.Background()
		a, errA := native.NewWorker().EvalJSON(ctx, data, nil)
		b, errB := vm.NewWorker().EvalJSON(ctx, data, nil)
		if (errA == nil) != (errB == nil) || !slices.Equal(view(a), view(b)) {
			t.Fatalf("native: %v %q\nVM: %v %q", errA, view(a), errB, view(b))
		}
		if n, v := native.ConditionErrors(), vm.ConditionErrors(); !maps.Equal(n, v) {
			t.Fatalf("condition errors: native %v, VM %v", n, v)
		}
	})
}
