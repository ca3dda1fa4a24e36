package detect

import (
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// memSnapshot is MemState's persistent form, so the laptop pipeline keeps its groups, first
// sightings and known admins across runs like the DynamoDB table does in AWS.
type memSnapshot struct {
	Version int                       `json:"version"`
	Buckets map[string]memBucketState `json:"buckets"`
	Seen    map[string]memSeenState   `json:"seen"`
	Admins  []string                  `json:"admins"`
	Newest  time.Time                 `json:"newest"`
}

type memBucketState struct {
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
	Until   time.Time `json:"until"`
	FirstID string    `json:"first_id"`
}

const memSnapshotVersion = 1

// Save writes the state to w.
func (m *MemState) Save(w io.Writer) error {
	m.mu.Lock()
	snap := memSnapshot{Version: memSnapshotVersion, Buckets: map[string]memBucketState{}, Seen: map[string]memSeenState{}, Newest: m.newest}
	for id, b := range m.buckets {
		bs := memBucketState{Period: b.period, End: b.end, First: b.first, Last: b.last, IDs: b.ids, Fired: b.fired, FiredBy: b.firedBy, Acked: b.acked}
		for e := range b.idSet {
			bs.AllIDs = append(bs.AllIDs, e)
		}
		for d := range b.distinct {
			bs.Distinct = append(bs.Distinct, d)
		}
		snap.Buckets[id] = bs
	}
	for k, s := range m.seen {
		snap.Seen[k] = memSeenState{Until: s.until, FirstID: s.firstID}
	}
	for a, ok := range m.admins {
		if ok {
			snap.Admins = append(snap.Admins, a)
		}
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
	if snap.Version != memSnapshotVersion {
		return nil, fmt.Errorf("read detector state: version %d, want %d", snap.Version, memSnapshotVersion)
	}
	m := NewMemState()
	m.newest = snap.Newest
	for id, bs := range snap.Buckets {
		b := &memBucket{period: bs.Period, end: bs.End, first: bs.First, last: bs.Last, ids: bs.IDs, idSet: map[string]bool{}, fired: bs.Fired, firedBy: bs.FiredBy, acked: bs.Acked}
		for _, e := range bs.AllIDs {
			b.idSet[e] = true
		}
		if len(bs.Distinct) > 0 {
			b.distinct = map[string]bool{}
			for _, d := range bs.Distinct {
				b.distinct[d] = true
			}
		}
		m.buckets[id] = b
	}
	for k, s := range snap.Seen {
		m.seen[k] = memSeen{until: s.Until, firstID: s.FirstID}
	}
	for _, a := range snap.Admins {
		m.admins[a] = true
	}
	return m, nil
}
