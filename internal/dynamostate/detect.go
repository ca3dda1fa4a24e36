package dynamostate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/zoomwatch/zoomwatch/internal/detect"
)

// The detector's state (detect.State) lives in the same table:
//
//	pk "dedup#<rule>#p<period>#g<grid>#b<index>#<key>"  sk "bucket"   one bucket of a group
//	                                                    sk "e#<event>" an event counted in it
//	                                                    sk "d#<hash>"  a distinct value counted in it
//	pk "alert#<alert id>"  sk "alert"  a fired bucket's alert: acked, rule_id (ttl as its bucket)
//	pk "first#<key>"       sk "first"  a first-seen key, how long it is remembered, first event
//	pk "admin#<email>"     sk "admin"  an operator seen in the operation log
//
// A bucket's counters sit in one small item updated under its version; membership of events
// and distinct values are separate items of the bucket's partition, so a busy bucket costs the
// same per event as a quiet one. Buckets are fixed (detect.BucketsOf), so an event's items
// are the same whenever and however often it arrives, and TTL removes them all.
//
// Observe writes the event's buckets and their membership items in one transaction
// conditioned on each bucket's version. When a bucket is about to fire it also reads the other
// grid's overlapping buckets and adds to the transaction a version bump of each it does not
// already write (creating an empty bucket where none exists), so two overlapping buckets
// never both fire. The bump is an Update, not a ConditionCheck, so the detector needs only
// GetItem, PutItem and UpdateItem on the table.

const (
	skBucket = "bucket"
	skAlert  = "alert"
	skFirst  = "first"
	skAdmin  = "admin"
	skSince  = "since"

	attrFirst    = "first"
	attrLast     = "last"
	attrIDs      = "ids"
	attrIDCount  = "id_count"
	attrDistinct = "distinct_count"
	attrHasDist  = "has_distinct"
	attrFired    = "fired"
	attrFiredBy  = "fired_by"
	attrAcked    = "acked"
	attrRuleID   = "rule_id"
	attrUntil2   = "until"
	attrEventID  = "event_id"
	attrSince    = "since"

	// stateGrace keeps detector state beyond the longest it can matter, for late records.
	stateGrace = detect.LateGrace
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

func bucketPK(rule, k string, period time.Duration, b detect.Bucket) string {
	return "dedup#" + rule + "#p" + strconv.FormatInt(int64(period), 10) + "#g" + strconv.Itoa(b.Grid) +
		"#b" + strconv.FormatInt(b.Index, 10) + "#" + keyPart(k)
}

func alertPK(alertID string) string { return "alert#" + alertID }

func hashValue(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:16])
}

// bucket is a stored bucket head, and what this Observe call knows and changes of it.
type bucket struct {
	b                  detect.Bucket
	pk, alertID        string
	end                time.Time
	exists             bool
	version            int64
	first, last        time.Time
	ids                []string
	idCount, distCount int64
	hasDistinct, fired bool
	firedBy            string

	// member and distinctSeen say the event and its distinct value are already counted;
	// added and newDistinct that this call counts them.
	member, distinctSeen bool
	added, newDistinct   bool
}

func (w *bucket) count() int {
	if w.hasDistinct {
		return int(w.distCount)
	}
	return int(w.idCount)
}

// decision describes w firing its alert for the call that decided d.
func (w *bucket) decision(d detect.Decision) detect.Decision {
	return detect.Decision{Fire: true, AlertID: w.alertID, Count: w.count(), First: w.first, Last: w.last,
		EventIDs: cloneIDs(w.ids), Duplicate: d.Duplicate, NewDistinct: d.NewDistinct}
}

// loadBucket reads bucket b of o's group and, with o.EventID set, whether it holds the event
// and its distinct value.
func (t *Table) loadBucket(ctx context.Context, o detect.Observation, b detect.Bucket, membership bool) (*bucket, error) {
	w := &bucket{b: b, pk: bucketPK(o.RuleID, o.Key, o.Period, b), alertID: detect.AlertID(o.RuleID, o.Key, o.Period, b), end: b.End(o.Period)}
	out, err := t.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(t.cfg.Name), Key: key(w.pk, skBucket), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, err
	}
	if out.Item == nil {
		return w, nil
	}
	w.exists = true
	for name, dst := range map[string]*int64{attrVersion: &w.version, attrIDCount: &w.idCount, attrDistinct: &w.distCount} {
		if *dst, err = getInt(out.Item, name); err != nil {
			return nil, err
		}
	}
	for name, dst := range map[string]*time.Time{attrFirst: &w.first, attrLast: &w.last} {
		if s := getString(out.Item, name); s != "" {
			if *dst, err = parseTime(s); err != nil {
				return nil, fmt.Errorf("attribute %s: %w", name, err)
			}
		}
	}
	w.hasDistinct = getBool(out.Item, attrHasDist)
	w.fired = getBool(out.Item, attrFired)
	w.firedBy = getString(out.Item, attrFiredBy)
	if l, ok := out.Item[attrIDs].(*types.AttributeValueMemberL); ok {
		for _, v := range l.Value {
			if s, ok := v.(*types.AttributeValueMemberS); ok {
				w.ids = append(w.ids, s.Value)
			}
		}
	}
	if !membership {
		return w, nil
	}
	if w.member, err = t.exists(ctx, w.pk, "e#"+o.EventID); err != nil {
		return nil, err
	}
	if o.Distinct != "" && !w.member {
		if w.distinctSeen, err = t.exists(ctx, w.pk, "d#"+hashValue(o.Distinct)); err != nil {
			return nil, err
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
// detect.MemState): it reads the event's buckets and its membership in them, decides, and
// writes the changed buckets with the event's membership items in one transaction
// conditioned on the buckets' versions; a concurrent change makes it decide again. A
// redelivery changes nothing and writes nothing; it reads the alert item only when the event
// is the one that fired its bucket.
func (t *Table) Observe(ctx context.Context, o detect.Observation) (detect.Decision, error) {
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
		dec, err := t.observe(ctx, o)
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

// loadBuckets reads the event's buckets concurrently (two grids for thresholds above 1).
func (t *Table) loadBuckets(ctx context.Context, o detect.Observation) ([]*bucket, error) {
	bs := detect.BucketsOf(o.Time, o.Period, o.Threshold)
	out := make([]*bucket, len(bs))
	errs := make([]error, len(bs))
	var wg sync.WaitGroup
	for i, b := range bs {
		wg.Go(func() { out[i], errs[i] = t.loadBucket(ctx, o, b, true) })
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

func (t *Table) observe(ctx context.Context, o detect.Observation) (detect.Decision, error) {
	st, err := t.loadBuckets(ctx, o)
	if err != nil {
		return detect.Decision{}, err
	}
	dup := true
	for _, w := range st {
		if w.member {
			continue
		}
		dup = false
		w.added = true
		if !w.exists || w.idCount == 0 {
			w.first, w.last = o.Time, o.Time
		}
		w.idCount++
		if o.Distinct != "" {
			w.hasDistinct = true
			if !w.distinctSeen {
				w.newDistinct = true
				w.distCount++
			}
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
	}
	d := detect.Decision{Duplicate: dup, Count: st[0].count(), First: st[0].first, Last: st[0].last}
	for _, w := range st {
		d.NewDistinct = d.NewDistinct || w.newDistinct
	}

	// guards are the buckets the firing decision read but this call does not write.
	var guards []*bucket
	fired := -1
	for i, w := range st {
		if !w.added || w.fired || w.count() < o.Threshold {
			continue
		}
		blocked := false
		guards = guards[:0]
		if len(st) > 1 {
			for _, ob := range w.b.Overlapping() {
				g := findBucket(st, ob)
				if g == nil {
					if g, err = t.loadBucket(ctx, o, ob, false); err != nil {
						return detect.Decision{}, err
					}
				}
				if !g.added {
					guards = append(guards, g)
				}
				blocked = blocked || g.fired
			}
		}
		if blocked {
			continue
		}
		w.fired, w.firedBy = true, o.EventID
		fired = i
		break
	}
	// refire is a bucket this event fired whose alert was never acknowledged.
	var refire *bucket
	if fired < 0 {
		guards = nil
		for _, w := range st {
			if w.added || !w.fired || w.firedBy != o.EventID {
				continue
			}
			acked, err := t.acked(ctx, w.alertID)
			if err != nil {
				return detect.Decision{}, err
			}
			if !acked {
				refire = w
				break
			}
		}
	}
	switch {
	case dup && refire != nil:
		return refire.decision(d), nil
	case dup:
		return d, nil
	}

	var items []types.TransactWriteItem
	for _, w := range st {
		if !w.added {
			continue
		}
		gc := t.bucketTTL(w, o.Period)
		items = append(items, types.TransactWriteItem{Put: t.putBucket(w, gc)}, t.member(w.pk, "e#"+o.EventID, gc))
		if w.newDistinct {
			items = append(items, t.member(w.pk, "d#"+hashValue(o.Distinct), gc))
		}
	}
	if fired >= 0 {
		w := st[fired]
		it := key(alertPK(w.alertID), skAlert)
		it[attrAcked] = &types.AttributeValueMemberBOOL{Value: false}
		it[attrRuleID] = str(o.RuleID)
		it[AttrTTL] = t.bucketTTL(w, o.Period)
		items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: aws.String(t.cfg.Name), Item: it}})
		for _, g := range guards {
			items = append(items, t.guard(g, o.Period))
		}
	}
	if _, err := t.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items}); err != nil {
		if conditionFailed(err) {
			return detect.Decision{}, errLostRace
		}
		return detect.Decision{}, err
	}
	switch {
	case fired >= 0:
		return st[fired].decision(d), nil
	case refire != nil:
		return refire.decision(d), nil
	}
	return d, nil
}

func findBucket(st []*bucket, b detect.Bucket) *bucket {
	for _, w := range st {
		if w.b == b {
			return w
		}
	}
	return nil
}

// bucketTTL keeps a bucket a period plus a day past the later of the wall clock and its end:
// buckets are judged in event time, and a replay of old history keeps its state for as long
// as live events would.
func (t *Table) bucketTTL(w *bucket, period time.Duration) *types.AttributeValueMemberN {
	return ttlAt(later(t.cfg.Now(), w.end).Add(max(period, 0) + stateGrace))
}

// versionCondition makes a write of w's head depend on the version this call read.
func versionCondition(w *bucket) (*string, map[string]string, map[string]types.AttributeValue) {
	if !w.exists {
		return aws.String("attribute_not_exists(#pk)"), map[string]string{"#pk": AttrPK}, nil
	}
	return aws.String("#version = :v"), map[string]string{"#version": attrVersion},
		map[string]types.AttributeValue{":v": num(w.version)}
}

func (t *Table) putBucket(w *bucket, gc types.AttributeValue) *types.Put {
	item := key(w.pk, skBucket)
	ids := make([]types.AttributeValue, len(w.ids))
	for i, id := range w.ids {
		ids[i] = str(id)
	}
	item[attrVersion] = num(w.version + 1)
	item[attrFirst] = str(formatTime(w.first))
	item[attrLast] = str(formatTime(w.last))
	item[attrIDs] = &types.AttributeValueMemberL{Value: ids}
	item[attrIDCount] = num(w.idCount)
	item[attrDistinct] = num(w.distCount)
	item[attrHasDist] = &types.AttributeValueMemberBOOL{Value: w.hasDistinct}
	item[attrFired] = &types.AttributeValueMemberBOOL{Value: w.fired}
	if w.firedBy != "" {
		item[attrFiredBy] = str(w.firedBy)
	}
	item[AttrTTL] = gc
	cond, names, values := versionCondition(w)
	return &types.Put{TableName: aws.String(t.cfg.Name), Item: item, ConditionExpression: cond,
		ExpressionAttributeNames: names, ExpressionAttributeValues: values}
}

func (t *Table) member(pk, sk string, gc types.AttributeValue) types.TransactWriteItem {
	it := key(pk, sk)
	it[AttrTTL] = gc
	return types.TransactWriteItem{Put: &types.Put{TableName: aws.String(t.cfg.Name), Item: it}}
}

// guard bumps the version of a bucket the firing decision read without writing it, so a
// concurrent change to it (its own firing) cancels this transaction. An absent bucket is
// created empty, which a concurrent creation likewise cancels.
func (t *Table) guard(w *bucket, period time.Duration) types.TransactWriteItem {
	gc := t.bucketTTL(w, period)
	if !w.exists {
		it := key(w.pk, skBucket)
		it[attrVersion] = num(1)
		it[AttrTTL] = gc
		cond, names, _ := versionCondition(w)
		return types.TransactWriteItem{Put: &types.Put{TableName: aws.String(t.cfg.Name), Item: it,
			ConditionExpression: cond, ExpressionAttributeNames: names}}
	}
	cond, names, values := versionCondition(w)
	values[":next"] = num(w.version + 1)
	return types.TransactWriteItem{Update: &types.Update{
		TableName: aws.String(t.cfg.Name), Key: key(w.pk, skBucket),
		UpdateExpression:    aws.String("SET #version = :next"),
		ConditionExpression: cond, ExpressionAttributeNames: names, ExpressionAttributeValues: values,
	}}
}

// acked reads whether alert alertID was acknowledged; an alert the table no longer holds
// counts as acknowledged, so expired state never repeats an alert.
func (t *Table) acked(ctx context.Context, alertID string) (bool, error) {
	out, err := t.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(t.cfg.Name), Key: key(alertPK(alertID), skAlert), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return false, err
	}
	return out.Item == nil || getBool(out.Item, attrAcked), nil
}

// Ack implements detect.State with one conditional UpdateItem of the alert's item; an alert
// the table does not hold (never fired, or expired) is left alone.
func (t *Table) Ack(ctx context.Context, alertID string) error {
	_, err := t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(t.cfg.Name),
		Key:                       key(alertPK(alertID), skAlert),
		UpdateExpression:          aws.String("SET #acked = :true"),
		ConditionExpression:       aws.String("attribute_exists(#pk)"),
		ExpressionAttributeNames:  map[string]string{"#acked": attrAcked, "#pk": AttrPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":true": &types.AttributeValueMemberBOOL{Value: true}},
	})
	if err != nil && !conditionFailed(err) {
		return fmt.Errorf("acknowledge alert %s in %s: %w", alertID, t.cfg.Name, err)
	}
	return nil
}

func cloneIDs(ids []string) []string { return append([]string(nil), ids...) }

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// FirstSeen implements detect.State with one conditional update when the key is new or
// forgotten; a known key costs a consistent read of its first sighting's event ID, and one
// more conditional update when this sighting makes it remembered longer. Times compare as
// fixed-width strings.
func (t *Table) FirstSeen(ctx context.Context, k, eventID string, at time.Time, ttl time.Duration) (bool, error) {
	pk := "first#" + keyPart(k)
	until := formatTime(at.Add(ttl))
	gc := ttlAt(later(t.cfg.Now(), at).Add(ttl + stateGrace))
	names := map[string]string{"#pk": AttrPK, "#until": attrUntil2, "#ttl": AttrTTL, "#event": attrEventID}
	_, err := t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(t.cfg.Name),
		Key:                      key(pk, skFirst),
		UpdateExpression:         aws.String("SET #until = :until, #ttl = :ttl, #event = :event"),
		ConditionExpression:      aws.String("attribute_not_exists(#pk) OR #until <= :at"),
		ExpressionAttributeNames: names,
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":until": str(until), ":ttl": gc, ":event": str(eventID), ":at": str(formatTime(at)),
		},
		// DynamoDB returns the known item with the refusal, saving a read.
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err == nil {
		return true, nil
	}
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		return false, fmt.Errorf("first-seen state in %s: %w", t.cfg.Name, err)
	}
	// Known and still remembered. A redelivered first sighting counts as first again.
	known := ccf.Item
	if known == nil {
		// Not every DynamoDB implementation returns the item; read it.
		out, err := t.db.GetItem(ctx, &dynamodb.GetItemInput{
			TableName: aws.String(t.cfg.Name), Key: key(pk, skFirst), ConsistentRead: aws.Bool(true),
		})
		if err != nil {
			return false, fmt.Errorf("first-seen state in %s: %w", t.cfg.Name, err)
		}
		known = out.Item
	}
	first := known != nil && getString(known, attrEventID) == eventID
	if known != nil && getString(known, attrUntil2) >= until {
		return first, nil
	}
	// Remember it longer: this sighting reaches further.
	_, err = t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(t.cfg.Name),
		Key:                       key(pk, skFirst),
		UpdateExpression:          aws.String("SET #until = :until, #ttl = :ttl"),
		ConditionExpression:       aws.String("#until < :until"),
		ExpressionAttributeNames:  map[string]string{"#until": attrUntil2, "#ttl": AttrTTL},
		ExpressionAttributeValues: map[string]types.AttributeValue{":until": str(until), ":ttl": gc},
	})
	if err != nil && !conditionFailed(err) {
		return false, fmt.Errorf("first-seen state in %s: %w", t.cfg.Name, err)
	}
	return first, nil
}

// WatchingSince implements detect.State with a put that only creates the item, and a
// consistent read of it when another detector created it first. The item never expires:
// forgetting it would start a rule's learning again.
func (t *Table) WatchingSince(ctx context.Context, scope string, at time.Time) (time.Time, error) {
	pk := "since#" + keyPart(scope)
	item := key(pk, skSince)
	item[attrSince] = str(formatTime(at))
	_, err := t.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                aws.String(t.cfg.Name),
		Item:                     item,
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": AttrPK},
	})
	if err == nil {
		return at, nil
	}
	if !conditionFailed(err) {
		return time.Time{}, fmt.Errorf("watching-since state in %s: %w", t.cfg.Name, err)
	}
	out, err := t.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(t.cfg.Name), Key: key(pk, skSince), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("watching-since state in %s: %w", t.cfg.Name, err)
	}
	since, err := parseTime(getString(out.Item, attrSince))
	if err != nil {
		return time.Time{}, fmt.Errorf("watching-since state in %s: item %s holds no time: %w", t.cfg.Name, pk, err)
	}
	return since, nil
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
