package ddbnonce_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/zoomwatch/zoomwatch/internal/awstest"
	"github.com/zoomwatch/zoomwatch/internal/onboard"
	"github.com/zoomwatch/zoomwatch/internal/onboard/ddbnonce"
)

var _ onboard.NonceStore = (*ddbnonce.Store)(nil)

// TestConsume runs against the AWS emulator: a nonce is fresh exactly once, even when many
// instances consume it at the same moment.
func TestConsume(t *testing.T) {
	db := awstest.DynamoDB(t)
	table := awstest.StateTable(t, db)
	s, err := ddbnonce.New(db, table)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	exp := time.Now().Add(10 * time.Minute)
	if fresh, err := s.Consume(ctx, "n1", exp); err != nil || !fresh {
		t.Fatalf("first consume: %v %v", fresh, err)
	}
	if fresh, err := s.Consume(ctx, "n1", exp); err != nil || fresh {
		t.Fatalf("second consume: %v %v", fresh, err)
	}

	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fresh, err := s.Consume(ctx, "race", exp)
			if err != nil {
				t.Error(err)
			}
			if fresh {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Errorf("%d concurrent consumers saw the nonce fresh, want 1", wins.Load())
	}
}

func TestConsumeMissingTable(t *testing.T) {
	db := awstest.DynamoDB(t)
	s, err := ddbnonce.New(db, awstest.Name(t, "absent"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Consume(context.Background(), "n", time.Now()); err == nil {
		t.Fatal("no error from a table that does not exist")
	}
}

func TestNew(t *testing.T) {
	if _, err := ddbnonce.New(nil, "t"); err == nil {
		t.Error("nil client accepted")
	}
	if _, err := ddbnonce.New(&dynamodb.Client{}, ""); err == nil {
		t.Error("empty table accepted")
	}
}
