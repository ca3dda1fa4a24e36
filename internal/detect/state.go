package detect

import (
	"context"
	"sync"
	"time"
)

// State keeps what grouping, thresholds and first-seen rules remember between events. The
// detector declares it; the laptop uses MemState, AWS a DynamoDB table with TTL.
//
// Every method is idempotent per event ID: delivering the same event again (a retried Kinesis
// batch, an overlapping poll window) must neither count it twice nor produce a second alert.
// Windows and TTLs are measured in event time, never wall-clock time, so replaying history
// gives the same alerts as watching it live.
type State interface {
	// Observe records one matching event of a (rule, dedup key) group and says whether it
	// raises the group's alert. Semantics, for period P and threshold N:
	//   - A group has at most one open window [Start, Start+P), opened by the first event
	//     observed for it (Start = that event's time).
	//   - An event with time >= Start+P closes the window and opens a new one at its own time.
	//     An event with time < Start-P is stale: counted nowhere, Decision.Stale set, no alert
	//     (windows only move forward). Events in [Start-P, Start) join the open window.
	//   - An event whose ID the window already holds is a duplicate: nothing changes,
	//     Decision.Duplicate set, Fire false, even if that event fired the first time.
	//   - The window's count is the number of distinct event IDs or, when Distinct is not
	//     empty, of distinct Distinct values among them.
	//   - Fire is true exactly once per window: for the event that brings the count to N.
	Observe(ctx context.Context, o Observation) (Decision, error)
	// FirstSeen reports whether key has never been seen before, and remembers it until ttl
	// after the latest event time it was seen at. A second call with the same key returns
	// false, whether or not it carries the same event ID (so a redelivered first sighting
	// does not alert twice).
	FirstSeen(ctx context.Context, key, eventID string, at time.Time, ttl time.Duration) (bool, error)
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
	// Fire says the alert of the window is raised by this event.
	Fire bool
	// Count is the window's count after this event.
	Count int
	// First and Last are the earliest and latest event times in the window.
	First, Last time.Time
	// EventIDs are the IDs of the window's events, oldest first, at most MaxEventIDs.
	EventIDs []string
	// Duplicate says the event was already in the window; Stale that it is older than it.
	Duplicate, Stale bool
}

// MaxEventIDs bounds the event IDs a window keeps for its alert.
const MaxEventIDs = 100

// MemState is State in memory, for the CLI and tests. It is safe for concurrent use.
//
// To stay within constant memory over long inputs it forgets, every sweepEvery observations,
// windows that ended more than one period before the newest event time observed, and
// first-seen keys whose TTL has passed by that time. An event arriving later than that may
// therefore count (and alert) again; the DynamoDB state keeps items for their TTL instead.
type MemState struct {
	mu       sync.Mutex
	windows  map[[2]string]*memWindow
	seen     map[string]memSeen
	admins   map[string]bool
	newest   time.Time
	observed int
}

// sweepEvery is how many observations pass between sweeps of expired windows.
const sweepEvery = 1 << 16

type memWindow struct {
	period             time.Duration
	start, first, last time.Time
	ids                []string
	idSet              map[string]bool
	distinct           map[string]bool
	fired              bool
}

type memSeen struct {
	until time.Time
}

// NewMemState returns an empty in-memory state.
func NewMemState() *MemState {
	return &MemState{windows: map[[2]string]*memWindow{}, seen: map[string]memSeen{}, admins: map[string]bool{}}
}

// Observe implements State.
func (m *MemState) Observe(_ context.Context, o Observation) (Decision, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(o.Time)
	k := [2]string{o.RuleID, o.Key}
	w := m.windows[k]
	switch {
	case w == nil, !o.Time.Before(w.start.Add(o.Period)):
		w = &memWindow{period: o.Period, start: o.Time, first: o.Time, last: o.Time, idSet: map[string]bool{}}
		m.windows[k] = w
	case o.Time.Before(w.start.Add(-o.Period)):
		return Decision{Stale: true, Count: w.count(), First: w.first, Last: w.last}, nil
	}
	if w.idSet[o.EventID] {
		return Decision{Duplicate: true, Count: w.count(), First: w.first, Last: w.last, EventIDs: append([]string(nil), w.ids...)}, nil
	}
	w.idSet[o.EventID] = true
	if len(w.ids) < MaxEventIDs {
		w.ids = append(w.ids, o.EventID)
	}
	if o.Distinct != "" {
		if w.distinct == nil {
			w.distinct = map[string]bool{}
		}
		w.distinct[o.Distinct] = true
	}
	if o.Time.Before(w.first) {
		w.first = o.Time
	}
	if o.Time.After(w.last) {
		w.last = o.Time
	}
	d := Decision{Count: w.count(), First: w.first, Last: w.last}
	if !w.fired && d.Count >= o.Threshold {
		w.fired = true
		d.Fire = true
		d.EventIDs = append([]string(nil), w.ids...)
	}
	return d, nil
}

// sweep notes the newest event time and, every sweepEvery calls, drops what has expired.
func (m *MemState) sweep(t time.Time) {
	if t.After(m.newest) {
		m.newest = t
	}
	m.observed++
	if m.observed%sweepEvery != 0 {
		return
	}
	for k, w := range m.windows {
		if w.start.Add(2 * w.period).Before(m.newest) {
			delete(m.windows, k)
		}
	}
	for k, s := range m.seen {
		if s.until.Before(m.newest) {
			delete(m.seen, k)
		}
	}
}

func (w *memWindow) count() int {
	if w.distinct != nil {
		return len(w.distinct)
	}
	return len(w.idSet)
}

// FirstSeen implements State.
func (m *MemState) FirstSeen(_ context.Context, key, _ string, at time.Time, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(at)
	s, ok := m.seen[key]
	if ok && at.Before(s.until) {
		if at.Add(ttl).After(s.until) {
			m.seen[key] = memSeen{until: at.Add(ttl)}
		}
		return false, nil
	}
	m.seen[key] = memSeen{until: at.Add(ttl)}
	return true, nil
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
// new operator, and lookups of known admins never leave the process.
type adminCache struct {
	mu    sync.RWMutex
	known map[string]bool
	state State
	// onError counts state failures; a failed lookup reads as "not an admin".
	onError func(err error)
}

func (a *adminCache) note(ctx context.Context, email string, at time.Time) {
	if email == "" {
		return
	}
	a.mu.RLock()
	known := a.known[email]
	a.mu.RUnlock()
	if known {
		return
	}
	a.mu.Lock()
	a.known[email] = true
	a.mu.Unlock()
	if err := a.state.NoteAdmin(ctx, email, at); err != nil && a.onError != nil {
		a.onError(err)
	}
}

func (a *adminCache) isAdmin(ctx context.Context, email string) bool {
	a.mu.RLock()
	known := a.known[email]
	a.mu.RUnlock()
	if known {
		return true
	}
	ok, err := a.state.IsAdmin(ctx, email)
	if err != nil {
		if a.onError != nil {
			a.onError(err)
		}
		return false
	}
	if ok {
		a.mu.Lock()
		a.known[email] = true
		a.mu.Unlock()
	}
	return ok
}
