package faults

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/zoomwatch/zoomwatch/internal/awstest"
	"github.com/zoomwatch/zoomwatch/internal/event"
	"github.com/zoomwatch/zoomwatch/internal/pipeline"
	"github.com/zoomwatch/zoomwatch/internal/zoomsim"
)

// batchSize is the poller's PutRecords batch: the most one crash can duplicate.
const batchSize = 500

// pollCrashes are the crash points of a poll cycle, in the order they are armed. The ones
// that need a backlog come first.
func pollCrashes() []crashPoint {
	return []crashPoint{
		{name: "after PutRecords, before checkpoint", service: svcKinesis, ops: []string{"PutRecords"}, after: true, nth: 1, dup: true},
		{name: "PutRecords never sent", service: svcKinesis, ops: []string{"PutRecords"}, nth: 1},
		{name: "after PutRecords, before checkpoint (2nd batch)", service: svcKinesis, ops: []string{"PutRecords"}, after: true, nth: 2, dup: true},
		{name: "after fetch (page in memory)", service: svcZoom, ops: []string{"report"}, after: true, nth: 3},
		{name: "during fetch (request lost)", service: svcZoom, ops: []string{"report"}, nth: 2},
		{name: "checkpoint never written", service: svcDynamoDB, ops: []string{"UpdateItem", "TransactWriteItems"}, contains: "cursor#", nth: 1, dup: true},
		{name: "checkpoint written, answer lost", service: svcDynamoDB, ops: []string{"UpdateItem", "TransactWriteItems"}, contains: "cursor#", after: true, nth: 2},
		{name: "lease taken, then crash", service: svcDynamoDB, ops: []string{"PutItem"}, contains: "poll#" + sourceID, after: true, nth: 1},
		{name: "credentials read", service: svcSecrets, ops: []string{"GetSecretValue"}, nth: 1},
		{name: "before token refresh", service: svcZoom, ops: []string{"token"}, nth: 1, refresh: true},
		{name: "token save landed, answer lost", service: svcSecrets, ops: []string{"PutSecretValue"}, after: true, nth: 1, refresh: true},
	}
}

// detectCrashes are the crash points of a detector batch.
func detectCrashes() []crashPoint {
	state := []string{"UpdateItem", "TransactWriteItems", "PutItem"}
	return []crashPoint{
		{name: "detector: after publish, before ack", service: svcSNS, ops: []string{"Publish"}, after: true, nth: 1},
		{name: "detector: publish never sent", service: svcSNS, ops: []string{"Publish"}, nth: 1},
		{name: "detector: state write never sent", service: svcDynamoDB, ops: state, nth: 3},
		{name: "detector: state written, answer lost", service: svcDynamoDB, ops: state, after: true, nth: 5},
		{name: "detector: after publish, before ack (2nd alert)", service: svcSNS, ops: []string{"Publish"}, after: true, nth: 2},
	}
}

// phase is one Zoom-side fault and how to tell from the simulator's counters that it struck.
type phase struct {
	name   string
	faults zoomsim.Faults
	struck func(before, after zoomsim.Stats) bool
}

// zoomPhases are the Zoom-side faults, each run in its own invocation until it struck.
func zoomPhases(timeout time.Duration) []phase {
	return []phase{
		{"5xx", zoomsim.Faults{ServerErrorRate: 0.15}, func(b, a zoomsim.Stats) bool { return a.ServerErrors > b.ServerErrors }},
		{"429 Retry-After seconds", zoomsim.Faults{Burst429: 2, RetryAfter: zoomsim.RetryAfterSeconds}, func(b, a zoomsim.Stats) bool { return a.Injected429 > b.Injected429 }},
		{"429 Retry-After timestamp", zoomsim.Faults{Burst429: 2, RetryAfter: zoomsim.RetryAfterTimestamp}, func(b, a zoomsim.Stats) bool { return a.Injected429 > b.Injected429 }},
		{"429 without Retry-After", zoomsim.Faults{Burst429: 2, RetryAfter: zoomsim.RetryAfterNone}, func(b, a zoomsim.Stats) bool { return a.Injected429 > b.Injected429 }},
		{"slow past the client timeout", zoomsim.Faults{SlowRate: 0.3, Slow: timeout + timeout/2}, func(b, a zoomsim.Stats) bool { return a.Slowed > b.Slowed }},
		{"truncated and HTML bodies", zoomsim.Faults{TruncateRate: 0.25, HTMLRate: 0.15}, func(b, a zoomsim.Stats) bool {
			return a.Truncated > b.Truncated && a.ServerErrors > b.ServerErrors
		}},
		{"expired page tokens", zoomsim.Faults{ExpirePageTokens: true}, func(b, a zoomsim.Stats) bool { return a.PageTokensRejected > b.PageTokensRejected }},
		{"access tokens expired mid-run", zoomsim.Faults{ExpireAccessTokens: true}, func(b, a zoomsim.Stats) bool {
			return a.Unauthorized > b.Unauthorized && a.Refreshes > b.Refreshes
		}},
	}
}

// mild is the Zoom background noise of crash invocations.
var mild = zoomsim.Faults{ServerErrorRate: 0.02, TruncateRate: 0.02, HTMLRate: 0.02, Burst429: 1, ExpirePageTokens: true}

// TestFaults is the fault suite: see the package documentation. It prints one line,
// "faults: zoom_events=N delivered=N lost=0 duplicates=D crashes=K duplicate_alerts=0 token_bricked=0".
func TestFaults(t *testing.T) {
	prof := profileFor(testing.Short())
	var total tally
	// Each round is a fresh account and fresh AWS resources, with its own seed: a new backlog
	// for every crash point to meet, and a different sequence of faults.
	seeds := make([]uint64, prof.rounds)
	for i := range seeds {
		seeds[i] = uint64(i + 1)
	}
	// ZOOMWATCH_FAULTS_SEED=N reruns the one round of that seed (as the detail lines name it).
	if v := os.Getenv("ZOOMWATCH_FAULTS_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n == 0 {
			t.Fatalf("ZOOMWATCH_FAULTS_SEED=%q: want a round number, 1 or more", v)
		}
		seeds = []uint64{n}
	}
	for _, seed := range seeds {
		r := runRound(t, prof, seed)
		total.zoomEvents += r.zoomEvents
		total.delivered += r.delivered
		total.lost += r.lost
		total.duplicates += r.duplicates
		total.crashes += r.crashes
		total.duplicateAlerts += r.duplicateAlerts
		total.bricked += r.bricked
	}
	fmt.Printf("faults: zoom_events=%d delivered=%d lost=%d duplicates=%d crashes=%d duplicate_alerts=%d token_bricked=%d\n",
		total.zoomEvents, total.delivered, total.lost, total.duplicates, total.crashes, total.duplicateAlerts, total.bricked)
	if total.lost > 0 || total.zoomEvents == 0 {
		t.Errorf("%d of %d Zoom events never reached the stream", total.lost, total.zoomEvents)
	}
	if total.duplicateAlerts > 0 {
		t.Errorf("%d alerts raised twice", total.duplicateAlerts)
	}
	if total.bricked > 0 {
		t.Errorf("the source's refresh token stopped working in %d round(s)", total.bricked)
	}
}

// tally is what the faults line reports.
type tally struct {
	zoomEvents, delivered, lost, duplicates, crashes, duplicateAlerts, bricked int
}

// runRound runs one round: poll under Zoom and AWS faults and crashes, drain calmly, check
// the refresh token, check the stream, run the detector under faults and crashes, check the
// alerts.
func runRound(t *testing.T, prof profile, seed uint64) tally {
	t.Helper()
	h := newHarness(t, prof, seed)
	start := time.Now()

	// 1. Poll under chaos until every crash point fired and every Zoom fault phase ran.
	h.chaos.set(true)
	queue := pollCrashes()
	phases := zoomPhases(prof.zoomTimeout)
	pairs, pairsSerialized := 0, 0
	// calm runs the Zoom fault phases and is never armed; c runs the crash points.
	calm, c := h.newContainer(nil), h.newContainer(nil)
	kinds := map[string]int{}
	checkpointFailures := 0
	note := func(rep pipeline.PollReport, err error) {
		kinds[errorKind(rep, err)]++
		// A checkpoint that failed after PutRecords (a Lambda timeout, or DynamoDB refusing
		// beyond the retries) leaves delivered records to be sent again, like a crash there.
		if err != nil && strings.Contains(err.Error(), "checkpoint") {
			checkpointFailures++
		}
	}
	// Crash points first, while there is a backlog for them to interrupt. Invocations have
	// no deadline: a bounded one that cannot finish a report window makes no progress (see
	// the package documentation), and every crash point fires early in a cycle anyway.
	for i := range queue {
		cp := &queue[i]
		c.arm(cp)
		for try := 1; c.armedPoint() != nil; try++ {
			if try > 3 {
				t.Fatalf("round %d: crash point %q never fired in %d invocations (no backlog left?)", seed, cp.name, try-1)
			}
			f := mild
			if cp.refresh {
				f.ExpireAccessTokens = true
			}
			h.sim.SetFaults(f)
			rep, err := c.poll()
			note(rep, err)
		}
		if c.isDead() {
			c = h.newContainer(nil)
			time.Sleep(leaseTTL) // the dead container's lease runs out
		}
	}
	// Then each Zoom fault in its own invocations until it struck, with two pollers started at
	// once on the same source now and then: the lease must let one through.
	// Drain the rest without Zoom faults first, so that each fault meets a few pages only.
	h.sim.SetFaults(zoomsim.Faults{})
	var rep pipeline.PollReport
	var err error
	for try := 0; try < 5 && !caughtUp(rep, err); try++ {
		rep, err = calm.poll()
		note(rep, err)
	}
	for i, ph := range phases {
		for try := 1; ; try++ {
			before := h.sim.Stats()
			h.sim.SetFaults(ph.faults)
			rep, err := calm.poll()
			note(rep, err)
			if ph.struck(before, h.sim.Stats()) {
				break
			}
			if try == 4 {
				t.Errorf("round %d: Zoom fault %q never struck in %d invocations", seed, ph.name, try)
				break
			}
		}
		if i%3 == 2 {
			f := mild
			f.ExpireAccessTokens = true // both would refresh, and so rotate, the same token
			h.sim.SetFaults(f)
			pairs++
			if h.pair(note) {
				pairsSerialized++
			}
		}
	}
	if pairs > 0 && pairsSerialized != pairs {
		t.Errorf("%d of %d concurrent poller pairs were not serialized by the lease", pairs-pairsSerialized, pairs)
	}

	// 2. Everything calm again: a fresh container drains what is left.
	h.chaos.set(false)
	h.sim.SetFaults(zoomsim.Faults{})
	c = h.newContainer(nil)
	for run := 1; ; run++ {
		rep, err := c.poll()
		if caughtUp(rep, err) {
			break
		}
		if skipped(rep, err) {
			time.Sleep(leaseTTL / 3)
		}
		if run == 30 {
			t.Fatalf("backlog not drained after %d clean runs: %v", run, err)
		}
	}
	now := time.Now()

	// 3. The stored refresh token must still work: expire every access token and poll again
	// from a new container, which must refresh with what Secrets Manager holds.
	before := h.sim.Stats()
	h.sim.SetFaults(zoomsim.Faults{ExpireAccessTokens: true})
	bricked := 0
	rep, err = h.newContainer(nil).poll()
	after := h.sim.Stats()
	if err != nil || after.Refreshes == before.Refreshes || after.RejectedRefreshTokens != before.RejectedRefreshTokens {
		bricked = 1
		t.Errorf("final clean poll with the stored refresh token failed (kind %s, refreshes %d→%d, rejected %d→%d): %v",
			errorKind(rep, err), before.Refreshes, after.Refreshes, before.RejectedRefreshTokens, after.RejectedRefreshTokens, err)
	}
	h.sim.SetFaults(zoomsim.Faults{})

	// 4. The stream against the simulator's ground truth.
	shards := readStream(t, awstest.Kinesis(t), h.stream)
	streamed, unique := 0, map[string]bool{}
	for _, recs := range shards {
		for _, r := range recs {
			var e event.Envelope
			if err := json.Unmarshal(r.Data, &e); err != nil {
				t.Fatalf("stream record is not an envelope: %v", err)
			}
			streamed++
			unique[e.ID] = true
		}
	}
	zoomEvents, lost := 0, 0
	for _, lt := range event.LogTypes {
		for _, raw := range h.sim.Records(string(lt), now) {
			e, err := event.Normalize(sourceID, lt, raw, now)
			if err != nil {
				t.Fatal(err)
			}
			zoomEvents++
			if !unique[e.ID] {
				lost++
			}
		}
	}
	duplicates := streamed - len(unique)
	pollCrashCount, dupCrashes := h.crashes, h.dupCrashes
	if duplicates > (dupCrashes+checkpointFailures)*batchSize {
		t.Errorf("%d duplicates in the stream, more than %d crashes and %d failed checkpoints between PutRecords and checkpoint can explain (%d each)",
			duplicates, dupCrashes, checkpointFailures, batchSize)
	}
	pollDone := time.Since(start)

	// 5. The detector over the stream, under chaos and crashes.
	h.chaos.set(true)
	h.detect(shards)
	h.chaos.set(false)

	// 6. The alerts against the planted incidents.
	alerts := awstest.ReceiveAlerts(t, h.queueURL)
	byID, byKey := map[string]int{}, map[string]map[string]bool{}
	byRule := map[string]int{}
	for _, a := range alerts {
		byID[a.ID]++
		k := a.RuleID + "|" + a.DedupKey + "|" + a.FirstSeen.String()
		if byKey[k] == nil {
			byKey[k] = map[string]bool{}
		}
		byKey[k][a.ID] = true
		byRule[a.RuleID]++
	}
	duplicateAlerts, crashWindow, ackWindow := 0, 0, 0
	for id, n := range byID {
		if n < 2 {
			continue
		}
		switch {
		case h.windowAlerts[id]:
			crashWindow += n - 1
		case h.chaos.faultedMentioning(id):
			ackWindow += n - 1
		default:
			duplicateAlerts += n - 1
			t.Errorf("alert %s delivered %d times outside the crash-after-publish window", id, n)
		}
	}
	for k, ids := range byKey {
		if len(ids) > 1 {
			duplicateAlerts += len(ids) - 1
			t.Errorf("alert %s raised under %d different ids", k, len(ids))
		}
	}
	var missing []string
	for _, inc := range h.sim.Incidents() {
		if !inc.VisibleAt.After(now) && byRule[inc.RuleID] == 0 {
			missing = append(missing, inc.RuleID)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		published := map[string]int{}
		for _, r := range missing {
			published[r] = h.publishedRules[r]
		}
		t.Errorf("alerts lost: no alert received for planted incidents of %v (alerts SNS accepted for them: %v)", missing, published)
	}

	injected, byKind := h.chaos.total()
	requests := map[string]int{}
	for k, n := range byKind {
		if svc, ok := strings.CutSuffix(k, " requests"); ok {
			requests[svc] = n
			injected -= n
			delete(byKind, k)
		}
	}
	st := h.sim.Stats()
	points := make([]string, 0, len(h.byPoint))
	for name, n := range h.byPoint {
		points = append(points, fmt.Sprintf("%s×%d", name, n))
	}
	sort.Strings(points)
	t.Logf("detail: round=%d profile=%s elapsed=%s poll_crashes=%d detector_crashes=%d dup_crashes=%d streamed=%d alerts=%d missing_alerts=%d window_duplicate_alerts=crash:%d,failed_ack:%d concurrent_pairs=%d serialized=%d checkpoint_failures=%d poll_phase=%s",
		seed, prof.name, time.Since(start).Round(time.Second), pollCrashCount, h.crashes-pollCrashCount, dupCrashes, streamed, len(alerts), len(missing), crashWindow, ackWindow, pairs, pairsSerialized, checkpointFailures, pollDone.Round(time.Second))
	t.Logf("detail: poll invocation outcomes by error kind: %v", kinds)
	t.Logf("detail: AWS faults injected=%d %v over requests %v", injected, byKind, requests)
	t.Logf("detail: Zoom faults: 5xx=%d injected429=%d slowed=%d truncated=%d page_tokens_rejected=%d unauthorized=%d refreshes=%d rejected_refresh=%d",
		st.ServerErrors, st.Injected429, st.Slowed, st.Truncated, st.PageTokensRejected, st.Unauthorized, st.Refreshes, st.RejectedRefreshTokens)
	t.Logf("detail: crash points: %s", strings.Join(points, "; "))
	// Every fault must actually have happened, or the suite proves nothing.
	for what, n := range map[string]int{
		"Zoom 5xx": st.ServerErrors, "Zoom 429": st.Injected429, "slow answers": st.Slowed, "truncated bodies": st.Truncated,
		"expired page tokens": st.PageTokensRejected, "expired access tokens": st.Unauthorized, "refreshes": st.Refreshes,
		"Kinesis faults": byKind[svcKinesis+" throttle"] + byKind[svcKinesis+" 5xx"], "DynamoDB faults": byKind[svcDynamoDB+" throttle"] + byKind[svcDynamoDB+" 5xx"],
		"Secrets Manager faults": byKind[svcSecrets+" throttle"] + byKind[svcSecrets+" 5xx"], "SNS faults": byKind[svcSNS+" throttle"] + byKind[svcSNS+" 5xx"],
	} {
		if n == 0 {
			t.Errorf("fault never exercised: %s", what)
		}
	}
	for _, cp := range append(pollCrashes(), detectCrashes()...) {
		if h.byPoint[cp.name] == 0 {
			t.Errorf("crash point never reached: %s", cp.name)
		}
	}

	return tally{zoomEvents: zoomEvents, delivered: len(unique), lost: lost, duplicates: duplicates, crashes: h.crashes,
		duplicateAlerts: duplicateAlerts, bricked: bricked}
}

// pair starts two pollers on the same source at once, each in its own container, and
// reports whether the lease serialized them (one ran, the other stood aside).
func (h *harness) pair(note func(pipeline.PollReport, error)) bool {
	a, b := h.newContainer(nil), h.newContainer(nil)
	var wg sync.WaitGroup
	var reps [2]pipeline.PollReport
	var errs [2]error
	gate := make(chan struct{})
	for i, c := range []*container{a, b} {
		wg.Go(func() {
			<-gate
			reps[i], errs[i] = c.poll()
		})
	}
	close(gate)
	wg.Wait()
	note(reps[0], errs[0])
	note(reps[1], errs[1])
	ran := 0
	for i := range reps {
		if len(reps[i].Sources) == 1 && len(reps[i].Sources[0].Results) > 0 {
			ran++
		}
	}
	// Both skipping is possible when a crashed container's lease is still held.
	return ran <= 1 && (skipped(reps[0], errs[0]) || skipped(reps[1], errs[1]))
}

// detect feeds the stream to detector containers as the event source mapping would: per
// shard, batches of up to 100 in order; after a batch item failure the batch resumes at the
// failed record, after an error or a crash the batch is retried whole (a crash in a fresh
// container).
func (h *harness) detect(shards map[string][]types.Record) {
	t := h.t
	queue := detectCrashes()
	c := h.newContainer(nil)
	ids := make([]string, 0, len(shards))
	for id := range shards {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		recs := shards[id]
		for start := 0; start < len(recs); start += 100 {
			batch := recs[start:min(start+100, len(recs))]
			for from, attempt := 0, 1; from < len(batch); attempt++ {
				if attempt > 100 {
					t.Fatalf("detector batch at %d of shard %s never completed", start, id)
				}
				if c.armedPoint() == nil && len(queue) > 0 {
					c.arm(&queue[0])
					queue = queue[1:]
				}
				var ev events.KinesisEvent
				for _, r := range batch[from:] {
					ev.Records = append(ev.Records, events.KinesisEventRecord{Kinesis: events.KinesisRecord{
						Data: r.Data, SequenceNumber: aws.ToString(r.SequenceNumber), PartitionKey: aws.ToString(r.PartitionKey),
					}})
				}
				ctx, cancel := c.invocation()
				resp, err := c.detector.Handle(ctx, ev)
				cancel()
				switch {
				case c.isDead():
					c = h.newContainer(nil)
				case err != nil:
				case len(resp.BatchItemFailures) > 0:
					failed := resp.BatchItemFailures[0].ItemIdentifier
					for i, r := range batch {
						if aws.ToString(r.SequenceNumber) == failed {
							from = i
						}
					}
				default:
					from = len(batch)
				}
			}
		}
	}
	if len(queue) > 0 {
		t.Errorf("%d detector crash points never fired (too few alerts in the stream?), first %q", len(queue), queue[0].name)
	}
}
