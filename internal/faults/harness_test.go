package faults

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	kintypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go/logging"

	"github.com/zoomwatch/zoomwatch/internal/awsrun"
	"github.com/zoomwatch/zoomwatch/internal/awstest"
	"github.com/zoomwatch/zoomwatch/internal/dynamostate"
	"github.com/zoomwatch/zoomwatch/internal/pipeline"
	"github.com/zoomwatch/zoomwatch/internal/zoom"
	"github.com/zoomwatch/zoomwatch/internal/zoomsim"
)

// profile is how hard and how long one run pushes.
type profile struct {
	name        string
	historyDays int
	pageSize    int
	// latency is the simulator's per-request latency.
	latency time.Duration
	// aws are the AWS-side fault rates per request of each service. Services called a few
	// times per cycle get high rates so that every run meets their faults.
	aws map[string]rates
	// rounds is how many independent rounds (fresh account, fresh resources, own seed) run.
	rounds int
	// zoomTimeout is the Zoom client's per-request timeout; slowed answers exceed it.
	zoomTimeout time.Duration
	// perSecondLimit is the simulated account's request limit; 0 means none.
	perSecondLimit int
	// extraUsers adds ordinary users to the simulated account, for volume.
	extraUsers int
	// maxRPS is the poller's own pacing (poll/max_rps).
	maxRPS string
}

func profileFor(short bool) profile {
	if short {
		return profile{name: "short", historyDays: 30, pageSize: 20, latency: 10 * time.Millisecond,
			aws:    map[string]rates{svcKinesis: {0.2, 0.1}, svcSecrets: {0.2, 0.1}, svcSNS: {0.2, 0.1}, svcDynamoDB: {0.04, 0.02}},
			rounds: 1, zoomTimeout: time.Second}
	}
	return profile{name: "long", historyDays: 90, pageSize: 20, latency: 10 * time.Millisecond,
		aws:    map[string]rates{svcKinesis: {0.3, 0.15}, svcSecrets: {0.3, 0.15}, svcSNS: {0.3, 0.15}, svcDynamoDB: {0.1, 0.05}},
		rounds: 3, zoomTimeout: time.Second}
}

const (
	// leaseTTL is short so that the lease a crashed container leaves behind expires quickly;
	// cycles here are much shorter than it.
	leaseTTL = time.Second
	sourceID = "main"
)

// harness is one simulated account, one emulated AWS account and the bookkeeping of crashes.
type harness struct {
	t        *testing.T
	prof     profile
	cfg      aws.Config
	sim      *zoomsim.Server
	env      pipeline.Env
	stream   string
	queueURL string
	chaos    *chaos

	mu         sync.Mutex
	crashes    int
	dupCrashes int
	byPoint    map[string]int
	// windowAlerts are alert IDs published by a container that crashed right after.
	windowAlerts map[string]bool
	// publishedRules counts the alerts SNS accepted, by rule, to tell an alert never published
	// from one published but not delivered to the queue.
	publishedRules map[string]int
}

// published books an alert SNS accepted.
func (h *harness) published(body []byte) {
	if _, rule := publishedAlert(body); rule != "" {
		h.mu.Lock()
		h.publishedRules[rule]++
		h.mu.Unlock()
	}
}

func newHarness(t *testing.T, prof profile, seed uint64) *harness {
	cfg := awstest.Config(t)
	ctx := context.Background()
	clients := awsrun.NewClients(cfg, awstest.DynamoDBOptions)

	sim, err := zoomsim.New(zoomsim.Config{PerSecondLimit: cmp.Or(prof.perSecondLimit, -1), HistoryDays: prof.historyDays, ExtraUsers: prof.extraUsers, Latency: prof.latency, Seed: int64(seed)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	sc := sim.Config()
	// An authorization-code source: every refresh rotates the refresh token.
	secret, _ := json.Marshal(map[string]string{
		"auth_type": "oauth", "client_id": sc.OAuthClientID, "client_secret": sc.OAuthClientSecret,
		"refresh_token": sim.IssueRefreshToken(),
	})
	stage := awstest.Name(t, "faults")
	prefix := "/" + stage + "/"
	table, err := dynamostate.New(clients.DynamoDB, dynamostate.Config{Name: awstest.Name(t, "state")})
	if err != nil {
		t.Fatal(err)
	}
	if err := table.CreateTable(ctx); err != nil {
		t.Fatal(err)
	}
	stream := awstest.Stream(t, clients.Kinesis, 2)
	alertsTopic := awstest.Topic(t, clients.SNS)
	opsTopic := awstest.Topic(t, clients.SNS)
	queueURL, queueARN := awstest.Queue(t, awstest.SQS(t))
	if _, err := clients.SNS.Subscribe(ctx, &sns.SubscribeInput{TopicArn: aws.String(alertsTopic), Protocol: aws.String("sqs"), Endpoint: aws.String(queueARN)}); err != nil {
		t.Fatal(err)
	}
	for name, value := range map[string]string{
		"poll/first_backfill": fmt.Sprintf("%dd", sc.HistoryDays),
		// A caught-up poll re-reads a whole past day, so its windows always span several
		// pages: with the default 6h, a run in the small hours reads today's few records in
		// one page, and the expired-page-token fault has no token to expire.
		"poll/overlap":   "30h",
		"poll/max_rps":   cmp.Or(prof.maxRPS, "100"),
		"poll/page_size": fmt.Sprint(prof.pageSize),
		"rules/Zoom.Admin.Action.Outside.Allowed.Domains": `{"params":{"allowed_domains":["springfield.example"]}}`,
	} {
		if _, err := clients.SSM.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(prefix + name), Value: aws.String(value), Type: ssmtypes.ParameterTypeString, Overwrite: aws.Bool(true)}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			clients.SSM.DeleteParameter(context.Background(), &ssm.DeleteParameterInput{Name: aws.String(prefix + name)})
		})
	}
	env, err := pipeline.ReadEnv(func(k string) string {
		return map[string]string{
			"ZOOMWATCH_STAGE": stage, "STATE_TABLE": table.Name(), "SSM_PREFIX": prefix,
			"STREAM_NAME": stream, "ALERTS_TOPIC_ARN": alertsTopic, "OPS_TOPIC_ARN": opsTopic,
			"ZOOM_API_BASE": srv.URL + "/v2", "ZOOM_AUTH_BASE": srv.URL,
			"SOURCES": `[{"id":"` + sourceID + `","label":"Springfield","auth_type":"oauth","secret_id":"` + awstest.Secret(t, clients.SecretsManager, string(secret)) + `"}]`,
		}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	return &harness{
		t: t, prof: prof, cfg: cfg, sim: sim, env: env, stream: stream, queueURL: queueURL,
		chaos:   newChaos(seed, prof.aws),
		byPoint: map[string]int{}, windowAlerts: map[string]bool{}, publishedRules: map[string]int{},
	}
}

// crashed books a crash that is about to happen.
func (h *harness) crashed(cp *crashPoint, svc, op string, body []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.crashes++
	h.byPoint[cp.name]++
	if cp.dup {
		h.dupCrashes++
	}
	if svc == svcSNS && op == "Publish" && cp.after {
		if id, _ := publishedAlert(body); id != "" {
			h.windowAlerts[id] = true
		}
	}
}

// container is one Lambda execution environment: its own SDK clients and Zoom client, built
// by awsrun like the functions build them. A crash kills it for good.
type container struct {
	h        *harness
	poller   *pipeline.Poller
	detector *pipeline.DetectorFunction

	mu     sync.Mutex
	dead   bool
	cancel context.CancelFunc
	armed  *crashPoint
	hits   int
}

func (h *harness) newContainer(cp *crashPoint) *container {
	h.t.Helper()
	c := &container{h: h, armed: cp}
	base := http.DefaultTransport.(*http.Transport).Clone()
	cfg := h.cfg.Copy()
	// A dead container's abandoned answers make the SDK warn; the suite reports crashes itself.
	cfg.Logger = logging.Nop{}
	cfg.HTTPClient = &http.Client{Transport: &transport{c: c, base: base}}
	deps := awsrun.Deps{
		Env: h.env, Clients: awsrun.NewClients(cfg, awstest.DynamoDBOptions), Metrics: io.Discard,
		Zoom: zoom.Config{Timeout: h.prof.zoomTimeout, HTTPClient: &http.Client{Transport: &transport{c: c, zoom: true, base: base}}},
	}
	var err error
	if c.poller, err = awsrun.NewPoller(deps); err != nil {
		h.t.Fatal(err)
	}
	// A crashed container's lease must expire within the test.
	c.poller.Base.Poll.LeaseTTL = leaseTTL
	if c.detector, err = awsrun.NewDetector(deps); err != nil {
		h.t.Fatal(err)
	}
	return c
}

func (c *container) isDead() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dead
}

// die ends the process: the invocation's context is cancelled and no request leaves again.
func (c *container) die() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dead = true
	if c.cancel != nil {
		c.cancel()
	}
}

func (c *container) arm(cp *crashPoint) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.armed, c.hits = cp, 0
}

func (c *container) armedPoint() *crashPoint {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.armed
}

// hit counts a request against the armed crash point and returns it when it fires.
func (c *container) hit(svc, op string, body []byte) *crashPoint {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.armed == nil || !c.armed.matches(svc, op, body) {
		return nil
	}
	c.hits++
	if c.hits < c.armed.nth {
		return nil
	}
	cp := c.armed
	c.armed = nil
	return cp
}

// invocation returns the context of one invocation, which a crash cancels.
func (c *container) invocation() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	c.mu.Lock()
	c.cancel = cancel
	c.mu.Unlock()
	return ctx, cancel
}

// poll runs one scheduled invocation of the poller in c.
func (c *container) poll() (pipeline.PollReport, error) {
	ctx, cancel := c.invocation()
	defer cancel()
	return c.poller.Poll(ctx)
}

// skipped reports whether the invocation found the source's lease held by another cycle.
func skipped(rep pipeline.PollReport, err error) bool {
	return err == nil && len(rep.Sources) == 1 && len(rep.Sources[0].Results) == 0 && rep.Sources[0].Error == ""
}

// caughtUp reports a clean cycle that read every key to the present and found nothing new.
func caughtUp(rep pipeline.PollReport, err error) bool {
	if err != nil || len(rep.Sources) != 1 || len(rep.Sources[0].Results) == 0 {
		return false
	}
	for _, r := range rep.Sources[0].Results {
		if !r.CaughtUp || r.Err != nil {
			return false
		}
	}
	return rep.Sources[0].Delivered == 0
}

// errorKind is the failure kind of a poll invocation, for the log.
func errorKind(rep pipeline.PollReport, err error) string {
	if err == nil {
		return ""
	}
	var se *pipeline.SourceError
	if errors.As(err, &se) && len(rep.Sources) == 1 {
		return rep.Sources[0].ErrorKind
	}
	return "other"
}

// readStream returns every record of every shard of the stream, per shard in order. The
// emulator honours a shard iterator once, so a GetRecords the SDK had to retry fails with an
// invalid iterator; a shard is then read again from the start, a few times before giving up.
func readStream(t *testing.T, kin *kinesis.Client, stream string) map[string][]kintypes.Record {
	t.Helper()
	ctx := context.Background()
	shards, err := kin.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatalf("list shards of %s: %v", stream, err)
	}
	out := map[string][]kintypes.Record{}
	for _, sh := range shards.Shards {
		id := aws.ToString(sh.ShardId)
		for attempt := 1; ; attempt++ {
			recs, err := readShard(ctx, kin, stream, id)
			if err == nil {
				out[id] = recs
				break
			}
			if attempt == 10 {
				t.Fatalf("read shard %s of %s: %v", id, stream, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return out
}

func readShard(ctx context.Context, kin *kinesis.Client, stream, shard string) ([]kintypes.Record, error) {
	it, err := kin.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
		StreamName: aws.String(stream), ShardId: aws.String(shard), ShardIteratorType: kintypes.ShardIteratorTypeTrimHorizon,
	})
	if err != nil {
		return nil, fmt.Errorf("shard iterator: %w", err)
	}
	var out []kintypes.Record
	for iter := it.ShardIterator; iter != nil; {
		page, err := kin.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(500)})
		if err != nil {
			return nil, fmt.Errorf("get records: %w", err)
		}
		out = append(out, page.Records...)
		if len(page.Records) == 0 {
			break // caught up
		}
		iter = page.NextShardIterator
	}
	return out, nil
}
