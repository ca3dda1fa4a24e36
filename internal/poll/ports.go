package poll

import (
	"context"
	"fmt"
	"time"

	"github.com/zoomwatch/zoomwatch/internal/event"
)

// Key names one polled stream of records: a Zoom source and one of its reports.
type Key struct {
	Source  string        `json:"source"`
	LogType event.LogType `json:"log_type"`
}

// String renders the key as "source/log_type" for logs and storage keys.
func (k Key) String() string { return k.Source + "/" + string(k.LogType) }

// Cursor is the durable progress of one Key.
type Cursor struct {
	// Version is the optimistic-concurrency counter; 0 means never saved.
	Version int64
	// Watermark is the upper bound (clock time) of the last pass that read every window
	// through to the end and had everything acknowledged. Zero means never.
	Watermark time.Time
	// Seen maps the event IDs delivered from records the next passes may read again to the
	// record's time, so re-reading the trailing overlap emits nothing twice.
	Seen map[string]time.Time
}

// Checkpoint is one durable step of progress, applied to a Cursor by CommitCursor.
type Checkpoint struct {
	// Watermark, when not zero, replaces Cursor.Watermark.
	Watermark time.Time
	// Added are event IDs acknowledged by the sink since the last checkpoint, with their
	// record times.
	Added map[string]time.Time
	// Forget, when not zero, allows the store to drop Seen entries whose record time is
	// before it: no later pass reads records that old again.
	Forget time.Time
}

// CursorStore keeps cursors durably. Implementations: local files (internal/local) and the
// DynamoDB state table.
type CursorStore interface {
	// LoadCursor returns the cursor for k, or a zero Cursor if none was saved.
	LoadCursor(ctx context.Context, k Key) (Cursor, error)
	// CommitCursor applies cp if the stored version still equals version and returns the
	// new version. A lost race returns a *ConflictError and changes nothing.
	CommitCursor(ctx context.Context, k Key, version int64, cp Checkpoint) (int64, error)
}

// Sink delivers envelopes downstream (Kinesis, or the local in-memory stream).
type Sink interface {
	// Put delivers batch and reports, per envelope, whether it was acknowledged. Envelopes
	// not acknowledged are not checkpointed and will be read and sent again by a later pass.
	// A non-nil error with a partial acked slice is allowed.
	Put(ctx context.Context, batch []event.Envelope) (acked []bool, err error)
}

// Leaser grants exclusive, expiring leases so one poll cycle (and so one refresh-token
// rotation) runs per source at a time.
type Leaser interface {
	// AcquireLease takes the lease name for owner until now+ttl. If another owner holds an
	// unexpired lease it returns a *LeaseHeldError.
	AcquireLease(ctx context.Context, name, owner string, ttl time.Duration) error
	// ReleaseLease gives up the lease if owner still holds it.
	ReleaseLease(ctx context.Context, name, owner string) error
}

// ConflictError reports that a conditional write lost: someone else changed the cursor.
type ConflictError struct {
	Key     Key
	Version int64
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("cursor %s changed concurrently (expected version %d)", e.Key, e.Version)
}

// LeaseHeldError reports that another owner holds the lease.
type LeaseHeldError struct {
	Name  string
	Owner string
	Until time.Time
}

func (e *LeaseHeldError) Error() string {
	return fmt.Sprintf("lease %s is held by %s until %s", e.Name, e.Owner, e.Until.UTC().Format(time.RFC3339))
}
