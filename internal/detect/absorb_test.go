package detect

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zoomwatch/zoomwatch/internal/alert"
)

// signInStream returns sign-ins of a few users from a few IPs and clients over three hours,
// shuffled (Zoom serves newest first and stream shards interleave), with about one record
// in five delivered again later and the first half of the stream delivered again at the end
// (a retried batch).
func signInStream(seed uint64, n int) [][]byte {
	rng := rand.New(rand.NewPCG(seed, 11))
	t0 := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	var out [][]byte
	for i := 0; i < n; i++ {
		b, _ := json.Marshal(map[string]string{
			"email":       fmt.Sprintf("user%d@x.io", rng.IntN(4)),
			"time":        t0.Add(time.Duration(rng.IntN(3*3600)) * time.Second).Format(time.RFC3339),
			"type":        []string{"Sign in", "Sign in", "Sign out"}[rng.IntN(3)],
			"ip_address":  fmt.Sprintf("198.51.100.%d", rng.IntN(7)),
			"client_type": []string{"Windows", "Mac"}[rng.IntN(2)],
			"version":     []string{"6.2.5.1", "5.9.3.1234", "5.1.0"}[rng.IntN(3)],
		})
		out = append(out, b)
	}
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	for i := 0; i < n/5; i++ {
		at := rng.IntN(len(out))
		out = slices.Insert(out, at+rng.IntN(len(out)-at), out[at])
	}
	return append(out, out[:len(out)/2]...)
}

// streamRules is the shipped pack with two of signInStream's users admins of the new-IP rule,
// alerting from the start, so its first sightings alert or stay quiet.
func streamRules(t *testing.T) *RuleSet {
	t.Helper()
	rs, errs := Tune(shippedRules(t), nil, Tuning{Overrides: map[string]string{
		"Zoom.SignIn.New.IP.For.Admin": `{"learn_days":0,"params":{"admins":["user0@x.io","user1@x.io"]}}`,
	}})
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	return rs
}

// TestAbsorbingRepeatsKeepsAlerts runs a shuffled sign-in stream with redeliveries through
// the shipped pack twice, once dropping repeats of counted tuples and once sending every
// match to State, acknowledging only some alerts so unacknowledged ones are raised again on
// redelivery. Both runs must raise the same alerts in the same order; the distinct-IP rule's
// counts must agree too (a threshold-1 alert raised again counts only what State counted).
func TestAbsorbingRepeatsKeepsAlerts(t *testing.T) {
	rs := streamRules(t)
	for _, seed := range []uint64{1, 2, 3} {
		stream := signInStream(seed, 3000)
		run := func(absorb bool) (alerts []string, matches int) {
			eng := NewEngine(rs, NewMemState(), Options{})
			eng.noAbsorb = !absorb
			w := eng.NewWorker()
			ctx := context.Background()
			for _, rec := range stream {
				ms, err := w.EvalJSON(ctx, rec, nil)
				if err != nil {
					t.Fatal(err)
				}
				matches += len(ms)
				for _, m := range ms {
					a, err := eng.Decide(ctx, m)
					if err != nil {
						t.Fatal(err)
					}
					if a == nil {
						continue
					}
					alerts = append(alerts, alertView(a))
					if a.ID[0]%3 != 0 { // leave about a third unacknowledged
						if err := eng.Ack(ctx, *a); err != nil {
							t.Fatal(err)
						}
					}
				}
			}
			return alerts, matches
		}
		all, allMatches := run(false)
		got, gotMatches := run(true)
		if !slices.Equal(got, all) {
			t.Errorf("seed %d: dropping repeats changed the alerts:\n got  %d %q\n want %d %q", seed, len(got), got, len(all), all)
		}
		ids := map[string]bool{}
		for _, v := range all {
			ids[strings.Split(v, "|")[1]] = true
		}
		refired := len(all) - len(ids)
		if len(all) < 10 || refired == 0 || gotMatches*3 > allMatches {
			t.Errorf("seed %d: %d alerts (%d raised again), %d matches with repeats dropped of %d: the stream does not test what it should",
				seed, len(all), refired, gotMatches, allMatches)
		}
	}
}

// TestAbsorbInOrderKeepsAlerts evaluates the same streams as zoomwatch detect does: a batch at
// a time, its matches decided in order (every alert acknowledged) only after the whole batch
// was evaluated. With DecideInOrder the worker also drops repeats whose first match is still
// waiting for Decide; the alerts must be those of sending every match to State, and far fewer
// matches must reach it than without DecideInOrder.
func TestAbsorbInOrderKeepsAlerts(t *testing.T) {
	rs := streamRules(t)
	for _, seed := range []uint64{4, 5, 6} {
		stream := signInStream(seed, 3000)
		run := func(absorb, inOrder bool, batch int) (alerts []string, matches int) {
			eng := NewEngine(rs, NewMemState(), Options{})
			eng.noAbsorb = !absorb
			w := eng.NewWorker()
			if inOrder {
				w.DecideInOrder()
			}
			ctx := context.Background()
			var pending []Match
			for i, rec := range stream {
				ms, err := w.EvalJSON(ctx, rec, nil)
				if err != nil {
					t.Fatal(err)
				}
				pending = append(pending, ms...)
				if (i+1)%batch != 0 && i != len(stream)-1 {
					continue
				}
				matches += len(pending)
				for _, m := range pending {
					for _, a := range decideAll(t, eng, []Match{m}) {
						alerts = append(alerts, alertView(a))
						if err := eng.Ack(ctx, *a); err != nil {
							t.Fatal(err)
						}
					}
				}
				pending = pending[:0]
			}
			return alerts, matches
		}
		want, allMatches := run(false, false, 1)
		lagging, lagMatches := run(true, false, 64)
		got, gotMatches := run(true, true, 64)
		if !slices.Equal(got, want) || !slices.Equal(lagging, want) {
			t.Errorf("seed %d: alerts differ:\n in order %d %q\n lagging  %d %q\n want     %d %q", seed, len(got), got, len(lagging), lagging, len(want), want)
		}
		if len(want) < 10 || gotMatches*2 > lagMatches || lagMatches >= allMatches {
			t.Errorf("seed %d: %d alerts; %d matches in order, %d lagging, %d all: the stream does not test what it should",
				seed, len(want), gotMatches, lagMatches, allMatches)
		}
	}
}

// decideAll decides ms in order and returns the alerts raised, unacknowledged.
func decideAll(t testing.TB, eng *Engine, ms []Match) []*alert.Alert {
	t.Helper()
	var out []*alert.Alert
	for _, m := range ms {
		a, err := eng.Decide(context.Background(), m)
		if err != nil {
			t.Fatal(err)
		}
		if a != nil {
			out = append(out, a)
		}
	}
	return out
}

// alertView is what must not change when repeats are dropped.
func alertView(a *alert.Alert) string {
	v := a.RuleID + "|" + a.ID + "|" + a.Title
	if a.RuleID == "Zoom.SignIn.Many.IPs" {
		v += fmt.Sprintf("|%d", a.EventCount)
	}
	return v
}

// TestAbsorbRedeliveredFirerAfterAnotherEvent covers the order a restarted detector can
// see: the event that fired an alert is redelivered (its alert was never acknowledged)
// after another event of its tuple already reached State. The other event brought nothing
// in, so nothing of the tuple is dropped, and the alert is raised again.
func TestAbsorbRedeliveredFirerAfterAnotherEvent(t *testing.T) {
	rs := shippedRules(t)
	st := NewMemState()
	ctx := context.Background()
	rec := func(ip, at string) []byte {
		return fmt.Appendf(nil, `{"email":"u@x.io","time":"2026-11-20T10:%s:00Z","type":"Sign in","ip_address":"198.51.100.%s","client_type":"Mac","version":"6.2.5.1"}`, at, ip)
	}
	decide := func(eng *Engine, in []byte) []*alert.Alert {
		ms, err := eng.NewWorker().EvalJSON(ctx, in, nil)
		if err != nil {
			t.Fatal(err)
		}
		return decideAll(t, eng, ms)
	}
	first := NewEngine(rs, st, Options{})
	for i := 1; i <= 4; i++ {
		decide(first, rec(fmt.Sprint(i), fmt.Sprintf("%02d", i)))
	}
	firer := rec("5", "05")
	if as := decide(first, firer); len(as) != 1 || as[0].RuleID != "Zoom.SignIn.Many.IPs" {
		t.Fatalf("the fifth IP raised %v, want the distinct-IP alert", as)
	}
	// A new engine (a restarted detector) over the same state, with one worker, so its
	// remembered tuples carry over between the two events.
	again := NewEngine(rs, st, Options{})
	w := again.NewWorker()
	for _, in := range [][]byte{rec("5", "06"), firer} {
		ms, err := w.EvalJSON(ctx, in, nil)
		if err != nil {
			t.Fatal(err)
		}
		var fired []string
		for _, a := range decideAll(t, again, ms) {
			fired = append(fired, a.RuleID)
		}
		if string(in) == string(firer) && !slices.Contains(fired, "Zoom.SignIn.Many.IPs") {
			t.Errorf("the redelivered firing event raised %v, want its unacknowledged alert again", fired)
		}
	}
}

// TestAbsorbInOrderForgetsATupleWhoseMatchFailed: when the first event of a tuple matches but
// its title cannot be rendered, no match reaches Decide, so the next event of the tuple must
// not be dropped as a repeat.
func TestAbsorbInOrderForgetsATupleWhoseMatchFailed(t *testing.T) {
	r, err := ParseRule("t.yaml", []byte(`
id: Test.Title.Fails
name: t
log_types: [Zoom.Operation]
severity: LOW
condition: iequals(action, "Update")
title: "{{.actor}} changed {{if .emails}}{{index .emails 1}}{{end}}"
dedup:
  key: "{{.actor}}"
  period: 1d
`))
	if err != nil {
		t.Fatal(err)
	}
	rs, err := NewRuleSet(r)
	if err != nil {
		t.Fatal(err)
	}
	eng := NewEngine(rs, NewMemState(), Options{})
	w := eng.NewWorker()
	w.DecideInOrder()
	ctx := context.Background()
	var pending []Match
	for _, rec := range []string{
		`{"time":"2026-11-20T10:00:00Z","operator":"a@x.io","category_type":"Meeting","action":"Update","operation_detail":"Meeting  - Waiting Room: from On to Off"}`,
		`{"time":"2026-11-20T10:05:00Z","operator":"a@x.io","category_type":"User","action":"Update","operation_detail":"Update User b@x.io  - Department: from A to B"}`,
	} {
		ms, err := w.EvalJSON(ctx, []byte(rec), nil)
		if err != nil {
			t.Fatal(err)
		}
		pending = append(pending, ms...)
	}
	var titles []string
	for _, a := range decideAll(t, eng, pending) {
		titles = append(titles, a.Title)
	}
	if want := []string{"a@x.io changed b@x.io"}; !slices.Equal(titles, want) || eng.ConditionErrors()[r.ID] != 1 {
		t.Errorf("alerts %q and %d rendering errors; want %q and 1", titles, eng.ConditionErrors()[r.ID], want)
	}
}
