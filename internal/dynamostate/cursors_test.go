package dynamostate

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/zoomwatch/zoomwatch/internal/awstest"
	"github.com/zoomwatch/zoomwatch/internal/event"
	"github.com/zoomwatch/zoomwatch/internal/local"
	"github.com/zoomwatch/zoomwatch/internal/poll"
)

var opKey = poll.Key{Source: "acme", LogType: event.Operation}

func at(h int) time.Time { return time.Date(2026, 2, 20, h, 0, 0, 0, time.UTC) }

func TestSeenSortKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id string
		at time.Time
	}{
		{"abc", at(1)},
		{"a#b", time.Date(2026, 2, 20, 1, 2, 3, 4, time.FixedZone("x", 3600))},
		{"0123456789abcdef", time.Date(1999, 12, 31, 23, 59, 59, 999999999, time.UTC)},
	}
	for _, tt := range tests {
		sk := seenSK(tt.id, tt.at)
		id, got, err := parseSeenSK(sk)
		if err != nil || id != tt.id || !got.Equal(tt.at) {
			t.Errorf("parseSeenSK(%q) = %q, %v, %v; want %q, %v", sk, id, got, err, tt.id, tt.at)
		}
	}
	// Keys must sort as their times do, so a range condition can skip forgotten entries.
	a, b := seenSK("z", at(1)), seenSK("a", at(1).Add(time.Nanosecond))
	if a >= b {
		t.Errorf("sort keys out of time order: %q >= %q", a, b)
	}
	for _, bad := range []string{"seen#", "cursor", "seen#2026-02-20T01:00:00Z#x", "seen#" + formatTime(at(1))} {
		if _, _, err := parseSeenSK(bad); err == nil {
			t.Errorf("parseSeenSK(%q) accepted a malformed key", bad)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"ok", Config{Name: "state"}, true},
		{"no name", Config{}, false},
		{"negative retention", Config{Name: "state", SeenRetention: -time.Hour}, false},
	}
	for _, tt := range tests {
		if err := tt.cfg.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: Validate() = %v", tt.name, err)
		}
	}
}

func TestCursorRoundTrip(t *testing.T) {
	t.Parallel()
	tbl := newTable(t, newClock())
	ctx := t.Context()

	cur, err := tbl.LoadCursor(ctx, opKey)
	if err != nil {
		t.Fatal(err)
	}
	if cur.Version != 0 || !cur.Watermark.IsZero() || cur.Seen == nil || len(cur.Seen) != 0 {
		t.Fatalf("new cursor = %+v, want version 0, zero watermark, empty non-nil Seen", cur)
	}

	added := map[string]time.Time{"e1": at(1), "e2": at(2), "e3": at(2).Add(time.Nanosecond), "e4": at(5)}
	v, err := tbl.CommitCursor(ctx, opKey, 0, poll.Checkpoint{Watermark: at(6), Added: added})
	if err != nil {
		t.Fatal(err)
	}
	cur, err = tbl.LoadCursor(ctx, opKey)
	if err != nil {
		t.Fatal(err)
	}
	if cur.Version != v || !cur.Watermark.Equal(at(6)) || !maps.EqualFunc(cur.Seen, added, time.Time.Equal) {
		t.Fatalf("after commit: %+v (returned version %d), want watermark %v and Seen %v", cur, v, at(6), added)
	}

	// Forget drops entries recorded before it; a commit without a watermark keeps the old one.
	v2, err := tbl.CommitCursor(ctx, opKey, v, poll.Checkpoint{Added: map[string]time.Time{"e5": at(7)}, Forget: at(2)})
	if err != nil {
		t.Fatal(err)
	}
	if v2 <= v {
		t.Fatalf("version went from %d to %d", v, v2)
	}
	cur, err = tbl.LoadCursor(ctx, opKey)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Time{"e2": at(2), "e3": at(2).Add(time.Nanosecond), "e4": at(5), "e5": at(7)}
	if !maps.EqualFunc(cur.Seen, want, time.Time.Equal) || !cur.Watermark.Equal(at(6)) || cur.Version != v2 {
		t.Fatalf("after forget: %+v, want Seen %v, watermark %v, version %d", cur, want, at(6), v2)
	}

	// Entries added below the forget horizon (the poller re-reads older records after its
	// overlap grew) are remembered until a later Forget passes them, as in the file store.
	v3, err := tbl.CommitCursor(ctx, opKey, v2, poll.Checkpoint{Added: map[string]time.Time{"old": at(1).Add(-time.Minute)}})
	if err != nil {
		t.Fatal(err)
	}
	cur, err = tbl.LoadCursor(ctx, opKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cur.Seen["old"]; !ok || cur.Version != v3 {
		t.Fatalf("after adding below the horizon: %+v, want entry old remembered and version %d", cur, v3)
	}
	v4, err := tbl.CommitCursor(ctx, opKey, v3, poll.Checkpoint{Forget: at(2)})
	if err != nil {
		t.Fatal(err)
	}
	cur, err = tbl.LoadCursor(ctx, opKey)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.EqualFunc(cur.Seen, want, time.Time.Equal) || cur.Version != v4 {
		t.Fatalf("after forgetting again: %+v, want Seen %v, version %d", cur, want, v4)
	}

	// Cursors of other keys are separate.
	other, err := tbl.LoadCursor(ctx, poll.Key{Source: "acme", LogType: event.Activity})
	if err != nil {
		t.Fatal(err)
	}
	if other.Version != 0 || len(other.Seen) != 0 {
		t.Fatalf("other log type's cursor = %+v, want empty", other)
	}
}

// TestCommitFullBatch commits one 500-event batch (the sink's largest) and reads it back.
func TestCommitFullBatch(t *testing.T) {
	t.Parallel()
	tbl := newTable(t, newClock())
	ctx := t.Context()
	added := map[string]time.Time{}
	for i := range 500 {
		added[fmt.Sprintf("%064x", i)] = at(1).Add(time.Duration(i) * time.Second)
	}
	v, err := tbl.CommitCursor(ctx, opKey, 0, poll.Checkpoint{Added: added, Watermark: at(3)})
	if err != nil {
		t.Fatal(err)
	}
	cur, err := tbl.LoadCursor(ctx, opKey)
	if err != nil {
		t.Fatal(err)
	}
	if cur.Version != v || !maps.EqualFunc(cur.Seen, added, time.Time.Equal) || !cur.Watermark.Equal(at(3)) {
		t.Fatalf("loaded version %d (committed %d), %d seen (want 500), watermark %v", cur.Version, v, len(cur.Seen), cur.Watermark)
	}
	if _, err := tbl.CommitCursor(ctx, opKey, v, poll.Checkpoint{Watermark: at(4)}); err != nil {
		t.Fatalf("commit at the returned version: %v", err)
	}
}

func TestCommitConflict(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup func(t *testing.T, tbl *Table) int64 // returns the stale version to commit at
	}{
		{"two writers from version 0", func(t *testing.T, tbl *Table) int64 {
			if _, err := tbl.CommitCursor(t.Context(), opKey, 0, poll.Checkpoint{Added: map[string]time.Time{"w1": at(1)}}); err != nil {
				t.Fatal(err)
			}
			return 0
		}},
		{"stale version", func(t *testing.T, tbl *Table) int64 {
			v, err := tbl.CommitCursor(t.Context(), opKey, 0, poll.Checkpoint{Watermark: at(1)})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tbl.CommitCursor(t.Context(), opKey, v, poll.Checkpoint{Added: map[string]time.Time{"w1": at(1)}}); err != nil {
				t.Fatal(err)
			}
			return v
		}},
		{"version ahead of the store", func(t *testing.T, tbl *Table) int64 { return 7 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tbl := newTable(t, newClock())
			stale := tt.setup(t, tbl)
			before, err := tbl.LoadCursor(t.Context(), opKey)
			if err != nil {
				t.Fatal(err)
			}
			_, err = tbl.CommitCursor(t.Context(), opKey, stale, poll.Checkpoint{
				Watermark: at(20), Added: map[string]time.Time{"loser": at(19)}, Forget: at(10),
			})
			var conflict *poll.ConflictError
			if !errors.As(err, &conflict) || conflict.Key != opKey || conflict.Version != stale {
				t.Fatalf("commit at stale version %d: %v, want *poll.ConflictError", stale, err)
			}
			after, err := tbl.LoadCursor(t.Context(), opKey)
			if err != nil {
				t.Fatal(err)
			}
			if after.Version != before.Version || !after.Watermark.Equal(before.Watermark) || !maps.EqualFunc(after.Seen, before.Seen, time.Time.Equal) {
				t.Fatalf("a lost commit changed the cursor: before %+v, after %+v", before, after)
			}
		})
	}
}

// TestCommitConflictInsideTransaction makes the version condition itself fail (the early
// version check passes, then another writer commits before the transaction): the typed
// conflict must come from the conditional write, and the losing dedupe entries must not exist.
func TestCommitConflictInsideTransaction(t *testing.T) {
	t.Parallel()
	tbl := newTable(t, newClock())
	ctx := t.Context()
	racer := &racingAPI{API: tbl.db, before: func() {
		if _, err := tbl.CommitCursor(ctx, opKey, 0, poll.Checkpoint{Watermark: at(1)}); err != nil {
			t.Errorf("racing commit: %v", err)
		}
	}}
	loser := &Table{db: racer, cfg: tbl.cfg}
	_, err := loser.CommitCursor(ctx, opKey, 0, poll.Checkpoint{Added: map[string]time.Time{"loser": at(2)}, Watermark: at(3)})
	var conflict *poll.ConflictError
	if !errors.As(err, &conflict) {
		t.Fatalf("commit that lost inside the transaction: %v, want *poll.ConflictError", err)
	}
	cur, err := tbl.LoadCursor(ctx, opKey)
	if err != nil {
		t.Fatal(err)
	}
	if cur.Version != 1 || !cur.Watermark.Equal(at(1)) || len(cur.Seen) != 0 {
		t.Fatalf("cursor after the lost transaction: %+v, want the racer's (version 1, watermark %v, no seen)", cur, at(1))
	}
	out, err := tbl.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(tbl.Name()), Key: key(cursorPK(opKey), chunkSK(at(2), 1, 0)), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.Item != nil {
		t.Fatal("the losing transaction's dedupe chunk was written")
	}
}

// racingAPI runs before once, just before the first transactional write it forwards, to
// interleave another writer between a commit's version check and its write.
type racingAPI struct {
	API
	before func()
	done   bool
}

func (r *racingAPI) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	if !r.done {
		r.done = true
		r.before()
	}
	return r.API.TransactWriteItems(ctx, in, optFns...)
}

func TestCreateTable(t *testing.T) {
	t.Parallel()
	db := awstest.DynamoDB(t)
	name := awstest.Name(t, "state")
	tbl, err := New(db, Config{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := tbl.CreateTable(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)}); err != nil {
			t.Errorf("delete table %s: %v", name, err)
		}
	})
	if err := tbl.CreateTable(ctx); err != nil {
		t.Fatalf("second CreateTable on an existing table: %v", err)
	}
	desc, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, k := range desc.Table.KeySchema {
		keys = append(keys, aws.ToString(k.AttributeName)+":"+string(k.KeyType))
	}
	if !slices.Equal(keys, []string{"pk:HASH", "sk:RANGE"}) {
		t.Errorf("key schema %v, want pk HASH, sk RANGE", keys)
	}
	ttl, err := db.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	if d := ttl.TimeToLiveDescription; d == nil || aws.ToString(d.AttributeName) != AttrTTL {
		t.Errorf("TTL description %+v, want attribute %s", d, AttrTTL)
	}
	if _, err := tbl.CommitCursor(ctx, opKey, 0, poll.Checkpoint{Watermark: at(1)}); err != nil {
		t.Fatalf("commit into the created table: %v", err)
	}
}

// countingAPI counts the requests and written items a Table sends.
type countingAPI struct {
	API
	mu                     sync.Mutex
	gets, queries, updates int
	transactions, items    int
	putBytes               int
}

func (c *countingAPI) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.mu.Lock()
	c.gets++
	c.mu.Unlock()
	return c.API.GetItem(ctx, in, o...)
}

func (c *countingAPI) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	c.mu.Lock()
	c.queries++
	c.mu.Unlock()
	return c.API.Query(ctx, in, o...)
}

func (c *countingAPI) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	c.mu.Lock()
	c.updates++
	c.mu.Unlock()
	return c.API.UpdateItem(ctx, in, o...)
}

func (c *countingAPI) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	c.mu.Lock()
	c.transactions++
	c.items += len(in.TransactItems)
	for _, it := range in.TransactItems {
		if it.Put != nil {
			if b, ok := it.Put.Item[attrEntries].(*types.AttributeValueMemberB); ok {
				c.putBytes += len(b.Value)
			}
		}
	}
	c.mu.Unlock()
	return c.API.TransactWriteItems(ctx, in, o...)
}

// TestCommitCost pins the request counts and sizes doc.go's cost figures rest on: 1,000 events
// in one transaction of the cursor and one 39 KB chunk, one cursor read per commit, one Query
// per load.
func TestCommitCost(t *testing.T) {
	t.Parallel()
	tbl := newTable(t, newClock())
	api := &countingAPI{API: tbl.db}
	counted := &Table{db: api, cfg: tbl.cfg}
	added := map[string]time.Time{}
	for i := range 1000 {
		added[fmt.Sprintf("%064x", i)] = at(1).Add(time.Duration(i) * time.Second) // Zoom's times are whole seconds
	}
	if _, err := counted.CommitCursor(t.Context(), opKey, 0, poll.Checkpoint{Added: added, Watermark: at(2)}); err != nil {
		t.Fatal(err)
	}
	if api.transactions != 1 || api.items != 2 || api.gets != 1 || api.updates != 0 {
		t.Errorf("1,000-event commit: %d transactions with %d items, %d reads, %d plain updates; want 1, 2, 1, 0",
			api.transactions, api.items, api.gets, api.updates)
	}
	if api.putBytes > 1000*39+16 {
		t.Errorf("1,000-event commit wrote %d bytes of dedupe chunks, want at most 39 per event", api.putBytes)
	}
	cur, err := counted.LoadCursor(t.Context(), opKey)
	if err != nil {
		t.Fatal(err)
	}
	if len(cur.Seen) != 1000 || api.gets != 2 || api.queries < 1 {
		t.Errorf("load: %d seen, %d reads, %d queries; want 1000, 2, ≥1", len(cur.Seen), api.gets, api.queries)
	}
	t.Logf("1,000 events: %d TransactWriteItems (%d items, %d bytes of chunks), load: 1 GetItem + %d Query pages", api.transactions, api.items, api.putBytes, api.queries)
}

// TestCursorsMatchFileStore runs one seeded sequence of checkpoints against the file-backed
// store and this one. This store may remember more (entries a Forget allowed it to drop,
// never anything that was not added), but never less, and the watermarks agree.
func TestCursorsMatchFileStore(t *testing.T) {
	t.Parallel()
	tbl := newTable(t, newClock())
	files, err := local.NewCursors(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	rng := rand.New(rand.NewPCG(3, 5))
	added := map[string]time.Time{}
	var vFile, vTable int64
	for step := range 60 {
		cp := poll.Checkpoint{Added: map[string]time.Time{}}
		for range rng.IntN(150) {
			id := fmt.Sprintf("s%d-%d", step, rng.IntN(1000))
			cp.Added[id] = at(step/4 - 5 + rng.IntN(10))
			added[id] = cp.Added[id]
		}
		if rng.IntN(3) == 0 {
			cp.Watermark = at(step)
		}
		if rng.IntN(3) == 0 {
			cp.Forget = at(step/4 - rng.IntN(6))
		}
		if vFile, err = files.CommitCursor(ctx, opKey, vFile, cp); err != nil {
			t.Fatal(err)
		}
		if vTable, err = tbl.CommitCursor(ctx, opKey, vTable, cp); err != nil {
			t.Fatal(err)
		}
		want, err := files.LoadCursor(ctx, opKey)
		if err != nil {
			t.Fatal(err)
		}
		got, err := tbl.LoadCursor(ctx, opKey)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Watermark.Equal(want.Watermark) || got.Version != vTable {
			t.Fatalf("step %d: watermark %v version %d, want %v and %d", step, got.Watermark, got.Version, want.Watermark, vTable)
		}
		for id, at := range want.Seen {
			if g, ok := got.Seen[id]; !ok || !g.Equal(at) {
				t.Fatalf("step %d: entry %s (%v) remembered by the file store is missing", step, id, at)
			}
		}
		for id, at := range got.Seen {
			if a, ok := added[id]; !ok || !a.Equal(at) {
				t.Fatalf("step %d: entry %s (%v) was never added", step, id, at)
			}
		}
	}
}
