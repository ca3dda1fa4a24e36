package dynamostate

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// A dedupe chunk packs many delivered events into one item's binary attribute, so a
// checkpoint of 1,000 events writes one item of about 39 KB (39 WRU, twice that in a
// transaction) instead of 1,000 items of 150 bytes (2,000 WRU), and reading them back costs a
// quarter of the read units.
//
// Layout: the format byte seenChunkFormat, then per entry uvarint(n<<1 | hexID), the ID's n
// bytes (the decoded bytes when hexID is 1: a lower-case hex ID of 2n digits, as event IDs
// are), and the record time as varint(Unix seconds) and uvarint(nanoseconds), which cover
// every time a record can carry (RFC 3339 years 0000 to 9999) in six bytes for today's.
const seenChunkFormat = 1

const (
	// maxChunkEntries and maxChunkBytes bound one chunk item (DynamoDB allows 400 KB).
	maxChunkEntries = 1000
	maxChunkBytes   = 64 << 10
	// maxChunksPerTransaction keeps a transaction far inside DynamoDB's 4 MB and 100 actions.
	maxChunksPerTransaction = 40
)

// seenEntry is one delivered event in a chunk.
type seenEntry struct {
	id string
	at time.Time
}

// appendSeenEntry appends e's encoding (without the format byte) to b.
func appendSeenEntry(b []byte, e seenEntry) []byte {
	if isLowerHex(e.id) {
		b = binary.AppendUvarint(b, uint64(len(e.id)/2)<<1|1)
		b, _ = hex.AppendDecode(b, []byte(e.id)) // cannot fail: isLowerHex
	} else {
		b = binary.AppendUvarint(b, uint64(len(e.id))<<1)
		b = append(b, e.id...)
	}
	b = binary.AppendVarint(b, e.at.Unix())
	return binary.AppendUvarint(b, uint64(e.at.Nanosecond()))
}

// isLowerHex says id is a non-empty, even-length string of lower-case hex digits, which
// packs into half its length and decodes back to the same string.
func isLowerHex(id string) bool {
	if id == "" || len(id)%2 != 0 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// errSeenChunk is the cause of every malformed chunk.
var errSeenChunk = errors.New("malformed dedupe chunk")

// decodeSeenChunk calls add for each entry of an encoded chunk.
func decodeSeenChunk(b []byte, add func(id string, at time.Time)) error {
	if len(b) == 0 || b[0] != seenChunkFormat {
		return fmt.Errorf("%w: unknown format", errSeenChunk)
	}
	for i := 1; i < len(b); {
		tag, n := binary.Uvarint(b[i:])
		if n <= 0 {
			return fmt.Errorf("%w: bad entry header at byte %d", errSeenChunk, i)
		}
		i += n
		size := tag >> 1
		if size > uint64(len(b)-i) {
			return fmt.Errorf("%w: entry at byte %d runs past the end", errSeenChunk, i)
		}
		raw := b[i : i+int(size)]
		i += int(size)
		id := string(raw)
		if tag&1 == 1 {
			if size == 0 {
				return fmt.Errorf("%w: empty hex ID at byte %d", errSeenChunk, i)
			}
			id = hex.EncodeToString(raw)
		}
		sec, n := binary.Varint(b[i:])
		if n <= 0 {
			return fmt.Errorf("%w: bad time at byte %d", errSeenChunk, i)
		}
		i += n
		nsec, n := binary.Uvarint(b[i:])
		if n <= 0 || nsec >= 1e9 {
			return fmt.Errorf("%w: bad time at byte %d", errSeenChunk, i)
		}
		i += n
		add(id, time.Unix(sec, int64(nsec)).UTC())
	}
	return nil
}

// seenChunk is one encoded chunk and the latest record time in it, which its sort key
// carries so that a Query from the forget horizon on reads every chunk still holding an
// entry to remember.
type seenChunk struct {
	data   []byte
	latest time.Time
	n      int // entries
}

// packSeen splits entries, in order, into chunks of at most maxChunkEntries entries and
// maxChunkBytes bytes (an entry larger than that gets a chunk of its own).
func packSeen(entries []seenEntry) []seenChunk {
	var chunks []seenChunk
	var cur seenChunk
	for _, e := range entries {
		enc := appendSeenEntry(nil, e)
		if cur.data != nil && (cur.n == maxChunkEntries || len(cur.data)+len(enc) > maxChunkBytes) {
			chunks, cur = append(chunks, cur), seenChunk{}
		}
		if cur.data == nil {
			cur.data = []byte{seenChunkFormat}
		}
		cur.data = append(cur.data, enc...)
		if cur.n++; cur.n == 1 || e.at.After(cur.latest) {
			cur.latest = e.at
		}
	}
	if cur.data != nil {
		chunks = append(chunks, cur)
	}
	return chunks
}
