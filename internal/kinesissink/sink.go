package kinesissink

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/zoomwatch/zoomwatch/internal/event"
)

// Service limits of PutRecords.
const (
	// MaxRecordsPerCall is the most records one PutRecords call may carry.
	MaxRecordsPerCall = 500
	// MaxBytesPerCall is the most data plus partition key bytes one call may carry.
	MaxBytesPerCall = 5 << 20
	// MaxRecordBytes is the most data plus partition key bytes of one record.
	MaxRecordBytes = 1 << 20
)

// API is the part of the Kinesis client the sink uses.
type API interface {
	PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error)
}

// Observer is told about envelopes that had to be shrunk to fit a record. internal/metrics
// implements it.
type Observer interface {
	Truncated(source string, lt event.LogType)
}

// Config configures a Sink.
type Config struct {
	// Stream is the stream's name or ARN.
	Stream string
	// MaxAttempts bounds how often a record a call reported as failed is sent (first send
	// included). Default 5.
	MaxAttempts int
	// BaseBackoff and MaxBackoff bound the full-jitter exponential wait between attempts.
	// Defaults 100ms and 2s.
	BaseBackoff, MaxBackoff time.Duration
	// Observer may be nil.
	Observer Observer
	// Log may be nil.
	Log *slog.Logger
	// Sleep waits between attempts; nil means a timer that stops early when ctx is done.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	var errs []error
	if c.Stream == "" {
		errs = append(errs, errors.New("kinesis sink: stream name or ARN is empty"))
	}
	if c.MaxAttempts < 0 || c.BaseBackoff < 0 || c.MaxBackoff < 0 {
		errs = append(errs, errors.New("kinesis sink: attempts and backoff must not be negative"))
	}
	if c.MaxBackoff > 0 && c.BaseBackoff > c.MaxBackoff {
		errs = append(errs, fmt.Errorf("kinesis sink: base backoff %s exceeds max backoff %s", c.BaseBackoff, c.MaxBackoff))
	}
	return errors.Join(errs...)
}

// Sink is the Kinesis poll.Sink.
type Sink struct {
	api API
	cfg Config
	log *slog.Logger
}

// New returns a Sink that puts records to cfg.Stream through api.
func New(api API, cfg Config) (*Sink, error) {
	if api == nil {
		return nil, errors.New("kinesis sink: nil client")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 5
	}
	if cfg.BaseBackoff == 0 {
		cfg.BaseBackoff = 100 * time.Millisecond
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = 2 * time.Second
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleep
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sink{api: api, cfg: cfg, log: log}, nil
}

// PartialFailureError reports records Kinesis still refused after every attempt.
type PartialFailureError struct {
	Stream string
	// Failed is how many records were not acknowledged.
	Failed int
	// Codes counts the last error code of each failed record
	// (ProvisionedThroughputExceededException, InternalFailure, KMS…).
	Codes map[string]int
	// Attempts is how often each was sent.
	Attempts int
}

// Error names the stream, how many records failed and with which codes.
func (e *PartialFailureError) Error() string {
	codes := make([]string, 0, len(e.Codes))
	for c, n := range e.Codes {
		codes = append(codes, fmt.Sprintf("%s×%d", c, n))
	}
	sort.Strings(codes)
	return fmt.Sprintf("put records to %s: %d records failed after %d attempts (%s)",
		e.Stream, e.Failed, e.Attempts, strings.Join(codes, ", "))
}

// RecordTooLargeError reports an envelope that does not fit one record even with its raw
// record and details removed. Only an actor field of about a megabyte can do that.
type RecordTooLargeError struct {
	EventID string
	Bytes   int
}

// Error names the envelope and its size.
func (e *RecordTooLargeError) Error() string {
	return fmt.Sprintf("envelope %s is %d bytes even when shrunk; a Kinesis record holds %d", e.EventID, e.Bytes, MaxRecordBytes)
}

// record is one envelope ready to send, with its index in the caller's batch.
type record struct {
	idx  int
	key  string
	data []byte
}

func (r record) size() int { return len(r.data) + len(r.key) }

// Put implements poll.Sink. acked[i] is true when Kinesis acknowledged batch[i]. Envelopes
// still failing after MaxAttempts come back false with a *PartialFailureError; a call that
// fails as a whole (after the SDK's own retries) stops Put, and the envelopes not yet
// acknowledged come back false with that error.
func (s *Sink) Put(ctx context.Context, batch []event.Envelope) ([]bool, error) {
	acked := make([]bool, len(batch))
	recs := make([]record, 0, len(batch))
	var errs []error
	for i, env := range batch {
		r, err := s.encode(ctx, i, env)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		recs = append(recs, r)
	}
	for _, call := range chunk(recs) {
		if err := s.putCall(ctx, call, acked); err != nil {
			errs = append(errs, err)
			var pf *PartialFailureError
			if !errors.As(err, &pf) {
				break // the stream is unreachable or missing; later calls would fail the same way
			}
		}
	}
	return acked, errors.Join(errs...)
}

// putCall sends one call's records, then again only those that failed, until all are
// acknowledged or the attempts run out.
func (s *Sink) putCall(ctx context.Context, recs []record, acked []bool) error {
	pending := recs
	var codes map[string]int
	for attempt := 1; ; attempt++ {
		out, err := s.api.PutRecords(ctx, s.input(pending))
		if err != nil {
			return fmt.Errorf("put %d records to %s: %w", len(pending), s.cfg.Stream, err)
		}
		if len(out.Records) != len(pending) {
			return fmt.Errorf("put records to %s: %d results for %d records", s.cfg.Stream, len(out.Records), len(pending))
		}
		var failed []record
		codes = map[string]int{}
		for i, res := range out.Records {
			if res.ErrorCode == nil {
				acked[pending[i].idx] = true
				continue
			}
			failed = append(failed, pending[i])
			codes[aws.ToString(res.ErrorCode)]++
		}
		if len(failed) == 0 {
			return nil
		}
		if attempt >= s.cfg.MaxAttempts {
			return &PartialFailureError{Stream: s.cfg.Stream, Failed: len(failed), Codes: codes, Attempts: attempt}
		}
		s.log.WarnContext(ctx, "kinesis refused some records; retrying them",
			"stream", s.cfg.Stream, "failed", len(failed), "of", len(pending), "attempt", attempt, "codes", codes)
		if err := s.cfg.Sleep(ctx, s.backoff(attempt)); err != nil {
			return fmt.Errorf("put records to %s: %d records not sent: %w", s.cfg.Stream, len(failed), err)
		}
		pending = failed
	}
}

func (s *Sink) input(recs []record) *kinesis.PutRecordsInput {
	in := &kinesis.PutRecordsInput{Records: make([]types.PutRecordsRequestEntry, len(recs))}
	if strings.HasPrefix(s.cfg.Stream, "arn:") {
		in.StreamARN = aws.String(s.cfg.Stream)
	} else {
		in.StreamName = aws.String(s.cfg.Stream)
	}
	for i, r := range recs {
		in.Records[i] = types.PutRecordsRequestEntry{Data: r.data, PartitionKey: aws.String(r.key)}
	}
	return in
}

// backoff is the full-jitter wait before attempt+1.
func (s *Sink) backoff(attempt int) time.Duration {
	d := s.cfg.BaseBackoff << min(attempt-1, 20)
	if d <= 0 || d > s.cfg.MaxBackoff {
		d = s.cfg.MaxBackoff
	}
	return time.Duration(rand.Int64N(int64(d)) + 1)
}

// encode marshals one envelope, shrinking it when it exceeds a record.
func (s *Sink) encode(ctx context.Context, idx int, env event.Envelope) (record, error) {
	key := PartitionKey(env)
	data, err := json.Marshal(env)
	if err != nil {
		return record{}, fmt.Errorf("encode envelope %s: %w", env.ID, err)
	}
	if len(data)+len(key) <= MaxRecordBytes {
		return record{idx: idx, key: key, data: data}, nil
	}
	original := len(data)
	data, err = shrink(env, original, len(key))
	if err != nil {
		return record{}, err
	}
	s.log.WarnContext(ctx, "envelope too large for a Kinesis record; sent without its raw record",
		"event_id", env.ID, "source", env.Source, "log_type", env.LogType, "bytes", original, "sent_bytes", len(data))
	if s.cfg.Observer != nil {
		s.cfg.Observer.Truncated(env.Source, env.LogType)
	}
	return record{idx: idx, key: key, data: data}, nil
}

// truncatedRaw replaces the raw record of an envelope too large for Kinesis. The detector
// decodes it like any raw record; rules keyed on parsed fields still match.
type truncatedRaw struct {
	Truncated     bool `json:"zoomwatch_truncated"`
	OriginalBytes int  `json:"original_envelope_bytes"`
	DetailDropped bool `json:"detail_dropped,omitempty"`
}

// shrink drops the raw record and, if that is not enough, the parsed detail, e-mails and IPs,
// keeping the envelope's identity (id, source, log type, times, actor).
func shrink(env event.Envelope, original, keyLen int) ([]byte, error) {
	marker := truncatedRaw{Truncated: true, OriginalBytes: original}
	env.Raw, _ = json.Marshal(marker)
	data, err := json.Marshal(env)
	if err == nil && len(data)+keyLen <= MaxRecordBytes {
		return data, nil
	}
	marker.DetailDropped = true
	env.Raw, _ = json.Marshal(marker)
	env.Detail, env.Emails, env.IPs = event.Detail{}, nil, nil
	env.Actor = capUTF8(env.Actor, maxActorBytes)
	data, err = json.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("encode envelope %s: %w", env.ID, err)
	}
	if len(data)+keyLen > MaxRecordBytes {
		return nil, &RecordTooLargeError{EventID: env.ID, Bytes: len(data) + keyLen}
	}
	return data, nil
}

// maxActorBytes caps the actor of an envelope whose detail had to go; Zoom's own fields are
// far shorter, so only a malformed record is affected.
const maxActorBytes = 1024

// capUTF8 cuts s to at most n bytes without splitting a UTF-8 sequence.
func capUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// PartitionKey keys an envelope by its source and actor (hashed, 64 characters; Kinesis allows
// 256): every record of one user lands on one shard, in the order the poller read them, and
// the detector reads a shard in order. So per-user state sees each user's events in the order
// they happened and, within a cycle, operation logs before sign-ins: an admin is known as one
// before their sign-ins are judged, and a user's first sighting of an address is the earliest
// read, whatever order the shards are processed in. Users spread over shards like their
// hashes; one user's burst (a mass deletion) is throttled on its shard and retried. An
// envelope without an actor is keyed by its ID, or, without one (never produced by
// event.Normalize), by the hash of its raw record.
func PartitionKey(env event.Envelope) string {
	if env.Actor != "" {
		h := sha256.New()
		h.Write([]byte(env.Source))
		h.Write([]byte{0})
		h.Write([]byte(strings.ToLower(env.Actor)))
		return hex.EncodeToString(h.Sum(nil))
	}
	if env.ID != "" && len(env.ID) <= 256 {
		return env.ID
	}
	sum := sha256.Sum256(env.Raw)
	return hex.EncodeToString(sum[:])
}

// chunk splits records into calls of at most MaxRecordsPerCall records and MaxBytesPerCall
// bytes, keeping their order.
func chunk(recs []record) [][]record {
	var calls [][]record
	start, bytes := 0, 0
	for i, r := range recs {
		if i > start && (i-start == MaxRecordsPerCall || bytes+r.size() > MaxBytesPerCall) {
			calls = append(calls, recs[start:i])
			start, bytes = i, 0
		}
		bytes += r.size()
	}
	if start < len(recs) {
		calls = append(calls, recs[start:])
	}
	return calls
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
