package detect

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// State keeps what grouping, thresholds and first-seen rules remember between events. The
// detector declares it; the laptop uses MemState, AWS a DynamoDB table with TTL.
//
// Every method is idempotent per event ID: delivering the same event again (a retried Kinesis
// batch, an overlapping poll window) never counts it twice. Windows and TTLs are measured in
// event time, never wall-clock time, and do not depend on the order events arrive in, so
// replaying history — newest first, as Zoom serves it, or interleaved across stream shards —
// gives the same alerts as watching it live.
//
// Alerts are delivered at least once: an alert that fired is repeated, with the same ID, for
// every redelivery of the event that fired it until Ack records that it was delivered. The
// only duplicate left is a crash (or a failed Ack) after the alert went out and before Ack:
// the next redelivery of the firing event raises the alert once more, with the same ID, so
// subscribers can drop it by Alert.ID.
type State interface {
	// Observe records one matching event of a (rule, dedup key) group and says whether it
	// raises an alert. Semantics, for period P and threshold N:
	//   - Windows are fixed buckets aligned to P on the UTC epoch: bucket b of the grid with
	//     offset o holds the event times t with floor((t-o)/P) = b (see BucketsOf). Every
	//     event lands in its bucket whatever order events arrive in; none is ever dropped.
	//   - N = 1: one grid (offset 0); the first event of a bucket fires its alert, so a
	//     group alerts at most once per bucket.
	//   - N > 1: two grids, offsets 0 and P/2; the event counts in its bucket of each. A
	//     bucket fires when its count reaches N and neither of the two buckets of the other
	//     grid that overlap it has fired; grid 0 is tried first and at most one alert fires
	//     per call. Any N events within P/2 of each other lie in one bucket of some grid, so
	//     they always raise an alert — of that bucket, or of an overlapping bucket that fired
	//     first (an alert of the same group whose bucket overlaps the burst's). N events within P but more
	//     than P/2 apart are caught when they share a bucket, which is usually but not always.
	//   - A bucket's count is the number of distinct event IDs in it or, when Distinct is not
	//     empty, of distinct Distinct values among them.
	//   - An event whose ID its buckets already hold is a duplicate: nothing is counted again
	//     and Decision.Duplicate is set. Fire is false, except when the event is the one that
	//     fired a bucket whose alert was not acknowledged (Ack): then Fire is true again with
	//     the same AlertID, so an alert lost between Observe and delivery is raised again
	//     when the event is redelivered.
	//   - Decision.AlertID names the fired bucket (AlertID); Count, First, Last and EventIDs
	//     describe it. Without Fire they describe the event's grid-0 bucket, EventIDs empty.
	Observe(ctx context.Context, o Observation) (Decision, error)
	// Ack records that the alert alertID (Decision.AlertID) was delivered, so a redelivery
	// of its firing event no longer raises it. Acknowledging again, or an alert ID the state
	// no longer (or never) held, is not an error.
	Ack(ctx context.Context, alertID string) error
	// FirstSeen reports whether key has never been seen before, and remembers it until ttl
	// after the latest event time it was seen at. A later call with the same key returns
	// false unless it carries the event ID of the key's first sighting: a redelivered first
	// sighting returns true again, so it reaches Observe, which deduplicates it (and repeats
	// its alert only if that was never acknowledged).
	FirstSeen(ctx context.Context, key, eventID string, at time.Time, ttl time.Duration) (bool, error)
	// WatchingSince returns when scope began to be watched: the at of the first call for
	// scope, kept for good; later calls return that time whatever their own at. Engines ask it
	// once per first_seen rule (scope is the rule ID) to know when its learning ends.
	WatchingSince(ctx context.Context, scope string, at time.Time) (time.Time, error)
	// NoteAdmin remembers that email acted as operator of an operation log (Zoom only shows
	// admins' operations in the operation log), so is_admin() can tell admins' sign-ins.
	NoteAdmin(ctx context.Context, email string, at time.Time) error
	// IsAdmin reports whether email was noted by NoteAdmin.
	IsAdmin(ctx context.Context, email string) (bool, error)
}

// Observation is one matching event presented to State.Observe.
type Observation struct {
	// RuleID and Key name the group; EventID and Time the event; Period and Threshold come
	// from the (tuned) rule.
	RuleID    string
	Key       string
	EventID   string
	Time      time.Time
	Period    time.Duration
	Threshold int
	// Distinct, when not empty, is the value whose distinct count the threshold applies to.
	Distinct string
}

// Decision is what State.Observe decided.
type Decision struct {
	// Fire says this event raises (or, for an unacknowledged redelivery, raises again) the
	// alert AlertID.
	Fire bool
	// AlertID is the stable ID of the fired bucket's alert (AlertID); empty without Fire.
	AlertID string
	// Count is the bucket's count after this event.
	Count int
	// First and Last are the earliest and latest event times in the bucket.
	First, Last time.Time
	// EventIDs are the IDs of the fired bucket's events in the order they were observed, at
	// most MaxEventIDs; empty without Fire.
	EventIDs []string
	// Duplicate says every bucket of the event already held it.
	Duplicate bool
	// NewDistinct says this call counted the observation's Distinct value in at least one
	// of the event's buckets that did not hold it before. Then no other event of the same
	// buckets and value was observed earlier, and none observed later adds to any count or
	// can fire, which lets the engine drop such events before they reach State.
	NewDistinct bool
}

// MaxEventIDs bounds the event IDs a bucket keeps for its alert.
const MaxEventIDs = 100

// Bucket names one fixed window of a group: number Index of grid Grid. Grid 0 starts its
// buckets at multiples of the period on the UTC epoch, grid 1 half a period later.
type Bucket struct {
	Grid  int
	Index int64
}

// Bounds of the times whose nanoseconds since the epoch fit an int64; event times outside
// them (a zero time, say) are clamped so every time has a bucket.
var (
	minBucketTime = time.Unix(0, math.MinInt64)
	maxBucketTime = time.Unix(0, math.MaxInt64)
)

// BucketsOf returns the buckets an event at t falls in: grid 0 only for threshold 1 (or a
// period under 2ns), grids 0 and 1 above. A period under 1ns counts as 1ns.
func BucketsOf(t time.Time, period time.Duration, threshold int) []Bucket {
	bs, n := bucketsOf(t, period, threshold)
	return bs[:n:n]
}

func clampTime(t time.Time) time.Time {
	switch {
	case t.Before(minBucketTime):
		return minBucketTime
	case t.After(maxBucketTime):
		return maxBucketTime
	}
	return t
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// Overlapping returns the two buckets of the other grid that overlap b: grid 0's bucket i
// overlaps grid 1's buckets i-1 and i; grid 1's bucket i overlaps grid 0's i and i+1.
func (b Bucket) Overlapping() [2]Bucket {
	if b.Grid == 0 {
		return [2]Bucket{{Grid: 1, Index: b.Index - 1}, {Grid: 1, Index: b.Index}}
	}
	return [2]Bucket{{Grid: 0, Index: b.Index}, {Grid: 0, Index: b.Index + 1}}
}

// End returns the first instant after b for period.
func (b Bucket) End(period time.Duration) time.Time {
	p := int64(max(period, 1))
	off := int64(b.Grid) * (p / 2)
	// Computed in whole periods from the epoch so far buckets do not overflow nanoseconds.
	return time.Unix(0, 0).UTC().Add(time.Duration(off)).Add(time.Duration(p) * time.Duration(b.Index+1))
}

// AlertID returns the stable ID of the alert of bucket b of group (ruleID, key) for period:
// the first 16 bytes of a SHA-256 over them, in hex. Redelivering an event yields the same
// ID, so subscribers can drop a repeated alert by it. The period is part of a bucket's
// identity: tuning a rule's period starts new buckets.
func AlertID(ruleID, key string, period time.Duration, b Bucket) string {
	// The bytes of "%d:%s|%d:%s|%d|%d|%d", built without fmt: this runs for every match.
	var stack [256]byte
	in := lengthPrefixed(stack[:0], ruleID)
	in = append(in, '|')
	in = lengthPrefixed(in, key)
	in = append(in, '|')
	in = strconv.AppendInt(in, int64(period), 10)
	in = append(in, '|')
	in = strconv.AppendInt(in, int64(b.Grid), 10)
	in = append(in, '|')
	in = strconv.AppendInt(in, b.Index, 10)
	return shortHash(in)
}

// lengthPrefixed appends "len:s", so no choice of strings can make two inputs collide.
func lengthPrefixed(dst []byte, s string) []byte {
	dst = strconv.AppendInt(dst, int64(len(s)), 10)
	dst = append(dst, ':')
	return append(dst, s...)
}

// shortHash is the hex of the first 16 bytes of in's SHA-256.
func shortHash(in []byte) string {
	sum := sha256.Sum256(in)
	var out [32]byte
	hex.Encode(out[:], sum[:16])
	return string(out[:])
}

// EventAlertID returns the ID of an alert raised for a single event without grouping
// (Options.NoDedup): the same event always yields the same ID.
func EventAlertID(ruleID, eventID string) string {
	var stack [256]byte
	in := lengthPrefixed(stack[:0], ruleID)
	in = append(in, "|event|"...)
	return shortHash(lengthPrefixed(in, eventID))
}

// MemState is State in memory, for the CLI and tests. It is safe for concurrent use.
//
// To stay within constant memory over long inputs it forgets, every sweepEvery observations
// or sweepSpan of event time, buckets that no observation touched since the previous sweep and
// that ended more than a period plus LateGrace before the newest event time observed, and
// first-seen keys whose TTL has passed by that time. A record arriving later than that may
// count (and alert) again, as it would once the DynamoDB state's items expire.
type MemState struct {
	mu      sync.Mutex
	buckets map[memKey]*memBucket
	// fired holds the buckets that fired, by alert ID, for Ack.
	fired    map[string]*memBucket
	seen     map[seenDigest]memSeen
	admins   map[string]bool
	since    map[string]time.Time
	newest   time.Time
	observed int
	// swept and sweptAt are observed and newest at the last sweep; seenSweptAt is newest at
	// the last sweep of seen.
	swept       int
	sweptAt     time.Time
	seenSweptAt time.Time
}

// LateGrace is how late a record may arrive, past the longest its grouping state can matter,
// and still be grouped with the records before it: State implementations keep state that long
// (MemState in event time, the DynamoDB table in wall-clock time too).
const LateGrace = 24 * time.Hour

// sweepEvery is how many observations pass between sweeps of expired buckets; sweepSpan how
// far event time may advance between them (the engine observes only what can change State,
// so observations alone can be far apart).
const (
	sweepEvery    = 1 << 16
	sweepSpan     = 6 * time.Hour
	seenSweepSpan = 24 * time.Hour
)

// memKey names a bucket. Buckets are found by their parts rather than by AlertID, which
// hashes them: most observations never need the alert ID.
type memKey struct {
	rule, key string
	period    time.Duration
	b         Bucket
}

type memBucket struct {
	period      time.Duration
	end         time.Time
	first, last time.Time
	// ids are the first MaxEventIDs event IDs; n counts them all. idSet holds every ID once
	// the bucket outgrows smallSet (a linear search of ids is quicker below).
	ids   []string
	n     int
	idSet map[string]bool
	// values, valueSet and distinct are the same for distinct values: distinct says the
	// bucket counts them.
	values   []string
	valueSet map[string]bool
	distinct bool
	alertID  string // set when the bucket fires
	fired    bool
	firedBy  string
	acked    bool
	touched  int
	// idsBuf and valuesBuf back ids and values while they are short: most buckets stay so.
	idsBuf, valuesBuf [2]string
}

// newMemBucket returns an empty bucket whose first event is at t.
func newMemBucket(period time.Duration, end, t time.Time) *memBucket {
	w := &memBucket{period: period, end: end, first: t, last: t}
	w.ids, w.values = w.idsBuf[:0], w.valuesBuf[:0]
	return w
}

// smallSet is how many members a bucket searches linearly before it keeps a map.
const smallSet = 8

// memSeen is a remembered first-seen key: until when, and the digest of its first sighting's
// event ID. MemState keeps keys and IDs as digests, and the time as numbers, so remembering
// hundreds of thousands of users' addresses costs 32 bytes each and holds no pointers for the
// garbage collector to scan.
type memSeen struct {
	untilSec  int64
	untilNsec int64
	firstID   seenDigest
}

func (s memSeen) until() time.Time { return time.Unix(s.untilSec, s.untilNsec).UTC() }

func (s *memSeen) setUntil(t time.Time) { s.untilSec, s.untilNsec = t.Unix(), int64(t.Nanosecond()) }

// seenDigest is a first-seen key or an event ID as MemState remembers it: the first 8 bytes of
// its SHA-256. Two of a million keys share one with a chance of about 3 in 100 million, and
// a key then counts as seen when it was not; the digest halves the memory a key costs.
type seenDigest [8]byte

func digestOf(s string) seenDigest {
	sum := sha256.Sum256(stringBytes(s))
	return seenDigest(sum[:8])
}

// NewMemState returns an empty in-memory state.
func NewMemState() *MemState {
	// Sized for a busy hour of grouping windows, so a new state does not rehash its way up.
	return &MemState{buckets: make(map[memKey]*memBucket, absorbHint), fired: map[string]*memBucket{},
		seen: map[seenDigest]memSeen{}, admins: map[string]bool{}, since: map[string]time.Time{}}
}

// hasID says the bucket counted the event.
func (w *memBucket) hasID(id string) bool {
	if w.idSet != nil {
		return w.idSet[id]
	}
	return slices.Contains(w.ids, id)
}

// addID counts a new event.
func (w *memBucket) addID(id string) {
	if len(w.ids) < MaxEventIDs {
		w.ids = append(w.ids, id)
	}
	w.n++
	switch {
	case w.idSet != nil:
		w.idSet[id] = true
	case w.n > smallSet:
		w.idSet = make(map[string]bool, 2*w.n)
		for _, e := range w.ids {
			w.idSet[e] = true
		}
	}
}

// addValue counts a distinct value and says whether it is new to the bucket.
func (w *memBucket) addValue(v string) bool {
	w.distinct = true
	if w.valueSet != nil {
		if w.valueSet[v] {
			return false
		}
		w.valueSet[v] = true
		return true
	}
	if slices.Contains(w.values, v) {
		return false
	}
	w.values = append(w.values, v)
	if len(w.values) > smallSet {
		w.valueSet = make(map[string]bool, 2*len(w.values))
		for _, e := range w.values {
			w.valueSet[e] = true
		}
		w.values = nil
	}
	return true
}

// bucketsOf is BucketsOf without allocating.
func bucketsOf(t time.Time, period time.Duration, threshold int) ([2]Bucket, int) {
	p := int64(max(period, 1))
	ns := clampTime(t).UnixNano()
	bs := [2]Bucket{{Grid: 0, Index: floorDiv(ns, p)}}
	if threshold > 1 && p >= 2 {
		bs[1] = Bucket{Grid: 1, Index: floorDiv(ns-p/2, p)}
		return bs, 2
	}
	return bs, 1
}

// Observe implements State.
func (m *MemState) Observe(_ context.Context, o Observation) (Decision, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(o.Time)
	bs, n := bucketsOf(o.Time, o.Period, o.Threshold)
	var (
		states      [2]*memBucket
		added       [2]bool
		newDistinct bool
	)
	for i, b := range bs[:n] {
		k := memKey{rule: o.RuleID, key: o.Key, period: o.Period, b: b}
		w := m.buckets[k]
		if w == nil {
			w = newMemBucket(o.Period, b.End(o.Period), o.Time)
			m.buckets[k] = w
		}
		w.touched = m.observed
		states[i] = w
		if w.hasID(o.EventID) {
			continue
		}
		added[i] = true
		w.addID(o.EventID)
		if o.Distinct != "" && w.addValue(o.Distinct) {
			newDistinct = true
		}
		if o.Time.Before(w.first) {
			w.first = o.Time
		}
		if o.Time.After(w.last) {
			w.last = o.Time
		}
	}
	d := Decision{Duplicate: !added[0] && !added[1], Count: states[0].count(), First: states[0].first, Last: states[0].last,
		NewDistinct: newDistinct}
	fired := func(b Bucket) bool {
		w := m.buckets[memKey{rule: o.RuleID, key: o.Key, period: o.Period, b: b}]
		return w != nil && w.fired
	}
	for i, b := range bs[:n] {
		w := states[i]
		if !added[i] || w.fired || w.count() < o.Threshold {
			continue
		}
		if n > 1 {
			ov := b.Overlapping()
			if fired(ov[0]) || fired(ov[1]) {
				continue
			}
		}
		w.fired, w.firedBy = true, o.EventID
		w.alertID = AlertID(o.RuleID, o.Key, o.Period, b)
		m.fired[w.alertID] = w
		return w.decision(d), nil
	}
	for i, w := range states[:n] {
		if !added[i] && w.fired && !w.acked && w.firedBy == o.EventID {
			return w.decision(d), nil
		}
	}
	return d, nil
}

// decision describes w firing its alert for the call that decided d.
func (w *memBucket) decision(d Decision) Decision {
	return Decision{Fire: true, AlertID: w.alertID, Count: w.count(), First: w.first, Last: w.last,
		EventIDs: append([]string(nil), w.ids...), Duplicate: d.Duplicate, NewDistinct: d.NewDistinct}
}

// Ack implements State.
func (m *MemState) Ack(_ context.Context, alertID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if w := m.fired[alertID]; w != nil {
		w.acked = true
	}
	return nil
}

// sweep notes the newest event time and, every sweepEvery calls or sweepSpan of event
// time, drops what has expired.
func (m *MemState) sweep(t time.Time) {
	if t.After(m.newest) {
		m.newest = t
	}
	m.observed++
	if m.observed-m.swept < sweepEvery && !m.newest.After(m.sweptAt.Add(sweepSpan)) {
		return
	}
	prev := m.swept
	m.swept, m.sweptAt = m.observed, m.newest
	for k, w := range m.buckets {
		if w.touched <= prev && w.end.Add(max(w.period, 0)+LateGrace).Before(m.newest) {
			delete(m.buckets, k)
			delete(m.fired, w.alertID)
		}
	}
	// First-seen keys live for months: a daily sweep frees them soon enough, and spares a
	// state that remembers every user's addresses a walk over all of them every few hours.
	if m.newest.Sub(m.seenSweptAt) < seenSweepSpan {
		return
	}
	m.seenSweptAt = m.newest
	for k, s := range m.seen {
		if s.until().Before(m.newest) {
			delete(m.seen, k)
		}
	}
}

func (w *memBucket) count() int {
	if w.distinct {
		if w.valueSet != nil {
			return len(w.valueSet)
		}
		return len(w.values)
	}
	return w.n
}

// FirstSeen implements State.
func (m *MemState) FirstSeen(_ context.Context, key, eventID string, at time.Time, ttl time.Duration) (bool, error) {
	k, id := digestOf(key), digestOf(eventID)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(at)
	s, ok := m.seen[k]
	if ok && at.Before(s.until()) {
		if until := at.Add(ttl); until.After(s.until()) {
			s.setUntil(until)
			m.seen[k] = s
		}
		return s.firstID == id, nil
	}
	s = memSeen{firstID: id}
	s.setUntil(at.Add(ttl))
	m.seen[k] = s
	return true, nil
}

// WatchingSince implements State.
func (m *MemState) WatchingSince(_ context.Context, scope string, at time.Time) (time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t, ok := m.since[scope]; ok {
		return t, nil
	}
	m.since[scope] = at
	return at, nil
}

// NoteAdmin implements State.
func (m *MemState) NoteAdmin(_ context.Context, email string, _ time.Time) error {
	m.mu.Lock()
	m.admins[email] = true
	m.mu.Unlock()
	return nil
}

// IsAdmin implements State.
func (m *MemState) IsAdmin(_ context.Context, email string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.admins[email], nil
}

// adminCache keeps the admins a detector has seen so the hot path asks State only once per
// new operator, and lookups of known admins never leave the process. It also remembers, for
// adminMissTTL, that State did not know an e-mail, so a user's sign-ins cost one State read
// per minute rather than one each (a DynamoDB read in AWS); an operator noted by another
// detector in that minute is seen after it.
type adminCache struct {
	mu      sync.RWMutex
	entries map[string]adminEntry
	state   State
	now     func() time.Time
	// onError counts state failures; a failed lookup reads as "not an admin".
	onError func(err error)
}

// adminEntry is what adminCache knows of an e-mail: an admin, or not one until retry.
type adminEntry struct {
	admin bool
	retry time.Time
}

// adminMissTTL is how long a "not an admin" answer from State is trusted.
const adminMissTTL = time.Minute

// maxAbsent bounds the e-mails adminCache remembers as not admins; past it they are
// forgotten (admins are kept: they are few, and never stop being admins here).
const maxAbsent = 1 << 16

func newAdminCache(st State, now func() time.Time, onError func(error)) *adminCache {
	return &adminCache{entries: map[string]adminEntry{}, state: st, now: now, onError: onError}
}

func (a *adminCache) note(ctx context.Context, email string, at time.Time) {
	if email == "" {
		return
	}
	a.mu.RLock()
	e := a.entries[email]
	a.mu.RUnlock()
	if e.admin {
		return
	}
	email = strings.Clone(email) // kept as a key: must not alias a buffer the caller reuses
	a.mu.Lock()
	a.entries[email] = adminEntry{admin: true}
	a.mu.Unlock()
	if err := a.state.NoteAdmin(ctx, email, at); err != nil && a.onError != nil {
		a.onError(err)
	}
}

func (a *adminCache) isAdmin(ctx context.Context, email string) bool {
	return a.isAdminAt(ctx, email, a.now)
}

// isAdminAt is isAdmin with the clock to read when a cached answer may have expired.
func (a *adminCache) isAdminAt(ctx context.Context, email string, clock func() time.Time) bool {
	a.mu.RLock()
	e, ok := a.entries[email]
	a.mu.RUnlock()
	if e.admin {
		return true
	}
	now := clock()
	if ok && now.Before(e.retry) {
		return false
	}
	admin, err := a.state.IsAdmin(ctx, email)
	if err != nil {
		if a.onError != nil {
			a.onError(err)
		}
		return false
	}
	a.mu.Lock()
	if cur := a.entries[email]; !cur.admin {
		if !admin && len(a.entries) >= maxAbsent {
			for k, v := range a.entries {
				if !v.admin {
					delete(a.entries, k)
				}
			}
		}
		// email may alias an input buffer the caller reuses; the key must not change with it.
		a.entries[strings.Clone(email)] = adminEntry{admin: admin, retry: now.Add(adminMissTTL)}
	}
	a.mu.Unlock()
	return admin
}
