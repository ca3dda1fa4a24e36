package poll_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/zoomwatch/zoomwatch/internal/event"
	"github.com/zoomwatch/zoomwatch/internal/local"
	"github.com/zoomwatch/zoomwatch/internal/poll"
	"github.com/zoomwatch/zoomwatch/internal/zoom"
)

// record is one scripted Zoom record: served once the clock passes visible.
type record struct {
	at, visible time.Time
	raw         json.RawMessage
}

// scripted is a Reporter serving records by day window, newest first, in pages of two, and
// optionally restarting every window once from page 1 (as an expired page token does).
type scripted struct {
	now      func() time.Time
	records  map[event.LogType][]record
	restart  bool
	requests []zoom.Window
}

func (s *scripted) Pages(ctx context.Context, lt event.LogType, from, to time.Time, fn func([]json.RawMessage) error) error {
	s.requests = append(s.requests, zoom.Window{From: from, To: to})
	var in []record
	for _, r := range s.records[lt] {
		if !r.at.Before(from) && r.at.Before(to.Add(24*time.Hour)) && !r.visible.After(s.now()) {
			in = append(in, r)
		}
	}
	sort.SliceStable(in, func(i, j int) bool { return in[i].at.After(in[j].at) })
	restarted := !s.restart
	for i := 0; i < len(in); i += 2 {
		page := []json.RawMessage{in[i].raw}
		if i+1 < len(in) {
			page = append(page, in[i+1].raw)
		}
		if err := fn(page); err != nil {
			return err
		}
		if !restarted && i+2 < len(in) {
			restarted = true
			i = -2
		}
	}
	return nil
}

func op(t time.Time, detail string) record {
	raw := fmt.Sprintf(`{"time":%q,"operator":"admin@springfield.example","category_type":"Account","action":"Update","operation_detail":%q}`, t.Format(time.RFC3339), detail)
	return record{at: t, visible: t, raw: json.RawMessage(raw)}
}

// collectingSink acknowledges everything except the envelopes whose index it is told to fail.
type collectingSink struct {
	got      []event.Envelope
	failNext int
}

func (c *collectingSink) Put(_ context.Context, batch []event.Envelope) ([]bool, error) {
	acked := make([]bool, len(batch))
	var err error
	for i := range batch {
		if c.failNext > 0 && i%2 == 1 {
			c.failNext--
			err = errors.New("ProvisionedThroughputExceededException")
			continue
		}
		acked[i] = true
		c.got = append(c.got, batch[i])
	}
	return acked, err
}

type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

func newPoller(t *testing.T, clk *clock, sink poll.Sink, batch int) (*poll.Poller, *local.Cursors) {
	t.Helper()
	store, err := local.NewCursors(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p, err := poll.New(poll.Config{Now: clk.Now, BatchSize: batch, Overlap: 6 * time.Hour}, store, sink, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p, store
}

func ids(envs []event.Envelope) map[string]int {
	m := map[string]int{}
	for _, e := range envs {
		m[e.ID]++
	}
	return m
}

func TestCycleNoLossNoDuplicates(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	clk := &clock{t: now}
	same := now.Add(-2 * time.Hour)
	late := op(now.Add(-3*time.Hour), "Security  - Late record: from On to Off")
	late.visible = now.Add(30 * time.Minute) // published after the first cycle
	rep := &scripted{now: clk.Now, restart: true, records: map[event.LogType][]record{event.Operation: {
		op(now.Add(-10*24*time.Hour), "too old for the first backfill"),
		op(now.Add(-6*24*time.Hour), "Security  - A: from On to Off"),
		op(now.Add(-30*time.Hour), "Security  - B: from On to Off"),
		op(same, "Security  - same second one: from On to Off"),
		op(same, "Security  - same second two: from On to Off"),
		op(same, "Security  - same second three: from On to Off"),
		late,
	}}}
	sink := &collectingSink{}
	p, _ := newPoller(t, clk, sink, 2)

	sum, err := p.Cycle(context.Background(), "main", poll.Static(rep), event.Operation)
	if err != nil {
		t.Fatalf("first cycle: %v", err)
	}
	if got := sum.Delivered(); got != 5 {
		t.Errorf("first cycle delivered %d, want 5 (7-day backfill, three same-second records)", got)
	}
	if !sum.Results[0].CaughtUp {
		t.Error("first cycle did not catch up")
	}
	if sum.Results[0].Duplicates == 0 {
		t.Error("page restarts produced no skipped duplicates; the restart path is untested")
	}

	// Second cycle an hour later: the late record is now visible inside the overlap.
	clk.t = now.Add(time.Hour)
	sum, err = p.Cycle(context.Background(), "main", poll.Static(rep), event.Operation)
	if err != nil {
		t.Fatalf("second cycle: %v", err)
	}
	if got := sum.Delivered(); got != 1 {
		t.Errorf("second cycle delivered %d, want only the late record", got)
	}
	// Third cycle: nothing new.
	clk.t = now.Add(2 * time.Hour)
	if sum, _ = p.Cycle(context.Background(), "main", poll.Static(rep), event.Operation); sum.Delivered() != 0 {
		t.Errorf("third cycle delivered %d, want 0", sum.Delivered())
	}
	for id, n := range ids(sink.got) {
		if n != 1 {
			t.Errorf("event %s delivered %d times", id, n)
		}
	}
	if len(sink.got) != 6 {
		t.Errorf("delivered %d events in all, want 6", len(sink.got))
	}
}

func TestCyclePartialSinkFailureRedeliversOnlyUnacked(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	clk := &clock{t: now}
	var recs []record
	for i := range 9 {
		recs = append(recs, op(now.Add(-time.Duration(i+1)*time.Hour), fmt.Sprintf("Security  - S%d: from On to Off", i)))
	}
	rep := &scripted{now: clk.Now, records: map[event.LogType][]record{event.Operation: recs}}
	sink := &collectingSink{failNext: 1}
	p, _ := newPoller(t, clk, sink, 4)

	sum, err := p.Cycle(context.Background(), "main", poll.Static(rep), event.Operation)
	var inc *poll.IncompleteError
	if !errors.As(err, &inc) || inc.Unacked != 1 {
		t.Fatalf("first cycle error = %v, want IncompleteError with 1 unacked", err)
	}
	if sum.Results[0].CaughtUp {
		t.Error("a pass with an unacknowledged envelope claimed to be caught up")
	}
	if _, err := p.Cycle(context.Background(), "main", poll.Static(rep), event.Operation); err != nil {
		t.Fatalf("second cycle: %v", err)
	}
	got := ids(sink.got)
	if len(got) != 9 {
		t.Errorf("%d distinct events delivered, want 9", len(got))
	}
	for id, n := range got {
		if n != 1 {
			t.Errorf("event %s delivered %d times", id, n)
		}
	}
}

func TestCycleSplitsLongBackfillIntoDayWindows(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	clk := &clock{t: now}
	rep := &scripted{now: clk.Now, records: map[event.LogType][]record{}}
	store, _ := local.NewCursors(t.TempDir())
	p, err := poll.New(poll.Config{Now: clk.Now, FirstBackfill: 90 * 24 * time.Hour}, store, &collectingSink{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Cycle(context.Background(), "main", poll.Static(rep), event.Activity); err != nil {
		t.Fatal(err)
	}
	if len(rep.requests) != 91 {
		t.Fatalf("90-day backfill used %d windows, want 91 (one per day, today included): %v", len(rep.requests), rep.requests)
	}
	for i, w := range rep.requests {
		if days := int(w.To.Sub(w.From).Hours()/24) + 1; days != 1 {
			t.Errorf("window %d spans %d days", i, days)
		}
		if i > 0 && !w.From.Equal(rep.requests[i-1].To.Add(24*time.Hour)) {
			t.Errorf("gap or overlap between windows %d and %d", i-1, i)
		}
	}
	if last := rep.requests[len(rep.requests)-1].To; !last.Equal(time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("last window ends %s, want today", last)
	}
}

// budget is a deadline that comes near after n checks.
type budget struct{ n int }

func (b *budget) remaining(context.Context) (time.Duration, bool) {
	if b.n > 0 {
		b.n--
		return time.Hour, true
	}
	return time.Second, true
}

func TestCycleStopsBeforeDeadlineAndResumes(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	clk := &clock{t: now}
	var recs []record
	for i := range 6 {
		recs = append(recs, op(now.Add(-time.Duration(i+1)*time.Hour), fmt.Sprintf("Security  - S%d: from On to Off", i)))
	}
	rep := &scripted{now: clk.Now, records: map[event.LogType][]record{event.Operation: recs}}
	sink := &collectingSink{}
	store, _ := local.NewCursors(t.TempDir())
	// The deadline comes near after the check before today's window: the first page is
	// taken, the second is not.
	p, err := poll.New(poll.Config{Now: clk.Now, BatchSize: 100, FirstBackfill: time.Hour, Remaining: (&budget{n: 1}).remaining}, store, sink, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Cycle(context.Background(), "main", poll.Static(rep), event.Operation)
	if !errors.Is(err, poll.ErrDeadline) {
		t.Fatalf("error = %v, want ErrDeadline", err)
	}
	if len(sink.got) != 2 {
		t.Fatalf("delivered %d before the deadline, want the first page (2)", len(sink.got))
	}
	cur, _ := store.LoadCursor(context.Background(), poll.Key{Source: "main", LogType: event.Operation})
	if len(cur.Seen) != 2 {
		t.Errorf("checkpoint holds %d seen ids, want 2", len(cur.Seen))
	}
	p2, _ := poll.New(poll.Config{Now: clk.Now}, store, sink, nil, nil)
	if _, err := p2.Cycle(context.Background(), "main", poll.Static(rep), event.Operation); err != nil {
		t.Fatal(err)
	}
	if len(ids(sink.got)) != 6 || len(sink.got) != 6 {
		t.Errorf("after resuming: %d delivered, %d distinct; want 6 and 6", len(sink.got), len(ids(sink.got)))
	}
}

// TestShortRunsStillCatchUp: runs that each end at the deadline after a few pages keep the
// day windows they finished, so a long backfill completes over several runs instead of
// re-reading its first window forever. (Each run re-reads the overlap, then finishes one new
// two-page day before its budget of four deadline checks runs out.)
func TestShortRunsStillCatchUp(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	clk := &clock{t: now}
	var recs []record
	for d := range 10 {
		for h := range 3 { // three records a day: two pages per day window
			recs = append(recs, op(now.Add(-time.Duration(d)*24*time.Hour-time.Duration(h+1)*time.Hour), fmt.Sprintf("Security  - D%dH%d: from On to Off", d, h)))
		}
	}
	rep := &scripted{now: clk.Now, records: map[event.LogType][]record{event.Operation: recs}}
	sink := &collectingSink{}
	store, _ := local.NewCursors(t.TempDir())
	runs := 0
	for ; runs < 30; runs++ {
		p, err := poll.New(poll.Config{Now: clk.Now, FirstBackfill: 10 * 24 * time.Hour, Remaining: (&budget{n: 4}).remaining}, store, sink, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		sum, err := p.Cycle(context.Background(), "main", poll.Static(rep), event.Operation)
		if err == nil {
			break
		}
		if !errors.Is(err, poll.ErrDeadline) {
			t.Fatal(err)
		}
		if len(sum.Results) == 0 || sum.Results[0].Windows == 0 {
			t.Fatalf("run %d finished no window: no progress", runs)
		}
	}
	if got := len(ids(sink.got)); got != len(recs) || len(sink.got) != len(recs) {
		t.Fatalf("after %d runs: %d delivered, %d distinct; want %d", runs, len(sink.got), got, len(recs))
	}
	if runs > 11 {
		t.Errorf("took %d runs for 11 day windows at one new day a run", runs)
	}
}

func TestCommitConflictIsTyped(t *testing.T) {
	t.Parallel()
	store, _ := local.NewCursors(t.TempDir())
	k := poll.Key{Source: "main", LogType: event.Operation}
	ctx := context.Background()
	if _, err := store.CommitCursor(ctx, k, 0, poll.Checkpoint{Watermark: time.Now()}); err != nil {
		t.Fatal(err)
	}
	_, err := store.CommitCursor(ctx, k, 0, poll.Checkpoint{Watermark: time.Now()})
	var ce *poll.ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("stale commit error = %v, want *poll.ConflictError", err)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cfg  poll.Config
		ok   bool
		name string
	}{
		{poll.Config{}, true, "defaults"},
		{poll.Config{FirstBackfill: 200 * 24 * time.Hour}, false, "backfill beyond six months"},
		{poll.Config{BatchSize: 501}, false, "batch over the PutRecords limit"},
		{poll.Config{Overlap: -time.Hour}, false, "negative overlap"},
	}
	for _, tt := range tests {
		if err := tt.cfg.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: Validate() = %v", tt.name, err)
		}
	}
}
