// Package statetable describes zoomwatch's DynamoDB state table as the stack creates it:
// string keys pk and sk, on-demand billing, TTL on the number attribute ttl. The state store
// (internal/dynamostate) and the integration tests' fixtures (internal/awstest) both create
// their tables from here, so neither drifts from the other; infra/stack.go declares the same
// table in CDK and its assertion test pins the attributes.
package statetable

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Attribute names of the table's key and TTL.
const (
	PK  = "pk"
	SK  = "sk"
	TTL = "ttl"
)

// CreateTableInput is the request that creates the table name.
func CreateTableInput(name string) *dynamodb.CreateTableInput {
	return &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(PK), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(SK), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(PK), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(SK), KeyType: types.KeyTypeRange},
		},
	}
}

// TTLInput is the request that turns TTL on for the table name, once it is active.
func TTLInput(name string) *dynamodb.UpdateTimeToLiveInput {
	return &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(TTL), Enabled: aws.Bool(true),
		},
	}
}
