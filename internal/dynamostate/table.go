package dynamostate

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/zoomwatch/zoomwatch/internal/detect"
	"github.com/zoomwatch/zoomwatch/internal/poll"
	"github.com/zoomwatch/zoomwatch/internal/statetable"
)

// API is the part of the DynamoDB client the state table uses; *dynamodb.Client implements it.
type API interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	UpdateTimeToLive(ctx context.Context, in *dynamodb.UpdateTimeToLiveInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error)
}

// Attribute names of the table's key and TTL, as the stack creates it.
const (
	AttrPK  = statetable.PK
	AttrSK  = statetable.SK
	AttrTTL = statetable.TTL
)

// DefaultSeenRetention is how long a dedupe entry outlives its last write before TTL removes it.
const DefaultSeenRetention = 30 * 24 * time.Hour

// Config configures a Table.
type Config struct {
	// Name is the DynamoDB table (STATE_TABLE).
	Name string
	// Now is the clock for lease expiry and TTLs; time.Now when nil.
	Now func() time.Time
	// SeenRetention is how long a cursor's dedupe entry is kept after it was written, whether
	// or not a checkpoint forgot it (forgotten entries are never read again; TTL removes them
	// without a write). DefaultSeenRetention when zero. It must exceed the longest time a
	// source may go unpolled, or the overlap read after such an outage may emit again.
	SeenRetention time.Duration
}

// Validate reports a missing or invalid setting.
func (c Config) Validate() error {
	if c.Name == "" {
		return errors.New("dynamostate: table name is missing")
	}
	if c.SeenRetention < 0 {
		return fmt.Errorf("dynamostate: seen retention %s is negative", c.SeenRetention)
	}
	return nil
}

// Table is the state table: cursors and their dedupe memory (poll.CursorStore), leases
// (poll.Leaser), and the detector's grouping state (detect.State). It is safe for concurrent
// use; every correctness-guarding write is conditional.
type Table struct {
	db  API
	cfg Config
}

// New returns the state table name through db.
func New(db API, cfg Config) (*Table, error) {
	if db == nil {
		return nil, errors.New("dynamostate: DynamoDB client is nil")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SeenRetention == 0 {
		cfg.SeenRetention = DefaultSeenRetention
	}
	return &Table{db: db, cfg: cfg}, nil
}

// Name returns the table name.
func (t *Table) Name() string { return t.cfg.Name }

// CreateTable creates the table as the stack does (pk and sk string keys, on-demand billing,
// TTL on the number attribute ttl), waits until it is active, and turns TTL on. A table that
// already exists is accepted. The deployed stack creates the table itself; this is for tests
// and local end-to-end runs against an emulator.
func (t *Table) CreateTable(ctx context.Context) error {
	_, err := t.db.CreateTable(ctx, statetable.CreateTableInput(t.cfg.Name))
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("create table %s: %w", t.cfg.Name, err)
	}
	w := dynamodb.NewTableExistsWaiter(t.db, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, 2*time.Second
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(t.cfg.Name)}, 2*time.Minute); err != nil {
		return fmt.Errorf("wait for table %s: %w", t.cfg.Name, err)
	}
	_, err = t.db.UpdateTimeToLive(ctx, statetable.TTLInput(t.cfg.Name))
	// Enabling TTL twice is refused with a ValidationException; it is already on then.
	var ve interface{ ErrorCode() string }
	if err != nil && !(errors.As(err, &ve) && ve.ErrorCode() == "ValidationException") {
		return fmt.Errorf("enable TTL on table %s: %w", t.cfg.Name, err)
	}
	return nil
}

// key returns the primary key of an item.
func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{AttrPK: str(pk), AttrSK: str(sk)}
}

func str(s string) *types.AttributeValueMemberS { return &types.AttributeValueMemberS{Value: s} }

func num(n int64) *types.AttributeValueMemberN {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

// ttlAt renders t as the epoch seconds DynamoDB TTL expects.
func ttlAt(t time.Time) *types.AttributeValueMemberN { return num(t.Unix()) }

func getString(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func getInt(item map[string]types.AttributeValue, name string) (int64, error) {
	v, ok := item[name]
	if !ok {
		return 0, nil
	}
	n, ok := v.(*types.AttributeValueMemberN)
	if !ok {
		return 0, fmt.Errorf("attribute %s is not a number", name)
	}
	i, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("attribute %s: %w", name, err)
	}
	return i, nil
}

// timeFormat renders times at a fixed width so that their strings sort as the times do (sort
// keys are compared as strings).
const timeFormat = "2006-01-02T15:04:05.000000000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeFormat) }

func parseTime(s string) (time.Time, error) { return time.Parse(timeFormat, s) }

// conditionFailed reports whether err is a lost condition: a ConditionalCheckFailedException,
// or a cancelled transaction one of whose conditions failed or which collided with another.
func conditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return true
	}
	var tc *types.TransactionCanceledException
	if !errors.As(err, &tc) {
		return false
	}
	for _, r := range tc.CancellationReasons {
		switch aws.ToString(r.Code) {
		case "ConditionalCheckFailed", "TransactionConflict":
			return true
		}
	}
	return false
}

// The table serves all three consumers.
var (
	_ poll.CursorStore = (*Table)(nil)
	_ poll.Leaser      = (*Table)(nil)
	_ detect.State     = (*Table)(nil)
)
