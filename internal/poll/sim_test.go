package poll_test

import (
	"context"
	"math"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/zoomwatch/zoomwatch/internal/event"
	"github.com/zoomwatch/zoomwatch/internal/local"
	"github.com/zoomwatch/zoomwatch/internal/poll"
	"github.com/zoomwatch/zoomwatch/internal/zoom"
	"github.com/zoomwatch/zoomwatch/internal/zoomsim"
)

// syncClock is a settable clock shared by the simulator, the client and the poller.
type syncClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *syncClock) Now() time.Time                { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *syncClock) Add(d time.Duration)           { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func noSleep(context.Context, time.Duration) error { return nil }

// TestCyclesAgainstSimulatorDeliverEveryRecordOnce polls the simulated account hour by hour
// for more than a day — through late-arriving and same-second records, page-token expiry and
// a 429 burst — and checks that every record Zoom shows was delivered exactly once.
func TestCyclesAgainstSimulatorDeliverEveryRecordOnce(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 25, 10, 17, 0, 0, time.UTC)
	clk := &syncClock{t: start}
	sim, err := zoomsim.New(zoomsim.Config{Now: clk.Now, HistoryDays: 20, FutureDays: 1, PerSecondLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	zcfg := zoom.Config{APIBase: srv.URL + "/v2", AuthBase: srv.URL, MaxRPS: math.Inf(1), Now: clk.Now, Sleep: noSleep}
	creds := zoom.Credentials{AuthType: zoom.AuthS2S, ClientID: "sim-s2s-client", ClientSecret: "sim-s2s-secret", AccountID: "sim-account"}
	ctx := context.Background()
	ts, err := zoom.NewTokenSource(ctx, zcfg, creds, nil)
	if err != nil {
		t.Fatal(err)
	}
	client, err := zoom.New(zcfg, ts)
	if err != nil {
		t.Fatal(err)
	}
	store, _ := local.NewCursors(t.TempDir())
	sink := &collectingSink{}
	p, err := poll.New(poll.Config{Now: clk.Now, FirstBackfill: 20 * 24 * time.Hour, Overlap: 6 * time.Hour}, store, sink, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for step := range 32 {
		switch step {
		case 3:
			sim.SetFaults(zoomsim.Faults{ExpirePageTokens: true})
		case 5:
			sim.SetFaults(zoomsim.Faults{Burst429: 3, RetryAfter: zoomsim.RetryAfterSeconds})
		case 7:
			sim.SetFaults(zoomsim.Faults{})
		}
		if _, err := p.Cycle(ctx, "main", poll.Static(client)); err != nil {
			t.Fatalf("cycle %d at %s: %v", step, clk.Now(), err)
		}
		clk.Add(time.Hour)
	}
	delivered := ids(sink.got)
	for id, n := range delivered {
		if n != 1 {
			t.Errorf("event %s delivered %d times", id, n)
		}
	}
	// Every record visible an hour ago (the last cycle saw the world then) must be there.
	seenAt := clk.Now().Add(-time.Hour)
	want := 0
	for _, lt := range event.LogTypes {
		for _, raw := range sim.Records(string(lt), seenAt) {
			env, err := event.Normalize("main", lt, raw, seenAt)
			if err != nil {
				t.Fatal(err)
			}
			want++
			if delivered[env.ID] == 0 {
				t.Errorf("lost %s record %s", lt, raw)
			}
		}
	}
	if want < 1000 {
		t.Fatalf("simulator served only %d records; the test needs a realistic volume", want)
	}
	if len(delivered) != want {
		t.Errorf("delivered %d distinct events, simulator shows %d", len(delivered), want)
	}
	var late, sameSecond int
	times := map[string]int{}
	for _, e := range sink.got {
		if e.Time.After(start) && e.IngestedAt.Sub(e.Time) > 90*time.Minute {
			late++
		}
		times[string(e.LogType)+e.Time.String()]++
	}
	for _, n := range times {
		if n > 1 {
			sameSecond++
		}
	}
	if late == 0 || sameSecond == 0 {
		t.Errorf("late=%d same-second groups=%d: the run did not exercise both cases", late, sameSecond)
	}
	t.Logf("delivered %d events (%d late, %d same-second groups)", len(delivered), late, sameSecond)
}
