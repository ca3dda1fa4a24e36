package ddbnonce

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Key layout on the state table (DESIGN.md: one table, string keys pk and sk, TTL on ttl).
const (
	pkPrefix = "oauth-state#"
	skNonce  = "nonce"
	attrPK   = "pk"
	attrSK   = "sk"
	attrTTL  = "ttl"
)

// ttlMargin keeps an item a little past its state's expiry, so clock skew between instances
// cannot free a nonce that another instance still accepts.
const ttlMargin = 10 * time.Minute

// API is the part of the DynamoDB client the store uses; *dynamodb.Client implements it.
type API interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
}

// Store is an onboard.NonceStore on the state table.
type Store struct {
	db    API
	table string
}

// New returns the store on table through db.
func New(db API, table string) (*Store, error) {
	if db == nil {
		return nil, errors.New("ddbnonce: DynamoDB client is nil")
	}
	if table == "" {
		return nil, errors.New("ddbnonce: table name is missing")
	}
	return &Store{db: db, table: table}, nil
}

// Consume records nonce and reports whether it was fresh. Only the first of any number of
// concurrent calls with one nonce gets true.
func (s *Store) Consume(ctx context.Context, nonce string, expiry time.Time) (bool, error) {
	if nonce == "" {
		return false, errors.New("ddbnonce: empty nonce")
	}
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.table),
		Item: map[string]types.AttributeValue{
			attrPK:  &types.AttributeValueMemberS{Value: pkPrefix + nonce},
			attrSK:  &types.AttributeValueMemberS{Value: skNonce},
			attrTTL: &types.AttributeValueMemberN{Value: strconv.FormatInt(expiry.Add(ttlMargin).Unix(), 10)},
		},
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": attrPK},
	})
	var ccf *types.ConditionalCheckFailedException
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &ccf):
		return false, nil
	}
	return false, fmt.Errorf("consume oauth state nonce in table %s: %w", s.table, err)
}
