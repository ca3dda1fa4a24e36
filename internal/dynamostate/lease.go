package dynamostate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/zoomwatch/zoomwatch/internal/poll"
)

const (
	skLease    = "lease"
	attrOwner  = "owner"
	attrUntil  = "until_ms"
	leaseTries = 3
	// leaseGrace keeps an expired lease item a while for anyone investigating, then TTL
	// removes it.
	leaseGrace = 24 * time.Hour
)

func leasePK(name string) string { return "lease#" + name }

// AcquireLease implements poll.Leaser with one conditional PutItem: it succeeds when no lease
// item exists, the stored one has expired, or owner already holds it (which renews it).
// Otherwise it returns a *poll.LeaseHeldError naming the holder and its expiry.
func (t *Table) AcquireLease(ctx context.Context, name, owner string, ttl time.Duration) error {
	if owner == "" {
		return errors.New("acquire lease: owner is empty")
	}
	if ttl <= 0 {
		return fmt.Errorf("acquire lease %s: ttl %s is not positive", name, ttl)
	}
	for range leaseTries {
		now := t.cfg.Now()
		until := now.Add(ttl)
		item := key(leasePK(name), skLease)
		item[attrOwner] = str(owner)
		item[attrUntil] = num(until.UnixMilli())
		item[AttrTTL] = ttlAt(until.Add(leaseGrace))
		_, err := t.db.PutItem(ctx, &dynamodb.PutItemInput{
			TableName:           aws.String(t.cfg.Name),
			Item:                item,
			ConditionExpression: aws.String("attribute_not_exists(#pk) OR #until <= :now OR #owner = :owner"),
			ExpressionAttributeNames: map[string]string{
				"#pk": AttrPK, "#until": attrUntil, "#owner": attrOwner,
			},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":now": num(now.UnixMilli()), ":owner": str(owner),
			},
			// DynamoDB returns the holder with the refusal, saving a read.
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		})
		if err == nil {
			return nil
		}
		var ccf *types.ConditionalCheckFailedException
		if !errors.As(err, &ccf) {
			return fmt.Errorf("acquire lease %s in %s: %w", name, t.cfg.Name, err)
		}
		holder := ccf.Item
		if holder == nil {
			// Not every DynamoDB implementation returns the item; read it.
			out, err := t.db.GetItem(ctx, &dynamodb.GetItemInput{
				TableName: aws.String(t.cfg.Name), Key: key(leasePK(name), skLease), ConsistentRead: aws.Bool(true),
			})
			if err != nil {
				return fmt.Errorf("read lease %s in %s: %w", name, t.cfg.Name, err)
			}
			holder = out.Item
		}
		if holder == nil {
			continue // released meanwhile: try again
		}
		ms, err := getInt(holder, attrUntil)
		if err != nil {
			return fmt.Errorf("lease %s: %w", name, err)
		}
		heldUntil := time.UnixMilli(ms).UTC()
		if !heldUntil.After(t.cfg.Now()) {
			continue // expired meanwhile: try again
		}
		return &poll.LeaseHeldError{Name: name, Owner: getString(holder, attrOwner), Until: heldUntil}
	}
	return fmt.Errorf("acquire lease %s in %s: it changed hands %d times while trying", name, t.cfg.Name, leaseTries)
}

// ReleaseLease implements poll.Leaser: it deletes the lease only if owner still holds it; a
// lease that expired and was taken over by someone else is left alone.
func (t *Table) ReleaseLease(ctx context.Context, name, owner string) error {
	_, err := t.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 aws.String(t.cfg.Name),
		Key:                       key(leasePK(name), skLease),
		ConditionExpression:       aws.String("#owner = :owner"),
		ExpressionAttributeNames:  map[string]string{"#owner": attrOwner},
		ExpressionAttributeValues: map[string]types.AttributeValue{":owner": str(owner)},
	})
	var ccf *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &ccf) {
		return fmt.Errorf("release lease %s in %s: %w", name, t.cfg.Name, err)
	}
	return nil
}
