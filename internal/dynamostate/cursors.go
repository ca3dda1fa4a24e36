package dynamostate

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/zoomwatch/zoomwatch/internal/poll"
)

const (
	skCursor   = "cursor"
	seenPrefix = "seen#"

	attrVersion   = "version"
	attrWatermark = "watermark"
	attrForget    = "forget"
	attrUpdated   = "updated_at"
	attrEntries   = "entries"
	attrCount     = "count"
)

// cursorPK is the partition of one cursor: its item (sk "cursor") and its dedupe chunks
// (sk "seen#<latest record time>#c<version>.<n>"), so one Query reads them in time order.
func cursorPK(k poll.Key) string { return "cursor#" + k.Source + "#" + string(k.LogType) }

// chunkSK names the n-th chunk written by the commit that makes a cursor's version v: unique,
// because only one commit can make each version.
func chunkSK(latest time.Time, v int64, n int) string {
	return fmt.Sprintf("%s%s#c%d.%d", seenPrefix, formatTime(latest), v, n)
}

// parseSeenSK splits the sort key seen#<record time>#<event id> of a one-event dedupe entry,
// as releases before dedupe chunks wrote them, into its event ID and record time; LoadCursor
// still reads such entries until their TTL removes them.
func parseSeenSK(sk string) (string, time.Time, error) {
	rest, ok := strings.CutPrefix(sk, seenPrefix)
	if !ok || len(rest) < len(timeFormat)+2 || rest[len(timeFormat)] != '#' {
		return "", time.Time{}, fmt.Errorf("malformed dedupe entry key %q", sk)
	}
	t, err := parseTime(rest[:len(timeFormat)])
	if err != nil {
		return "", time.Time{}, fmt.Errorf("dedupe entry key %q: %w", sk, err)
	}
	return rest[len(timeFormat)+1:], t, nil
}

// cursorItem is the stored head of a cursor.
type cursorItem struct {
	version   int64
	watermark time.Time
	forget    time.Time
}

func (t *Table) getCursor(ctx context.Context, k poll.Key) (cursorItem, error) {
	out, err := t.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(t.cfg.Name),
		Key:            key(cursorPK(k), skCursor),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return cursorItem{}, fmt.Errorf("read cursor %s from %s: %w", k, t.cfg.Name, err)
	}
	var c cursorItem
	if out.Item == nil {
		return c, nil
	}
	if c.version, err = getInt(out.Item, attrVersion); err != nil {
		return c, fmt.Errorf("cursor %s: %w", k, err)
	}
	for name, dst := range map[string]*time.Time{attrWatermark: &c.watermark, attrForget: &c.forget} {
		if s := getString(out.Item, name); s != "" {
			if *dst, err = parseTime(s); err != nil {
				return c, fmt.Errorf("cursor %s attribute %s: %w", k, name, err)
			}
		}
	}
	return c, nil
}

// LoadCursor implements poll.CursorStore: one consistent GetItem for the cursor and one
// consistent Query for its dedupe chunks not yet forgotten. A chunk holding entries on both
// sides of the forget horizon is read whole; its entries before the horizon are left out.
func (t *Table) LoadCursor(ctx context.Context, k poll.Key) (poll.Cursor, error) {
	c, err := t.getCursor(ctx, k)
	if err != nil {
		return poll.Cursor{}, err
	}
	cur := poll.Cursor{Version: c.version, Watermark: c.watermark, Seen: map[string]time.Time{}}
	lo := seenPrefix
	if !c.forget.IsZero() {
		lo = seenPrefix + formatTime(c.forget)
	}
	// Forgotten entries sort before lo and are never read again (TTL deletes them later).
	pages := dynamodb.NewQueryPaginator(t.db, &dynamodb.QueryInput{
		TableName:                 aws.String(t.cfg.Name),
		KeyConditionExpression:    aws.String("#pk = :pk AND #sk BETWEEN :lo AND :hi"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(cursorPK(k)), ":lo": str(lo), ":hi": str(seenPrefix + "~")},
		ExpressionAttributeNames:  map[string]string{"#pk": AttrPK, "#sk": AttrSK, "#entries": attrEntries},
		ProjectionExpression:      aws.String("#sk, #entries"),
		ConsistentRead:            aws.Bool(true),
	})
	add := func(id string, at time.Time) {
		if c.forget.IsZero() || !at.Before(c.forget) {
			cur.Seen[id] = at
		}
	}
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return poll.Cursor{}, fmt.Errorf("read dedupe entries of cursor %s from %s: %w", k, t.cfg.Name, err)
		}
		for _, item := range page.Items {
			sk := getString(item, AttrSK)
			if b, ok := item[attrEntries].(*types.AttributeValueMemberB); ok {
				if err := decodeSeenChunk(b.Value, add); err != nil {
					return poll.Cursor{}, fmt.Errorf("cursor %s, item %s: %w", k, sk, err)
				}
				continue
			}
			id, at, err := parseSeenSK(sk)
			if err != nil {
				return poll.Cursor{}, fmt.Errorf("cursor %s: %w", k, err)
			}
			add(id, at)
		}
	}
	return cur, nil
}

// CommitCursor implements poll.CursorStore.
//
// The entries of cp.Added, in record-time order, are packed into dedupe chunks (seenchunk.go)
// written with the cursor's version bump in one transaction with the version-conditioned
// cursor update, so an entry never exists without the commit that made it. A checkpoint too
// large for one transaction (over 40 chunks, some 40,000 events) takes several, each bumping
// the version; the watermark and forget horizon move only in the last, so a commit cut short
// leaves a consistent cursor holding a subset of the acknowledged events.
// A lost condition returns a *poll.ConflictError; the first transaction is conditioned on
// version, so a commit that starts after another writer's changes nothing.
func (t *Table) CommitCursor(ctx context.Context, k poll.Key, version int64, cp poll.Checkpoint) (int64, error) {
	head, err := t.getCursor(ctx, k)
	if err != nil {
		return 0, err
	}
	if head.version != version {
		return 0, &poll.ConflictError{Key: k, Version: version}
	}
	entries := make([]seenEntry, 0, len(cp.Added))
	for id, at := range cp.Added {
		entries = append(entries, seenEntry{id: id, at: at})
	}
	// In time order, so each chunk spans a short stretch of record time and is forgotten soon
	// after its entries are; by ID within a time, so the chunks are deterministic.
	slices.SortFunc(entries, func(a, b seenEntry) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	txns := slices.Collect(slices.Chunk(packSeen(entries), maxChunksPerTransaction))
	if len(txns) == 0 {
		txns = [][]seenChunk{nil}
	}
	// Entries older than the forget horizon would be invisible to LoadCursor, yet the poller
	// expects what it adds to be remembered until a Forget passes it (it reads older records
	// again after its overlap grew, for one). The first transaction therefore lowers the
	// horizon to the oldest new entry; the last sets the checkpoint's Forget, earlier or later
	// than before. Lowering only reveals entries of delivered events, which poll.Checkpoint
	// allows a store to keep.
	reveal := head.forget
	for _, at := range cp.Added {
		if !head.forget.IsZero() && at.Before(reveal) {
			reveal = at
		}
	}
	now := t.cfg.Now()
	pk := cursorPK(k)
	v := version
	saved := 0
	for i, chunks := range txns {
		update := t.cursorUpdate(pk, v, now)
		last := i == len(txns)-1
		switch {
		case last && !cp.Forget.IsZero():
			update.set(attrForget, str(formatTime(cp.Forget)))
		case i == 0 && reveal.Before(head.forget):
			update.set(attrForget, str(formatTime(reveal)))
		}
		if last && !cp.Watermark.IsZero() {
			update.set(attrWatermark, str(formatTime(cp.Watermark)))
		}
		n := 0
		if len(chunks) == 0 {
			_, err = t.db.UpdateItem(ctx, update.updateItem(t.cfg.Name))
		} else {
			items := make([]types.TransactWriteItem, 0, len(chunks)+1)
			items = append(items, types.TransactWriteItem{Update: update.transactUpdate(t.cfg.Name)})
			expires := ttlAt(now.Add(t.cfg.SeenRetention))
			for j, c := range chunks {
				n += c.n
				item := key(pk, chunkSK(c.latest, v+1, j))
				item[attrEntries] = &types.AttributeValueMemberB{Value: c.data}
				item[attrCount] = num(int64(c.n))
				item[AttrTTL] = expires
				items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: aws.String(t.cfg.Name), Item: item}})
			}
			_, err = t.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		}
		if err != nil {
			if conditionFailed(err) {
				return 0, &poll.ConflictError{Key: k, Version: version}
			}
			return 0, fmt.Errorf("commit cursor %s to %s (%d of %d dedupe entries saved): %w", k, t.cfg.Name, saved, len(entries), err)
		}
		saved += n
		v++
	}
	return v, nil
}

// expr accumulates a conditional update of one item.
type expr struct {
	key    map[string]types.AttributeValue
	cond   string
	sets   []string
	names  map[string]string
	values map[string]types.AttributeValue
}

// cursorUpdate conditions an update of the cursor item on its version still being v (or on
// its absence for v == 0) and bumps the version.
func (t *Table) cursorUpdate(pk string, v int64, now time.Time) *expr {
	e := &expr{
		key:    key(pk, skCursor),
		names:  map[string]string{"#pk": AttrPK},
		values: map[string]types.AttributeValue{},
	}
	if v == 0 {
		e.cond = "attribute_not_exists(#pk)"
	} else {
		e.cond = "#version = :expected"
		e.names["#version"] = attrVersion
		e.values[":expected"] = num(v)
	}
	e.set(attrVersion, num(v+1))
	e.set(attrUpdated, str(formatTime(now)))
	return e
}

func (e *expr) set(attr string, v types.AttributeValue) {
	e.names["#"+attr] = attr
	e.values[":"+attr] = v
	e.sets = append(e.sets, "#"+attr+" = :"+attr)
}

func (e *expr) update() string { return "SET " + strings.Join(e.sets, ", ") }

func (e *expr) updateItem(table string) *dynamodb.UpdateItemInput {
	return &dynamodb.UpdateItemInput{
		TableName:                 aws.String(table),
		Key:                       e.key,
		UpdateExpression:          aws.String(e.update()),
		ConditionExpression:       aws.String(e.cond),
		ExpressionAttributeNames:  e.names,
		ExpressionAttributeValues: e.values,
	}
}

func (e *expr) transactUpdate(table string) *types.Update {
	return &types.Update{
		TableName:                 aws.String(table),
		Key:                       e.key,
		UpdateExpression:          aws.String(e.update()),
		ConditionExpression:       aws.String(e.cond),
		ExpressionAttributeNames:  e.names,
		ExpressionAttributeValues: e.values,
	}
}
