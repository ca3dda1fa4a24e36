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
	// maxTransactItems is DynamoDB's limit of actions in one TransactWriteItems call; one is
	// the cursor update, the rest dedupe entries.
	maxTransactItems = 100
	seenPerCommit    = maxTransactItems - 1

	attrVersion   = "version"
	attrWatermark = "watermark"
	attrForget    = "forget"
	attrUpdated   = "updated_at"
)

// cursorPK is the partition of one cursor: its item (sk "cursor") and its dedupe entries
// (sk "seen#<record time>#<event id>"), so one Query reads them in time order.
func cursorPK(k poll.Key) string { return "cursor#" + k.Source + "#" + string(k.LogType) }

func seenSK(id string, t time.Time) string { return seenPrefix + formatTime(t) + "#" + id }

// parseSeenSK splits a dedupe entry's sort key into its event ID and record time.
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
// consistent Query for its dedupe entries not yet forgotten.
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
		ExpressionAttributeNames:  map[string]string{"#pk": AttrPK, "#sk": AttrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(cursorPK(k)), ":lo": str(lo), ":hi": str(seenPrefix + "~")},
		ProjectionExpression:      aws.String("#sk"),
		ConsistentRead:            aws.Bool(true),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return poll.Cursor{}, fmt.Errorf("read dedupe entries of cursor %s from %s: %w", k, t.cfg.Name, err)
		}
		for _, item := range page.Items {
			id, at, err := parseSeenSK(getString(item, AttrSK))
			if err != nil {
				return poll.Cursor{}, fmt.Errorf("cursor %s: %w", k, err)
			}
			cur.Seen[id] = at
		}
	}
	return cur, nil
}

// CommitCursor implements poll.CursorStore.
//
// The dedupe entries of cp.Added are written with the cursor's version bump in transactions
// of up to 99 entries plus the version-conditioned cursor update, so an entry never exists
// without the commit that made it. A checkpoint with more entries takes several transactions,
// each bumping the version; the watermark and forget horizon move only in the last, so a
// commit cut short leaves a consistent cursor holding a subset of the acknowledged events.
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
	ids := make([]string, 0, len(cp.Added))
	for id := range cp.Added {
		ids = append(ids, id)
	}
	slices.Sort(ids) // deterministic chunks, easier to reason about in logs and tests
	chunks := slices.Collect(slices.Chunk(ids, seenPerCommit))
	if len(chunks) == 0 {
		chunks = [][]string{nil}
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
	for i, chunk := range chunks {
		update := t.cursorUpdate(pk, v, now)
		last := i == len(chunks)-1
		switch {
		case last && !cp.Forget.IsZero():
			update.set(attrForget, str(formatTime(cp.Forget)))
		case i == 0 && reveal.Before(head.forget):
			update.set(attrForget, str(formatTime(reveal)))
		}
		if last && !cp.Watermark.IsZero() {
			update.set(attrWatermark, str(formatTime(cp.Watermark)))
		}
		if len(chunk) == 0 {
			_, err = t.db.UpdateItem(ctx, update.updateItem(t.cfg.Name))
		} else {
			items := make([]types.TransactWriteItem, 0, len(chunk)+1)
			items = append(items, types.TransactWriteItem{Update: update.transactUpdate(t.cfg.Name)})
			expires := ttlAt(now.Add(t.cfg.SeenRetention))
			for _, id := range chunk {
				item := key(pk, seenSK(id, cp.Added[id]))
				item[AttrTTL] = expires
				items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: aws.String(t.cfg.Name), Item: item}})
			}
			_, err = t.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		}
		if err != nil {
			if conditionFailed(err) {
				return 0, &poll.ConflictError{Key: k, Version: version}
			}
			return 0, fmt.Errorf("commit cursor %s to %s (%d of %d dedupe entries saved): %w", k, t.cfg.Name, i*seenPerCommit, len(ids), err)
		}
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
