package awstest

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// ReadStream returns every record of every shard of stream, per shard in sequence order,
// keyed by shard ID.
func ReadStream(t testing.TB, kin *kinesis.Client, stream string) map[string][]types.Record {
	t.Helper()
	c := ctx(t)
	shards, err := kin.ListShards(c, &kinesis.ListShardsInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatalf("list shards of %s: %v", stream, err)
	}
	out := map[string][]types.Record{}
	for _, sh := range shards.Shards {
		// The emulator honours a shard iterator once; if the SDK retried a GetRecords call
		// (a dropped connection on a loaded machine) the retry is refused. Read the shard
		// again from the start in that case.
		var recs []types.Record
		for attempt := 1; ; attempt++ {
			recs, err = readShard(c, kin, stream, aws.ToString(sh.ShardId))
			if err == nil || attempt == 10 {
				break
			}
		}
		if err != nil {
			t.Fatalf("read shard %s of %s: %v", aws.ToString(sh.ShardId), stream, err)
		}
		out[aws.ToString(sh.ShardId)] = recs
	}
	return out
}

func readShard(ctx context.Context, kin *kinesis.Client, stream, shard string) ([]types.Record, error) {
	it, err := kin.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
		StreamName: aws.String(stream), ShardId: aws.String(shard), ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
	})
	if err != nil {
		return nil, fmt.Errorf("shard iterator: %w", err)
	}
	var out []types.Record
	iter := it.ShardIterator
	for iter != nil {
		page, err := kin.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(500)})
		if err != nil {
			return nil, fmt.Errorf("get records: %w", err)
		}
		out = append(out, page.Records...)
		if len(page.Records) == 0 {
			break // caught up: everything put before the read has been returned
		}
		iter = page.NextShardIterator
	}
	return out, nil
}
