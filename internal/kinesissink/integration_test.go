package kinesissink_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/zoomwatch/zoomwatch/internal/awstest"
	"github.com/zoomwatch/zoomwatch/internal/event"
	"github.com/zoomwatch/zoomwatch/internal/kinesissink"
)

// envelopes returns n envelopes with distinct ids, as event.Normalize would make them.
func envelopes(t *testing.T, n int) []event.Envelope {
	t.Helper()
	out := make([]event.Envelope, n)
	ingested := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for i := range out {
		raw := fmt.Sprintf(`{"time":"2026-11-25T11:%02d:%02dZ","operator":"admin%d@acme.test","category_type":"Account","action":"Update","operation_detail":"Security  - Require passcode: from On to Off"}`, i/60%60, i%60, i)
		env, err := event.Normalize("acme", event.Operation, json.RawMessage(raw), ingested)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = env
	}
	return out
}

// readStream returns every record of the stream by envelope id.
func readStream(t *testing.T, kin *kinesis.Client, stream string) map[string][]types.Record {
	t.Helper()
	out := map[string][]types.Record{}
	for _, recs := range awstest.ReadStream(t, kin, stream) {
		for _, r := range recs {
			var env event.Envelope
			if err := json.Unmarshal(r.Data, &env); err != nil {
				t.Fatalf("record is not an envelope: %v", err)
			}
			out[env.ID] = append(out[env.ID], r)
		}
	}
	return out
}

// faults rewrites PutRecords calls on their way through the SDK: for the records it is told to
// fail it takes them out of the request before it is sent and puts a failure result in their
// place in the response, so the emulator never stores them — exactly what Kinesis does with a
// throttled record of a partially failed call.
type faults struct {
	mu sync.Mutex
	// fail maps an envelope ID to the error codes of its next sends, one per send.
	fail  map[string][]string
	calls [][]string // envelope IDs of each call, as the sink sent them
}

// envelopeID is the id of the envelope a record carries ("" if it carries none).
func envelopeID(data []byte) string {
	var e struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(data, &e)
	return e.ID
}

func (f *faults) ID() string { return "kinesissinkFaults" }

func (f *faults) HandleInitialize(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	req, ok := in.Parameters.(*kinesis.PutRecordsInput)
	if !ok {
		return next.HandleInitialize(ctx, in)
	}
	f.mu.Lock()
	keys := make([]string, len(req.Records))
	codes := make([]string, len(req.Records))
	var pass []types.PutRecordsRequestEntry
	for i, r := range req.Records {
		keys[i] = envelopeID(r.Data)
		if q := f.fail[keys[i]]; len(q) > 0 {
			codes[i], f.fail[keys[i]] = q[0], q[1:]
			continue
		}
		pass = append(pass, r)
	}
	f.calls = append(f.calls, keys)
	f.mu.Unlock()

	var sent []types.PutRecordsResultEntry
	var md middleware.Metadata
	if len(pass) > 0 {
		cp := *req
		cp.Records = pass
		in.Parameters = &cp
		out, m, err := next.HandleInitialize(ctx, in)
		if err != nil {
			return out, m, err
		}
		md = m
		sent = out.Result.(*kinesis.PutRecordsOutput).Records
	}
	res := &kinesis.PutRecordsOutput{Records: make([]types.PutRecordsResultEntry, len(req.Records))}
	for i := range req.Records {
		if codes[i] != "" {
			res.Records[i] = types.PutRecordsResultEntry{ErrorCode: aws.String(codes[i]), ErrorMessage: aws.String("injected")}
			res.FailedRecordCount = aws.Int32(aws.ToInt32(res.FailedRecordCount) + 1)
			continue
		}
		res.Records[i], sent = sent[0], sent[1:]
	}
	return middleware.InitializeOutput{Result: res}, md, nil
}

func (f *faults) client(t *testing.T) *kinesis.Client {
	return kinesis.NewFromConfig(awstest.Config(t), func(o *kinesis.Options) {
		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
			return s.Initialize.Add(f, middleware.After)
		})
	})
}

func newSink(t *testing.T, api kinesissink.API, stream string, attempts int) *kinesissink.Sink {
	t.Helper()
	s, err := kinesissink.New(api, kinesissink.Config{
		Stream: stream, MaxAttempts: attempts, BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPutDeliversEveryEnvelopeOnce(t *testing.T) {
	t.Parallel()
	f := &faults{}
	kin := f.client(t)
	stream := awstest.Stream(t, kin, 2)
	batch := envelopes(t, 1203)

	acked, err := newSink(t, kin, stream, 3).Put(t.Context(), batch)
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if i := slices.Index(acked, false); i >= 0 || len(acked) != len(batch) {
		t.Fatalf("envelope %d not acknowledged (%d results)", i, len(acked))
	}
	if got := callSizes(f); !slices.Equal(got, []int{500, 500, 203}) {
		t.Errorf("calls of %v records, want [500 500 203]", got)
	}
	got := readStream(t, kin, stream)
	for _, env := range batch {
		recs := got[env.ID]
		if len(recs) != 1 {
			t.Fatalf("envelope %s is in the stream %d times", env.ID, len(recs))
		}
		if key := aws.ToString(recs[0].PartitionKey); key != kinesissink.PartitionKey(env) {
			t.Errorf("partition key %q, want PartitionKey's %q", key, kinesissink.PartitionKey(env))
		}
	}
	if len(got) != len(batch) {
		t.Errorf("stream holds %d envelopes, want %d", len(got), len(batch))
	}
}

func TestPartialFailureRetriesOnlyFailedRecords(t *testing.T) {
	t.Parallel()
	batch := envelopes(t, 10)
	const throttled, internal = "ProvisionedThroughputExceededException", "InternalFailure"
	f := &faults{fail: map[string][]string{
		batch[1].ID: {throttled},
		batch[4].ID: {throttled, internal}, // fails twice
		batch[9].ID: {internal},
	}}
	kin := f.client(t)
	stream := awstest.Stream(t, kin, 1)

	var waits []time.Duration
	sink, err := kinesissink.New(kin, kinesissink.Config{
		Stream: stream, MaxAttempts: 5, BaseBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond,
		Sleep: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	acked, err := sink.Put(t.Context(), batch)
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if slices.Contains(acked, false) {
		t.Fatalf("acked %v, want all true", acked)
	}
	if len(waits) != 2 || waits[0] <= 0 || waits[0] > time.Millisecond || waits[1] <= 0 || waits[1] > 2*time.Millisecond {
		t.Errorf("waits %v, want two full-jitter backoffs within 1ms and 2ms", waits)
	}
	ids := func(is ...int) []string {
		var out []string
		for _, i := range is {
			out = append(out, batch[i].ID)
		}
		return out
	}
	want := [][]string{ids(0, 1, 2, 3, 4, 5, 6, 7, 8, 9), ids(1, 4, 9), ids(4)}
	if len(f.calls) != len(want) {
		t.Fatalf("%d calls, want %d", len(f.calls), len(want))
	}
	for i := range want {
		if !slices.Equal(f.calls[i], want[i]) {
			t.Errorf("call %d sent %d records %v, want %v", i, len(f.calls[i]), short(f.calls[i]), short(want[i]))
		}
	}
	got := readStream(t, kin, stream)
	for _, env := range batch {
		if n := len(got[env.ID]); n != 1 {
			t.Errorf("envelope %s in the stream %d times, want once", env.ID[:8], n)
		}
	}
}

func TestPersistentFailureIsReportedNotAcked(t *testing.T) {
	t.Parallel()
	batch := envelopes(t, 6)
	const throttled = "ProvisionedThroughputExceededException"
	f := &faults{fail: map[string][]string{batch[2].ID: slices.Repeat([]string{throttled}, 10)}}
	kin := f.client(t)
	stream := awstest.Stream(t, kin, 1)

	acked, err := newSink(t, kin, stream, 3).Put(t.Context(), batch)
	var pf *kinesissink.PartialFailureError
	if !errors.As(err, &pf) {
		t.Fatalf("error %v, want a *PartialFailureError", err)
	}
	if pf.Failed != 1 || pf.Attempts != 3 || pf.Codes[throttled] != 1 {
		t.Errorf("partial failure %+v", pf)
	}
	if want := []bool{true, true, false, true, true, true}; !slices.Equal(acked, want) {
		t.Errorf("acked %v, want %v", acked, want)
	}
	if len(f.calls) != 3 {
		t.Errorf("%d calls, want 3 (MaxAttempts)", len(f.calls))
	}
	got := readStream(t, kin, stream)
	if len(got[batch[2].ID]) != 0 || len(got) != 5 {
		t.Errorf("stream holds %d envelopes (failed one %d times), want the 5 acknowledged", len(got), len(got[batch[2].ID]))
	}
}

func TestOversizeEnvelopeIsSentShrunk(t *testing.T) {
	t.Parallel()
	kin := awstest.Kinesis(t)
	stream := awstest.Stream(t, kin, 1)
	batch := envelopes(t, 3)
	batch[1].Raw = json.RawMessage(`{"operation_detail":"` + strings.Repeat("x", 1<<20) + `"}`)

	acked, err := newSink(t, kin, stream, 3).Put(t.Context(), batch)
	if err != nil || slices.Contains(acked, false) {
		t.Fatalf("Put = %v, %v; want all acknowledged", acked, err)
	}
	got := readStream(t, kin, stream)
	recs := got[batch[1].ID]
	if len(recs) != 1 {
		t.Fatalf("oversize envelope in the stream %d times", len(recs))
	}
	var env event.Envelope
	_ = json.Unmarshal(recs[0].Data, &env)
	if !strings.Contains(string(env.Raw), `"zoomwatch_truncated":true`) || env.Detail.Setting != batch[1].Detail.Setting {
		t.Errorf("shrunk envelope raw %s, detail %+v", env.Raw, env.Detail)
	}
}

func TestStreamByARN(t *testing.T) {
	t.Parallel()
	kin := awstest.Kinesis(t)
	stream := awstest.Stream(t, kin, 1)
	sum, err := kin.DescribeStreamSummary(t.Context(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(sum.StreamDescriptionSummary.StreamARN)
	batch := envelopes(t, 3)
	acked, err := newSink(t, kin, arn, 3).Put(t.Context(), batch)
	if err != nil || slices.Contains(acked, false) {
		t.Fatalf("Put to %s = %v, %v", arn, acked, err)
	}
	if got := readStream(t, kin, stream); len(got) != 3 {
		t.Errorf("stream holds %d envelopes, want 3", len(got))
	}
}

func TestMissingStreamFailsWholeBatch(t *testing.T) {
	t.Parallel()
	kin := awstest.Kinesis(t)
	batch := envelopes(t, 4)
	acked, err := newSink(t, kin, awstest.Name(t, "missing"), 3).Put(t.Context(), batch)
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("error %v, want ResourceNotFoundException", err)
	}
	if slices.Contains(acked, true) || len(acked) != len(batch) {
		t.Errorf("acked %v, want all false", acked)
	}
}

func callSizes(f *faults) []int {
	var out []int
	for _, c := range f.calls {
		out = append(out, len(c))
	}
	return out
}

func short(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id[:8]
	}
	return out
}
