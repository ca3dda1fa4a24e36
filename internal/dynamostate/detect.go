package dynamostate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/zoomwatch/zoomwatch/internal/detect"
)

// The detector's state (detect.State) lives in the same table:
//
//	pk "dedup#<rule>#<key>"  sk "window"          the group's open window (one item)
//	                         sk "e#<gen>#<event>"  an event counted in window generation gen
//	                         sk "d#<gen>#<hash>"   a distinct value counted in generation gen
//	pk "first#<key>"         sk "first"           a first-seen key and how long it is remembered
//	pk "admin#<email>"       sk "admin"           an operator seen in the operation log
//
// A window's counters sit in one small item updated under its version; membership of events
// and distinct values are separate items, so a busy window costs the same per event as a
// quiet one. Each new window gets a new generation, so the members of an earlier window never
// count in a later one and need no deletion: TTL removes them.

const (
	skWindow = "window"
	skFirst  = "first"
	skAdmin  = "admin"

	attrGen      = "gen"
	attrStart    = "start"
	attrFirst    = "first"
	attrLast     = "last"
	attrIDs      = "ids"
	attrIDCount  = "id_count"
	attrDistinct = "distinct_count"
	attrHasDist  = "has_distinct"
	attrFired    = "fired"
	attrUntil2   = "until"

	// stateGrace keeps detector state a day beyond the longest it can matter, for late records.
	stateGrace = 24 * time.Hour
	// adminRetention forgets operators not seen in the operation log for over a year.
	adminRetention = 400 * 24 * time.Hour
	// observeTries bounds the optimistic retries of Observe under concurrent writers of one
	// group (parallel shards of the stream).
	observeTries = 8
	// maxRawKey is the longest key stored as is; longer keys are stored hashed (a partition
	// key holds at most 2048 bytes).
	maxRawKey = 512
)

// ContentionError reports that Observe lost its conditional write more often than it retries.
type ContentionError struct {
	RuleID, Key string
	Tries       int
}

func (e *ContentionError) Error() string {
	return fmt.Sprintf("detector state of rule %s: group changed concurrently %d times in a row", e.RuleID, e.Tries)
}

func keyPart(k string) string {
	if len(k) <= maxRawKey {
		return "k:" + k
	}
	sum := sha256.Sum256([]byte(k))
	return "h:" + hex.EncodeToString(sum[:])
}

func windowPK(rule, k string) string { return "dedup#" + rule + "#" + keyPart(k) }

func hashValue(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:16])
}

// window is the stored head of a group's open window.
type window struct {
	exists             bool
	version, gen       int64
	start, first, last time.Time
	ids                []string
	idCount, distCount int64
	hasDistinct, fired bool
}

func (w window) count() int {
	if w.hasDistinct {
		return int(w.distCount)
	}
	return int(w.idCount)
}

func (t *Table) getWindow(ctx context.Context, pk string) (window, error) {
	out, err := t.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(t.cfg.Name), Key: key(pk, skWindow), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return window{}, err
	}
	if out.Item == nil {
		return window{}, nil
	}
	w := window{exists: true}
	for name, dst := range map[string]*int64{attrVersion: &w.version, attrGen: &w.gen, attrIDCount: &w.idCount, attrDistinct: &w.distCount} {
		if *dst, err = getInt(out.Item, name); err != nil {
			return window{}, err
		}
	}
	for name, dst := range map[string]*time.Time{attrStart: &w.start, attrFirst: &w.first, attrLast: &w.last} {
		if *dst, err = parseTime(getString(out.Item, name)); err != nil {
			return window{}, fmt.Errorf("attribute %s: %w", name, err)
		}
	}
	w.hasDistinct = getBool(out.Item, attrHasDist)
	w.fired = getBool(out.Item, attrFired)
	if l, ok := out.Item[attrIDs].(*types.AttributeValueMemberL); ok {
		for _, v := range l.Value {
			if s, ok := v.(*types.AttributeValueMemberS); ok {
				w.ids = append(w.ids, s.Value)
			}
		}
	}
	return w, nil
}

func getBool(item map[string]types.AttributeValue, name string) bool {
	b, ok := item[name].(*types.AttributeValueMemberBOOL)
	return ok && b.Value
}

func (t *Table) exists(ctx context.Context, pk, sk string) (bool, error) {
	out, err := t.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(t.cfg.Name), Key: key(pk, sk), ConsistentRead: aws.Bool(true),
		ProjectionExpression: aws.String("#pk"), ExpressionAttributeNames: map[string]string{"#pk": AttrPK},
	})
	if err != nil {
		return false, err
	}
	return out.Item != nil, nil
}

// Observe implements detect.State with the semantics documented there (and of
// detect.MemState): it reads the group's window and the event's membership, decides, and
// writes the new window with the event's membership items in one transaction conditioned on
// the window's version; a concurrent change makes it decide again.
func (t *Table) Observe(ctx context.Context, o detect.Observation) (detect.Decision, error) {
	pk := windowPK(o.RuleID, o.Key)
	for try := range observeTries {
		if try > 0 {
			// Concurrent writers of one group are rare (one group's events share a partition
			// key of the stream only by chance); a short jittered pause separates them.
			d := time.Duration(rand.Int64N(int64(10*time.Millisecond) << min(try, 5)))
			select {
			case <-ctx.Done():
				return detect.Decision{}, ctx.Err()
			case <-time.After(d):
			}
		}
		dec, err := t.observe(ctx, pk, o)
		if errors.Is(err, errLostRace) {
			continue
		}
		if err != nil {
			return detect.Decision{}, fmt.Errorf("detector state of rule %s in %s: %w", o.RuleID, t.cfg.Name, err)
		}
		return dec, nil
	}
	return detect.Decision{}, &ContentionError{RuleID: o.RuleID, Key: o.Key, Tries: observeTries}
}

var errLostRace = errors.New("lost a conditional write")

func (t *Table) observe(ctx context.Context, pk string, o detect.Observation) (detect.Decision, error) {
	w, err := t.getWindow(ctx, pk)
	if err != nil {
		return detect.Decision{}, err
	}
	prev := w.version
	switch {
	case !w.exists, !o.Time.Before(w.start.Add(o.Period)):
		w = window{exists: w.exists, version: w.version, gen: w.gen + 1, start: o.Time, first: o.Time, last: o.Time}
	case o.Time.Before(w.start.Add(-o.Period)):
		return detect.Decision{Stale: true, Count: w.count(), First: w.first, Last: w.last}, nil
	default:
		dup, err := t.exists(ctx, pk, memberSK("e", w.gen, o.EventID))
		if err != nil {
			return detect.Decision{}, err
		}
		if dup {
			return detect.Decision{Duplicate: true, Count: w.count(), First: w.first, Last: w.last, EventIDs: cloneIDs(w.ids)}, nil
		}
	}
	newDistinct := false
	if o.Distinct != "" {
		seen, err := t.exists(ctx, pk, memberSK("d", w.gen, hashValue(o.Distinct)))
		if err != nil {
			return detect.Decision{}, err
		}
		newDistinct = !seen
		w.hasDistinct = true
	}
	w.idCount++
	if newDistinct {
		w.distCount++
	}
	if len(w.ids) < detect.MaxEventIDs {
		w.ids = append(w.ids, o.EventID)
	}
	if o.Time.Before(w.first) {
		w.first = o.Time
	}
	if o.Time.After(w.last) {
		w.last = o.Time
	}
	d := detect.Decision{Count: w.count(), First: w.first, Last: w.last}
	if !w.fired && d.Count >= o.Threshold {
		w.fired = true
		d.Fire = true
		d.EventIDs = cloneIDs(w.ids)
	}

	now := t.cfg.Now()
	gc := ttlAt(later(now, w.last).Add(2*o.Period + stateGrace))
	item := key(pk, skWindow)
	ids := make([]types.AttributeValue, len(w.ids))
	for i, id := range w.ids {
		ids[i] = str(id)
	}
	item[attrVersion] = num(prev + 1)
	item[attrGen] = num(w.gen)
	item[attrStart] = str(formatTime(w.start))
	item[attrFirst] = str(formatTime(w.first))
	item[attrLast] = str(formatTime(w.last))
	item[attrIDs] = &types.AttributeValueMemberL{Value: ids}
	item[attrIDCount] = num(w.idCount)
	item[attrDistinct] = num(w.distCount)
	item[attrHasDist] = &types.AttributeValueMemberBOOL{Value: w.hasDistinct}
	item[attrFired] = &types.AttributeValueMemberBOOL{Value: w.fired}
	item[AttrTTL] = gc
	put := &types.Put{TableName: aws.String(t.cfg.Name), Item: item}
	if prev == 0 {
		put.ConditionExpression = aws.String("attribute_not_exists(#pk)")
		put.ExpressionAttributeNames = map[string]string{"#pk": AttrPK}
	} else {
		put.ConditionExpression = aws.String("#version = :v")
		put.ExpressionAttributeNames = map[string]string{"#version": attrVersion}
		put.ExpressionAttributeValues = map[string]types.AttributeValue{":v": num(prev)}
	}
	member := func(kind, id string) types.TransactWriteItem {
		it := key(pk, memberSK(kind, w.gen, id))
		it[AttrTTL] = gc
		return types.TransactWriteItem{Put: &types.Put{TableName: aws.String(t.cfg.Name), Item: it}}
	}
	items := []types.TransactWriteItem{{Put: put}, member("e", o.EventID)}
	if newDistinct {
		items = append(items, member("d", hashValue(o.Distinct)))
	}
	if _, err := t.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items}); err != nil {
		if conditionFailed(err) {
			return detect.Decision{}, errLostRace
		}
		return detect.Decision{}, err
	}
	return d, nil
}

func memberSK(kind string, gen int64, id string) string {
	return kind + "#" + strconv.FormatInt(gen, 10) + "#" + id
}

func cloneIDs(ids []string) []string { return append([]string(nil), ids...) }

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// FirstSeen implements detect.State with one conditional update (two when the key is known and
// its memory is extended). Times compare as fixed-width strings.
func (t *Table) FirstSeen(ctx context.Context, k, eventID string, at time.Time, ttl time.Duration) (bool, error) {
	pk := "first#" + keyPart(k)
	until := formatTime(at.Add(ttl))
	gc := ttlAt(later(t.cfg.Now(), at).Add(ttl + stateGrace))
	names := map[string]string{"#pk": AttrPK, "#until": attrUntil2, "#ttl": AttrTTL, "#event": "event_id"}
	_, err := t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(t.cfg.Name),
		Key:                      key(pk, skFirst),
		UpdateExpression:         aws.String("SET #until = :until, #ttl = :ttl, #event = :event"),
		ConditionExpression:      aws.String("attribute_not_exists(#pk) OR #until <= :at"),
		ExpressionAttributeNames: names,
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":until": str(until), ":ttl": gc, ":event": str(eventID), ":at": str(formatTime(at)),
		},
	})
	if err == nil {
		return true, nil
	}
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		return false, fmt.Errorf("first-seen state in %s: %w", t.cfg.Name, err)
	}
	// Known and still remembered: remember it longer if this sighting reaches further.
	_, err = t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(t.cfg.Name),
		Key:                       key(pk, skFirst),
		UpdateExpression:          aws.String("SET #until = :until, #ttl = :ttl"),
		ConditionExpression:       aws.String("#until < :until"),
		ExpressionAttributeNames:  map[string]string{"#until": attrUntil2, "#ttl": AttrTTL},
		ExpressionAttributeValues: map[string]types.AttributeValue{":until": str(until), ":ttl": gc},
	})
	if err != nil && !errors.As(err, &ccf) {
		return false, fmt.Errorf("first-seen state in %s: %w", t.cfg.Name, err)
	}
	return false, nil
}

// NoteAdmin implements detect.State. The note is kept a year beyond the latest sighting.
func (t *Table) NoteAdmin(ctx context.Context, email string, at time.Time) error {
	item := key("admin#"+email, skAdmin)
	item["noted_at"] = str(formatTime(at))
	item[AttrTTL] = ttlAt(later(t.cfg.Now(), at).Add(adminRetention))
	if _, err := t.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(t.cfg.Name), Item: item}); err != nil {
		return fmt.Errorf("note admin in %s: %w", t.cfg.Name, err)
	}
	return nil
}

// IsAdmin implements detect.State.
func (t *Table) IsAdmin(ctx context.Context, email string) (bool, error) {
	ok, err := t.exists(ctx, "admin#"+email, skAdmin)
	if err != nil {
		return false, fmt.Errorf("read admin from %s: %w", t.cfg.Name, err)
	}
	return ok, nil
}
