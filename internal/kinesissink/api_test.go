package kinesissink

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
)

// noAPI satisfies API for tests that never reach the service (encoding, backoff); a call
// fails the test's expectations loudly.
type noAPI struct{}

func (noAPI) PutRecords(context.Context, *kinesis.PutRecordsInput, ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	return nil, errors.New("no service in unit tests")
}
