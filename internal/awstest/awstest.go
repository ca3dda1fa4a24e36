package awstest

import (
	"context"
	"net"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

const (
	// EnvEndpoint is where the SDK finds the emulator.
	EnvEndpoint = "AWS_ENDPOINT_URL"
	// EnvEmulator is set to 1 by tools/with-kumo.sh: an emulator was started for these tests,
	// so failing to reach it is an error, not a reason to skip.
	EnvEmulator = "ZOOMWATCH_EMULATOR"

	// SkipMessage is what an integration test says when it skips for want of an emulator.
	SkipMessage = "AWS emulator not running: run make test or tools/with-kumo.sh go test ..."

	defaultRegion = "us-east-1"
	dialTimeout   = 2 * time.Second
)

// Config returns an aws.Config for the emulator at AWS_ENDPOINT_URL. It skips the test when
// no endpoint is set (unless ZOOMWATCH_EMULATOR=1 says one should be) and fails it when the
// endpoint does not accept connections. Credentials and region default to dummies so a
// developer's real AWS profile is never used.
func Config(t testing.TB) aws.Config {
	t.Helper()
	endpoint := os.Getenv(EnvEndpoint)
	if endpoint == "" {
		if os.Getenv(EnvEmulator) == "1" {
			t.Fatalf("%s=1 but %s is not set: start the tests with tools/with-kumo.sh", EnvEmulator, EnvEndpoint)
		}
		t.Skip(SkipMessage)
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		t.Fatalf("%s=%q is not a URL", EnvEndpoint, endpoint)
	}
	conn, err := net.DialTimeout("tcp", u.Host, dialTimeout)
	if err != nil {
		// Both with ZOOMWATCH_EMULATOR=1 and with an endpoint a developer set by hand, an
		// unreachable emulator is a broken set-up, never a pass.
		t.Fatalf("AWS emulator at %s is unreachable: %v", endpoint, err)
	}
	_ = conn.Close()

	region := os.Getenv("AWS_REGION")
	if region == "" {
		region = defaultRegion
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRegion(region),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(accessKey(), "test", "")),
		// The emulator answers at once; long backoffs would only slow a failing test down.
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxBackoff = 50 * time.Millisecond })
		}),
	)
	if err != nil {
		t.Fatalf("load AWS config for the emulator: %v", err)
	}
	cfg.BaseEndpoint = aws.String(endpoint)
	return cfg
}

func accessKey() string {
	if k := os.Getenv("AWS_ACCESS_KEY_ID"); k != "" {
		return k
	}
	return "test"
}

// DynamoDB returns a DynamoDB client for the emulator. Response checksum validation is off
// because the emulator sends no CRC32 header.
func DynamoDB(t testing.TB) *dynamodb.Client {
	t.Helper()
	return dynamodb.NewFromConfig(Config(t), DynamoDBOptions)
}

// DynamoDBOptions are the client options the emulator needs; pass them to
// dynamodb.NewFromConfig when a test builds its own client from Config.
func DynamoDBOptions(o *dynamodb.Options) { o.DisableValidateResponseChecksum = true }

// SecretsManager returns a Secrets Manager client for the emulator.
func SecretsManager(t testing.TB) *secretsmanager.Client {
	t.Helper()
	return secretsmanager.NewFromConfig(Config(t))
}

// Kinesis returns a Kinesis client for the emulator.
func Kinesis(t testing.TB) *kinesis.Client {
	t.Helper()
	return kinesis.NewFromConfig(Config(t))
}

// SNS returns an SNS client for the emulator.
func SNS(t testing.TB) *sns.Client {
	t.Helper()
	return sns.NewFromConfig(Config(t))
}

// SQS returns an SQS client for the emulator.
func SQS(t testing.TB) *sqs.Client {
	t.Helper()
	return sqs.NewFromConfig(Config(t))
}

// SSM returns an SSM client for the emulator.
func SSM(t testing.TB) *ssm.Client {
	t.Helper()
	return ssm.NewFromConfig(Config(t))
}
