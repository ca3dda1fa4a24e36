package awstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	kintypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/zoomwatch/zoomwatch/internal/statetable"
)

const (
	// Waiters poll the emulator, which is ready almost at once: short delays keep tests fast.
	waitMinDelay = 20 * time.Millisecond
	waitMaxDelay = 200 * time.Millisecond
	waitTimeout  = 30 * time.Second
	opTimeout    = 30 * time.Second
)

// Name returns a name unique to this test run, usable as a DynamoDB table, Secrets Manager
// secret, Kinesis stream, SNS topic or SQS queue name: prefix, the test's name reduced to
// letters, digits and dashes, and a random suffix (at most 80 characters, the SQS limit).
func Name(t testing.TB, prefix string) string {
	t.Helper()
	var b strings.Builder
	for _, r := range t.Name() {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	test := b.String()
	if len(test) > 40 {
		test = test[len(test)-40:]
	}
	var rnd [4]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		t.Fatalf("random name suffix: %v", err)
	}
	name := strings.Trim(prefix+"-"+test, "-") + "-" + hex.EncodeToString(rnd[:])
	if len(name) > 80 {
		name = name[len(name)-80:]
	}
	return strings.TrimLeft(name, "-")
}

// ctx returns a context for one call that outlives the test's own (cleanups run after
// t.Context is cancelled).
func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), opTimeout)
	t.Cleanup(cancel)
	return c
}

// Table creates the DynamoDB table described by in, named uniquely when in.TableName is nil,
// waits until it is active, and deletes it when the test ends. It returns the table name.
func Table(t testing.TB, db *dynamodb.Client, in *dynamodb.CreateTableInput) string {
	t.Helper()
	if in.TableName == nil {
		in.TableName = aws.String(Name(t, "tbl"))
	}
	if in.BillingMode == "" {
		in.BillingMode = dbtypes.BillingModePayPerRequest
	}
	name := *in.TableName
	c := ctx(t)
	if _, err := db.CreateTable(c, in); err != nil {
		t.Fatalf("create table %s: %v", name, err)
	}
	t.Cleanup(func() {
		_, err := db.DeleteTable(ctx(t), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
		var nf *dbtypes.ResourceNotFoundException
		if err != nil && !errors.As(err, &nf) {
			t.Errorf("delete table %s: %v", name, err)
		}
	})
	w := dynamodb.NewTableExistsWaiter(db, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = waitMinDelay, waitMaxDelay
	})
	if err := w.Wait(c, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, waitTimeout); err != nil {
		t.Fatalf("wait for table %s: %v", name, err)
	}
	return name
}

// StateTable creates a table shaped like the state table the stack deploys (statetable) and
// returns its name.
func StateTable(t testing.TB, db *dynamodb.Client) string {
	t.Helper()
	name := Table(t, db, statetable.CreateTableInput(Name(t, "state")))
	_, err := db.UpdateTimeToLive(ctx(t), statetable.TTLInput(name))
	if err != nil {
		t.Fatalf("enable TTL on table %s: %v", name, err)
	}
	return name
}

// Secret creates a Secrets Manager secret holding value and force-deletes it when the test
// ends. It returns the secret's ARN.
func Secret(t testing.TB, sm *secretsmanager.Client, value string) string {
	t.Helper()
	name := Name(t, "secret")
	out, err := sm.CreateSecret(ctx(t), &secretsmanager.CreateSecretInput{
		Name:         aws.String(name),
		SecretString: aws.String(value),
	})
	if err != nil {
		t.Fatalf("create secret %s: %v", name, err)
	}
	arn := aws.ToString(out.ARN)
	t.Cleanup(func() {
		_, err := sm.DeleteSecret(ctx(t), &secretsmanager.DeleteSecretInput{
			SecretId: aws.String(arn), ForceDeleteWithoutRecovery: aws.Bool(true),
		})
		var nf *smtypes.ResourceNotFoundException
		if err != nil && !errors.As(err, &nf) {
			t.Errorf("delete secret %s: %v", name, err)
		}
	})
	return arn
}

// Stream creates a provisioned Kinesis stream with shards shards, waits until it is active,
// and deletes it when the test ends. It returns the stream name.
func Stream(t testing.TB, kin *kinesis.Client, shards int32) string {
	t.Helper()
	name := Name(t, "stream")
	c := ctx(t)
	_, err := kin.CreateStream(c, &kinesis.CreateStreamInput{
		StreamName:        aws.String(name),
		ShardCount:        aws.Int32(shards),
		StreamModeDetails: &kintypes.StreamModeDetails{StreamMode: kintypes.StreamModeProvisioned},
	})
	if err != nil {
		t.Fatalf("create stream %s: %v", name, err)
	}
	t.Cleanup(func() {
		_, err := kin.DeleteStream(ctx(t), &kinesis.DeleteStreamInput{
			StreamName: aws.String(name), EnforceConsumerDeletion: aws.Bool(true),
		})
		var nf *kintypes.ResourceNotFoundException
		if err != nil && !errors.As(err, &nf) {
			t.Errorf("delete stream %s: %v", name, err)
		}
	})
	w := kinesis.NewStreamExistsWaiter(kin, func(o *kinesis.StreamExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = waitMinDelay, waitMaxDelay
	})
	if err := w.Wait(c, &kinesis.DescribeStreamInput{StreamName: aws.String(name)}, waitTimeout); err != nil {
		t.Fatalf("wait for stream %s: %v", name, err)
	}
	return name
}

// Topic creates an SNS topic and deletes it when the test ends. It returns the topic ARN.
func Topic(t testing.TB, sn *sns.Client) string {
	t.Helper()
	name := Name(t, "topic")
	out, err := sn.CreateTopic(ctx(t), &sns.CreateTopicInput{Name: aws.String(name)})
	if err != nil {
		t.Fatalf("create topic %s: %v", name, err)
	}
	arn := aws.ToString(out.TopicArn)
	t.Cleanup(func() {
		if _, err := sn.DeleteTopic(ctx(t), &sns.DeleteTopicInput{TopicArn: aws.String(arn)}); err != nil {
			t.Errorf("delete topic %s: %v", name, err)
		}
	})
	return arn
}

// Queue creates an SQS queue and deletes it when the test ends. It returns the queue URL and
// ARN (the ARN is what an SNS subscription or a Lambda destination names).
func Queue(t testing.TB, q *sqs.Client) (queueURL, arn string) {
	t.Helper()
	name := Name(t, "queue")
	c := ctx(t)
	out, err := q.CreateQueue(c, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatalf("create queue %s: %v", name, err)
	}
	queueURL = aws.ToString(out.QueueUrl)
	t.Cleanup(func() {
		_, err := q.DeleteQueue(ctx(t), &sqs.DeleteQueueInput{QueueUrl: aws.String(queueURL)})
		var nf *sqstypes.QueueDoesNotExist
		if err != nil && !errors.As(err, &nf) {
			t.Errorf("delete queue %s: %v", name, err)
		}
	})
	attrs, err := q.GetQueueAttributes(c, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(queueURL),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		t.Fatalf("get ARN of queue %s: %v", name, err)
	}
	arn = attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]
	if arn == "" {
		t.Fatalf("queue %s has no QueueArn attribute", name)
	}
	return queueURL, arn
}
