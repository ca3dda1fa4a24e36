package detect

import (
	"encoding/binary"
	"hash/maphash"
	"sync/atomic"
	"time"
)

// Some rules match far more events than they alert on. Zoom.SignIn.Many.IPs matches every
// sign-in to count a user's distinct IP addresses; a threshold-1 rule such as
// Zoom.SignIn.Outdated.Client matches every sign-in of an old client and alerts once per
// group and period. Most of those events repeat a tuple State has already counted — the
// same group, buckets and distinct value, or for threshold 1 the same group and bucket — so
// they change no count and can never fire (State.Observe). Zoom.SignIn.New.IP.For.Admin
// matches every sign-in too, to remember each user's addresses, and only a key's first
// sighting can alert (State.FirstSeen). Building their matches would
// still cost an event ID, a copy of the record and a State call (a DynamoDB transaction in
// AWS). The worker remembers counted tuples and drops such repeats before they become
// matches.
//
// A tuple is remembered only once State said an event brought it in: the distinct value was
// new to one of its buckets (Decision.NewDistinct), or, for threshold 1, the event fired its
// bucket. Then that event is the only one of the tuple that can ever fire, and until the
// alert it fired (if any) is acknowledged its redeliveries, recognised by their bytes, still
// go all the way to State, so an alert lost between Observe and Ack is raised again. Any
// other event of the tuple is dropped, and so are the redeliveries once nothing can be
// raised again (the event fired nothing, or its alert was acknowledged). What a
// user sees of it: an alert of a distinct-count rule lists one event per distinct value (the
// first of each that State counted), and its first and last times are those of the events it
// lists.

// absorbed is a remembered tuple.
type absorbed struct {
	// sum identifies the record of the event that brought the tuple in.
	sum uint64
	// state is pending, counted or settled.
	state atomic.Int32
	// day is, for a first-seen tuple, the latest refresh day (refreshDay) of an event the
	// worker sent to State. Only the worker that owns the tuple reads or writes it.
	day int64
}

// States of an absorbed tuple.
const (
	// pending: State has not yet said the event brought the tuple in; nothing is dropped.
	pending int32 = iota
	// counted: it did, and fired an alert not yet acknowledged; other events are dropped.
	counted
	// settled: it did, and nothing is left to raise again; every event is dropped.
	settled
)

// maxUnacked bounds the fired tuples an engine tracks until their alerts are acknowledged;
// past it the engine forgets them, which only keeps their redeliveries on the slow path.
const maxUnacked = 4096

// decided moves m's tuple on after State decided d for it.
func (e *Engine) decided(m Match, d Decision) {
	t := m.absorbed
	if t == nil || !broughtIn(m.Rule, d) {
		return
	}
	if !d.Fire {
		t.state.Store(settled)
		return
	}
	t.state.Store(counted)
	e.unackedMu.Lock()
	if len(e.unacked) >= maxUnacked {
		clear(e.unacked)
	}
	e.unacked[d.AlertID] = append(e.unacked[d.AlertID], t)
	e.unackedMu.Unlock()
}

// acked settles the tuples whose alert alertID was delivered.
func (e *Engine) acked(alertID string) {
	e.unackedMu.Lock()
	ts := e.unacked[alertID]
	delete(e.unacked, alertID)
	e.unackedMu.Unlock()
	for _, t := range ts {
		t.state.Store(settled)
	}
}

// broughtIn says a decision on a match of r means the match's event brought its tuple in.
func broughtIn(r *Rule, d Decision) bool {
	if r.firstSeen != nil {
		return true // Decide decides a first-seen match only when it is the key's first sighting
	}
	if r.Threshold == 1 {
		return d.Fire && !d.Duplicate
	}
	return d.NewDistinct
}

// maxAbsorbed bounds a worker's remembered tuples; past it the worker starts over, which
// only costs speed.
const maxAbsorbed = 1 << 14

// absorbs says repeats of r's counted tuples can be dropped: r alerts once per bucket,
// counts distinct values, or alerts on first sightings.
func (w *Worker) absorbs(r *Rule) bool {
	return (r.Threshold == 1 || r.distinct != nil || r.firstSeen != nil) && !w.eng.opts.NoDedup && !w.eng.noAbsorb
}

// refreshPeriod is how often a worker lets a sighting of a first-seen key it already knows
// reach State: State remembers a key until its TTL after the latest sighting it was given,
// so dropping the rest of a day's sightings shortens that memory by at most a day.
const refreshPeriod = 24 * time.Hour

// refreshDay numbers t's refresh period.
func refreshDay(t time.Time) int64 { return t.Unix() / int64(refreshPeriod/time.Second) }

// absorb reports whether the current event repeats a tuple of r that State already counted,
// so it can be dropped; otherwise it returns the entry a match should confirm in Decide (nil
// when the tuple already has one). A template error leaves the event to match, which
// reports it.
func (w *Worker) absorb(r *Rule) (drop bool, entry *absorbed) {
	env := &w.env
	w.fillMatch(r)
	// The rule ID ended by 0; fixed-width numbers (the period and the event's buckets, as
	// State computes them, as many as the rule's threshold gives); the rendered strings,
	// each ended by 0.
	k := append(w.absorbKey[:0], r.ID...)
	k = append(k, 0)
	if r.firstSeen != nil {
		return w.absorbFirstSeen(r, k)
	}
	k = binary.LittleEndian.AppendUint64(k, uint64(r.DedupPeriod))
	bs, n := bucketsOf(env.Time, r.DedupPeriod, r.Threshold)
	for _, b := range bs[:n] {
		k = binary.LittleEndian.AppendUint64(k, uint64(b.Index))
	}
	var err error
	if r.dedupKey != nil {
		if k, err = r.dedupKey.appendTo(k, env); err != nil {
			w.absorbKey = k
			return false, nil
		}
	}
	// Threshold 1 uses grid 0 only and fires once per bucket whatever the distinct value.
	if r.Threshold > 1 {
		k = append(k, 0)
		if k, err = r.distinct.appendTo(k, env); err != nil {
			w.absorbKey = k
			return false, nil
		}
	}
	w.absorbKey = k
	if e, ok := w.absorbed[string(k)]; ok {
		return w.repeats(e), nil
	}
	return false, w.remember(k)
}

// repeats says the current event, of a tuple the worker remembers as e, can be dropped.
func (w *Worker) repeats(e *absorbed) bool {
	switch st := e.state.Load(); {
	case st == settled:
		return true
	case st == counted || w.inOrder:
		// In order (DecideInOrder), once Decide has had the tuple's first match the tuple
		// is counted whatever it answered (that event or an earlier one brought it in), and
		// every alert before it was acknowledged: only its own redeliveries may matter.
		return e.sum != maphash.Bytes(w.eng.absorbSeed, w.raw)
	}
	return false
}

// remember starts a pending tuple for key k with the current event as its first.
func (w *Worker) remember(k []byte) *absorbed {
	if w.absorbed == nil || len(w.absorbed) >= maxAbsorbed {
		// Sized for a busy hour of tuples, so a new worker does not rehash its way up.
		w.absorbed = make(map[string]*absorbed, absorbHint)
	}
	// Entries come from a slab: one allocation per absorbSlab tuples instead of one each.
	if len(w.absorbSlab) == 0 {
		w.absorbSlab = make([]absorbed, absorbSlab)
	}
	e := &w.absorbSlab[0]
	w.absorbSlab = w.absorbSlab[1:]
	e.sum = maphash.Bytes(w.eng.absorbSeed, w.raw)
	w.absorbed[string(k)] = e
	return e
}

// forget drops the tuple of a match that will never reach Decide (absorbKey still holds its
// key), or DecideInOrder would drop the repeats that must.
func (w *Worker) forget(e *absorbed) {
	if e != nil {
		delete(w.absorbed, string(w.absorbKey))
	}
}

// absorbFirstSeen is absorb for a first-seen rule, k holding the rule's part of the key. The
// tuple is the rendered first-seen key: once State said which event brought it in, every
// other sighting is known and can never alert. One sighting per refresh period still goes to
// State to keep the key remembered, and a key unseen for its TTL starts over, as State
// forgets it.
func (w *Worker) absorbFirstSeen(r *Rule, k []byte) (drop bool, entry *absorbed) {
	k, err := r.firstSeen.appendTo(k, &w.env)
	w.absorbKey = k
	if err != nil {
		return false, nil
	}
	day := refreshDay(w.env.Time)
	e, ok := w.absorbed[string(k)]
	switch {
	case !ok || day-e.day >= int64(r.FirstSeenTTL/refreshPeriod):
		e = w.remember(k)
		e.day = day
		return false, e
	case day > e.day:
		e.day = day
		return false, nil
	}
	return w.repeats(e), nil
}

// absorbHint is the remembered tuples a worker makes room for at first.
const absorbHint = 1024

// absorbSlab is how many entries a worker allocates at once.
const absorbSlab = 256
