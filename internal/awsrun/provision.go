package awsrun

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	kintypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/zoomwatch/zoomwatch/internal/dynamostate"
	"github.com/zoomwatch/zoomwatch/internal/pipeline"
)

// Provision creates, in an AWS emulator, what the stack creates in AWS for one stage and one
// source — state table, stream, alerts and ops topics, the source's secret holding secret — and
// returns the functions' environment for it. Existing resources are reused, so running it again
// is harmless. It is for local invocation and tests; deployments use the CDK stack.
func Provision(ctx context.Context, c Clients, stage string, source pipeline.Source, secret string) (pipeline.Env, error) {
	name := "zoomwatch-" + stage
	table, err := dynamostate.New(c.DynamoDB, dynamostate.Config{Name: name + "-state"})
	if err != nil {
		return pipeline.Env{}, err
	}
	if err := table.CreateTable(ctx); err != nil {
		return pipeline.Env{}, fmt.Errorf("create state table: %w", err)
	}
	stream := name + "-events"
	// Two shards, so one group's records interleave out of order as they do in AWS.
	if _, err := c.Kinesis.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(stream), ShardCount: aws.Int32(2)}); err != nil {
		var exists *kintypes.ResourceInUseException
		if !errors.As(err, &exists) {
			return pipeline.Env{}, fmt.Errorf("create stream %s: %w", stream, err)
		}
	}
	w := kinesis.NewStreamExistsWaiter(c.Kinesis, func(o *kinesis.StreamExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 500*time.Millisecond
	})
	if err := w.Wait(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String(stream)}, time.Minute); err != nil {
		return pipeline.Env{}, fmt.Errorf("wait for stream %s: %w", stream, err)
	}
	topic := func(suffix string) (string, error) {
		// CreateTopic is idempotent for an existing name.
		out, err := c.SNS.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name + "-" + suffix)})
		if err != nil {
			return "", fmt.Errorf("create topic %s: %w", suffix, err)
		}
		return aws.ToString(out.TopicArn), nil
	}
	alerts, err := topic("alerts")
	if err != nil {
		return pipeline.Env{}, err
	}
	ops, err := topic("ops")
	if err != nil {
		return pipeline.Env{}, err
	}
	secretID := "zoomwatch/" + stage + "/source/" + source.ID
	if _, err := c.SecretsManager.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(secretID), SecretString: aws.String(secret)}); err != nil {
		var exists *smtypes.ResourceExistsException
		if !errors.As(err, &exists) {
			return pipeline.Env{}, fmt.Errorf("create secret %s: %w", secretID, err)
		}
		if _, err := c.SecretsManager.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(secretID), SecretString: aws.String(secret)}); err != nil {
			return pipeline.Env{}, fmt.Errorf("update secret %s: %w", secretID, err)
		}
	}
	source.SecretID = secretID
	return pipeline.Env{
		Stage: stage, StateTable: table.Name(), SSMPrefix: "/zoomwatch/" + stage + "/", MetricsNamespace: "zoomwatch",
		StreamName: stream, AlertsTopicARN: alerts, OpsTopicARN: ops, Sources: []pipeline.Source{source},
	}, nil
}
