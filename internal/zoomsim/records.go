package zoomsim

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// Log type names, as zoomwatch and Panther call the two reports.
const (
	LogTypeOperation = "Zoom.Operation"
	LogTypeActivity  = "Zoom.Activity"
)

// operationLog is one record of GET /report/operationlogs, fields in the order Zoom sends them.
type operationLog struct {
	Time            string `json:"time"`
	Operator        string `json:"operator"`
	CategoryType    string `json:"category_type"`
	Action          string `json:"action"`
	OperationDetail string `json:"operation_detail"`
}

// activityLog is one record of GET /report/activities, fields in the order Zoom sends them.
type activityLog struct {
	Email      string `json:"email"`
	Time       string `json:"time"`
	Type       string `json:"type"`
	IPAddress  string `json:"ip_address"`
	ClientType string `json:"client_type"`
	Version    string `json:"version"`
}

// record is one stored report record with the bytes it is served as.
type record struct {
	time time.Time
	// visible is when the record starts appearing in reports: its time, or later for a
	// late-arriving record.
	visible time.Time
	// category is the operation log's category_type, for the category_type filter.
	category string
	raw      json.RawMessage
	// seq orders records that share a second, so paging is stable.
	seq int
}

// zoomTime formats a record time as Zoom does: UTC, second precision, Z suffix.
func zoomTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

func encodeRecord(v any) json.RawMessage {
	raw, err := json.Marshal(v)
	if err != nil {
		// The record types hold only strings; failing here is a programming error.
		panic(fmt.Sprintf("zoomsim: encode record: %v", err))
	}
	return raw
}

// recordSet holds one report's records newest first (ties: lower seq first).
type recordSet []record

func (rs recordSet) sort() {
	sort.SliceStable(rs, func(i, j int) bool {
		if !rs[i].time.Equal(rs[j].time) {
			return rs[i].time.After(rs[j].time)
		}
		return rs[i].seq < rs[j].seq
	})
}

// between returns the records whose time is in [from, to), newest first, using the ordering
// to avoid scanning the whole history.
func (rs recordSet) between(from, to time.Time) recordSet {
	// First index with time < to (records are sorted by descending time).
	lo := sort.Search(len(rs), func(i int) bool { return rs[i].time.Before(to) })
	// First index with time < from.
	hi := sort.Search(len(rs), func(i int) bool { return rs[i].time.Before(from) })
	if lo > hi {
		return nil
	}
	return rs[lo:hi]
}

// visibleAt returns the bytes of every record visible at t, newest first.
func (rs recordSet) visibleAt(t time.Time) []json.RawMessage {
	var out []json.RawMessage
	for _, r := range rs {
		if !r.visible.After(t) {
			out = append(out, append(json.RawMessage(nil), r.raw...))
		}
	}
	return out
}
