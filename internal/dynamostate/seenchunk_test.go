package dynamostate

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/zoomwatch/zoomwatch/internal/poll"
)

func TestSeenChunkRoundTrip(t *testing.T) {
	t.Parallel()
	ns := time.Date(2026, 2, 20, 1, 2, 3, 4, time.FixedZone("x", 3600))
	tests := []struct {
		name       string
		entries    []seenEntry
		wantChunks int
	}{
		{"event IDs pack to half", []seenEntry{{strings.Repeat("ab", 32), at(1)}, {strings.Repeat("0f", 32), ns}}, 1},
		{"other IDs are kept as they are", []seenEntry{{"abc", at(1)}, {"a#b", at(2)}, {"ABCD", at(3)}, {"é", at(4)}, {"", at(5)}}, 1},
		{"every time a record can carry", []seenEntry{{"zero", time.Time{}}, {"y0", time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)},
			{"old", time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)}, {"new", time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)}}, 1},
		{"1,001 entries take two chunks", manyEntries(1001, 16), 2},
		{"64 KB of entries take two chunks", manyEntries(700, 100), 2},
		{"an entry larger than a chunk gets its own", []seenEntry{{"a", at(1)}, {strings.Repeat("x", maxChunkBytes), at(2)}, {"b", at(3)}}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chunks := packSeen(tt.entries)
			if len(chunks) != tt.wantChunks {
				t.Fatalf("%d chunks, want %d", len(chunks), tt.wantChunks)
			}
			want := map[string]time.Time{}
			for _, e := range tt.entries {
				want[e.id] = e.at
			}
			got := map[string]time.Time{}
			total := 0
			for _, c := range chunks {
				var latest time.Time
				n := 0
				if err := decodeSeenChunk(c.data, func(id string, at time.Time) {
					got[id] = at
					n++
					if at.After(latest) || n == 1 {
						latest = at
					}
				}); err != nil {
					t.Fatal(err)
				}
				if n != c.n || !latest.Equal(c.latest) {
					t.Errorf("chunk says %d entries up to %v, holds %d up to %v", c.n, c.latest, n, latest)
				}
				if n > maxChunkEntries || (n > 1 && len(c.data) > maxChunkBytes) {
					t.Errorf("chunk of %d entries and %d bytes is over the limits", n, len(c.data))
				}
				total += n
			}
			if total != len(tt.entries) || !maps.EqualFunc(got, want, time.Time.Equal) {
				t.Errorf("decoded %d entries %v, want %v", total, got, want)
			}
		})
	}
}

func manyEntries(n, idLen int) []seenEntry {
	out := make([]seenEntry, n)
	for i := range out {
		id := fmt.Sprintf("x%0*d", idLen-1, i) // not hex: stored at full length
		if idLen == 16 {
			id = fmt.Sprintf("%064x", i)
		}
		out[i] = seenEntry{id, at(1).Add(time.Duration(i) * time.Second)}
	}
	return out
}

func TestSeenChunkRejectsMalformed(t *testing.T) {
	t.Parallel()
	good := packSeen([]seenEntry{{strings.Repeat("ab", 32), at(1)}})[0].data
	for name, b := range map[string][]byte{
		"empty":            nil,
		"unknown format":   append([]byte{9}, good[1:]...),
		"truncated time":   good[:len(good)-2],
		"nanoseconds ≥ 1s": append(good[:len(good)-1:len(good)-1], 0x80, 0x94, 0xeb, 0xdc, 0x03),
		"truncated ID":     good[:10],
		"bad header":       {seenChunkFormat, 0x80},
		"empty hex ID":     append([]byte{seenChunkFormat, 1}, make([]byte, 8)...),
	} {
		err := decodeSeenChunk(b, func(string, time.Time) {})
		if !errors.Is(err, errSeenChunk) {
			t.Errorf("%s: err = %v, want a malformed-chunk error", name, err)
		}
	}
}

func FuzzDecodeSeenChunk(f *testing.F) {
	f.Add(packSeen([]seenEntry{{strings.Repeat("ab", 32), at(1)}, {"x", at(2)}})[0].data)
	f.Add([]byte{seenChunkFormat})
	f.Fuzz(func(t *testing.T, b []byte) {
		var entries []seenEntry
		if err := decodeSeenChunk(b, func(id string, at time.Time) { entries = append(entries, seenEntry{id, at}) }); err != nil {
			return
		}
		// What decodes re-encodes to the same entries, in the same order.
		var again []seenEntry
		for _, c := range packSeen(entries) {
			if err := decodeSeenChunk(c.data, func(id string, at time.Time) { again = append(again, seenEntry{id, at}) }); err != nil {
				t.Fatalf("re-encoded chunk does not decode: %v", err)
			}
		}
		if len(again) != len(entries) {
			t.Fatalf("%d entries re-encoded to %d", len(entries), len(again))
		}
		for i, e := range entries {
			if again[i].id != e.id || !again[i].at.Equal(e.at) {
				t.Fatalf("entry %d %q %v came back as %q %v", i, e.id, e.at, again[i].id, again[i].at)
			}
		}
		if len(b) > 0 && !bytes.Equal(b[:1], []byte{seenChunkFormat}) {
			t.Fatal("accepted an unknown format")
		}
	})
}

// TestLoadCursorReadsOneEventEntries: entries written one item per event, as releases before
// dedupe chunks did, are read alongside chunks until their TTL removes them.
func TestLoadCursorReadsOneEventEntries(t *testing.T) {
	t.Parallel()
	tbl := newTable(t, newClock())
	ctx := t.Context()
	v, err := tbl.CommitCursor(ctx, opKey, 0, poll.Checkpoint{Added: map[string]time.Time{"new": at(3)}, Forget: at(2)})
	if err != nil {
		t.Fatal(err)
	}
	for id, when := range map[string]time.Time{"legacy": at(2), "forgotten": at(1)} {
		item := key(cursorPK(opKey), seenSK(id, when))
		item[AttrTTL] = ttlAt(at(100))
		if _, err := tbl.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(tbl.Name()), Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	cur, err := tbl.LoadCursor(ctx, opKey)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Time{"new": at(3), "legacy": at(2)}
	if cur.Version != v || !maps.EqualFunc(cur.Seen, want, time.Time.Equal) {
		t.Fatalf("cursor = %+v, want version %d and Seen %v", cur, v, want)
	}
}

// seenSK is the sort key parseSeenSK reads: how releases before dedupe chunks stored an entry.
func seenSK(id string, t time.Time) string { return seenPrefix + formatTime(t) + "#" + id }
