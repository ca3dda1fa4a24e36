package awstest_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/zoomwatch/zoomwatch/internal/awstest"
)

// TestConditionalWriteConflict proves the harness end to end: a real SDK client reaches the
// emulator, a table is created, and a conditional write that loses its condition fails with
// the service's typed ConditionalCheckFailedException (what every adapter's conflict handling
// relies on).
func TestConditionalWriteConflict(t *testing.T) {
	t.Parallel()
	db := awstest.DynamoDB(t)
	table := awstest.StateTable(t, db)
	ctx := t.Context()

	put := func(version string) error {
		_, err := db.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: aws.String(table),
			Item: map[string]types.AttributeValue{
				"pk":      &types.AttributeValueMemberS{Value: "probe"},
				"sk":      &types.AttributeValueMemberS{Value: "probe"},
				"version": &types.AttributeValueMemberN{Value: version},
			},
			ConditionExpression: aws.String("attribute_not_exists(pk)"),
		})
		return err
	}
	if err := put("1"); err != nil {
		t.Fatalf("first conditional put: %v", err)
	}
	err := put("2")
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		t.Fatalf("second conditional put: got %v, want ConditionalCheckFailedException", err)
	}
	out, err := db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(table),
		Key:            map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "probe"}, "sk": &types.AttributeValueMemberS{Value: "probe"}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("get item: %v", err)
	}
	if v, ok := out.Item["version"].(*types.AttributeValueMemberN); !ok || v.Value != "1" {
		t.Fatalf("item after the failed write: version %v, want 1 (the losing write must change nothing)", out.Item["version"])
	}
}

func TestName(t *testing.T) {
	t.Parallel()
	valid := regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{2,79}$`)
	tests := []struct{ prefix string }{{"tbl"}, {""}, {strings.Repeat("p", 100)}}
	for _, tt := range tests {
		a, b := awstest.Name(t, tt.prefix), awstest.Name(t, tt.prefix)
		if !valid.MatchString(a) {
			t.Errorf("Name(%q) = %q: not a valid table, stream, topic and queue name", tt.prefix, a)
		}
		if a == b {
			t.Errorf("Name(%q) returned %q twice", tt.prefix, a)
		}
	}
}
