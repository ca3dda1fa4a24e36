package detect

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"time"
)

// memSnapshot is MemState's persistent form, so the laptop pipeline keeps its groups, first
// sightings and known admins across runs like the DynamoDB table does in AWS.
type memSnapshot struct {
	Version int `json:"version"`
	// Groups are the buckets (version 2); version 1 keyed them by alert ID in Buckets, from
	// which they cannot be rebuilt.
	Groups  []memBucketState          `json:"groups"`
	Buckets map[string]memBucketState `json:"buckets,omitempty"`
	// Seen maps first-seen keys to their state: by hex digest (seenDigest) from version 3, by
	// the keys themselves before.
	Seen   map[string]memSeenState `json:"seen"`
	Admins []string                `json:"admins"`
	// Since holds WatchingSince's times (absent before first_seen_learn existed).
	Since  map[string]time.Time `json:"since,omitempty"`
	Newest time.Time            `json:"newest"`
}

type memBucketState struct {
	Rule     string        `json:"rule"`
	Key      string        `json:"key"`
	Grid     int           `json:"grid"`
	Index    int64         `json:"index"`
	AlertID  string        `json:"alert_id,omitempty"`
	Period   time.Duration `json:"period"`
	End      time.Time     `json:"end"`
	First    time.Time     `json:"first"`
	Last     time.Time     `json:"last"`
	IDs      []string      `json:"ids,omitempty"`
	AllIDs   []string      `json:"all_ids,omitempty"`
	Distinct []string      `json:"distinct,omitempty"`
	Fired    bool          `json:"fired,omitempty"`
	FiredBy  string        `json:"fired_by,omitempty"`
	Acked    bool          `json:"acked,omitempty"`
}

type memSeenState struct {
	Until time.Time `json:"until"`
	// FirstID is the hex digest of the first sighting's event ID (version 3), or the ID.
	FirstID string `json:"first_id"`
}

const memSnapshotVersion = 3

// Save writes the state to w.
func (m *MemState) Save(w io.Writer) error {
	m.mu.Lock()
	snap := memSnapshot{Version: memSnapshotVersion, Seen: map[string]memSeenState{}, Newest: m.newest}
	for k, b := range m.buckets {
		bs := memBucketState{Rule: k.rule, Key: k.key, Grid: k.b.Grid, Index: k.b.Index, AlertID: b.alertID,
			Period: b.period, End: b.end, First: b.first, Last: b.last, IDs: b.ids, Fired: b.fired, FiredBy: b.firedBy, Acked: b.acked}
		for e := range b.idSet {
			bs.AllIDs = append(bs.AllIDs, e)
		}
		bs.Distinct = append(bs.Distinct, b.values...)
		for d := range b.valueSet {
			bs.Distinct = append(bs.Distinct, d)
		}
		snap.Groups = append(snap.Groups, bs)
	}
	for k, s := range m.seen {
		snap.Seen[hex.EncodeToString(k[:])] = memSeenState{Until: s.until(), FirstID: hex.EncodeToString(s.firstID[:])}
	}
	for a, ok := range m.admins {
		if ok {
			snap.Admins = append(snap.Admins, a)
		}
	}
	if len(m.since) > 0 {
		snap.Since = maps.Clone(m.since)
	}
	m.mu.Unlock()
	if err := json.NewEncoder(w).Encode(snap); err != nil {
		return fmt.Errorf("save detector state: %w", err)
	}
	return nil
}

// LoadMemState reads a state written by Save.
func LoadMemState(r io.Reader) (*MemState, error) {
	var snap memSnapshot
	if err := json.NewDecoder(r).Decode(&snap); err != nil {
		return nil, fmt.Errorf("read detector state: %w", err)
	}
	// A version 1 file keeps its first sightings and admins; its open grouping windows
	// start over (their keys cannot be recovered from alert IDs). Files before version 3 hold
	// first-seen keys and event IDs themselves, which are digested as they are read.
	if snap.Version < 1 || snap.Version > memSnapshotVersion {
		return nil, fmt.Errorf("read detector state: version %d, want %d", snap.Version, memSnapshotVersion)
	}
	m := NewMemState()
	m.newest = snap.Newest
	for _, bs := range snap.Groups {
		b := &memBucket{period: bs.Period, end: bs.End, first: bs.First, last: bs.Last, alertID: bs.AlertID,
			fired: bs.Fired, firedBy: bs.FiredBy, acked: bs.Acked}
		ids := bs.AllIDs
		if len(ids) == 0 {
			ids = bs.IDs // a small bucket keeps only its list
		}
		for _, e := range ids {
			b.addID(e)
		}
		b.ids = bs.IDs
		for _, d := range bs.Distinct {
			b.addValue(d)
		}
		m.buckets[memKey{rule: bs.Rule, key: bs.Key, period: bs.Period, b: Bucket{Grid: bs.Grid, Index: bs.Index}}] = b
		if b.fired && b.alertID != "" {
			m.fired[b.alertID] = b
		}
	}
	for k, s := range snap.Seen {
		key, id := digestOf(k), digestOf(s.FirstID)
		if snap.Version >= 3 {
			var err error
			if key, err = parseDigest(k); err != nil {
				return nil, fmt.Errorf("read detector state: first-seen key %q: %w", k, err)
			}
			if id, err = parseDigest(s.FirstID); err != nil {
				return nil, fmt.Errorf("read detector state: first-seen key %q: first_id: %w", k, err)
			}
		}
		seen := memSeen{firstID: id}
		seen.setUntil(s.Until)
		m.seen[key] = seen
	}
	for _, a := range snap.Admins {
		m.admins[a] = true
	}
	maps.Copy(m.since, snap.Since)
	return m, nil
}

// parseDigest reads a seenDigest written in hex by Save.
func parseDigest(s string) (seenDigest, error) {
	var d seenDigest
	if hex.DecodedLen(len(s)) != len(d) {
		return d, fmt.Errorf("want %d hex digits, got %d characters", 2*len(d), len(s))
	}
	if _, err := hex.Decode(d[:], []byte(s)); err != nil {
		return d, err
	}
	return d, nil
}
