// Package e2e runs the deployed pipeline end to end on one machine: the Zoom simulator for
// Zoom, the AWS emulator for AWS, and the very handlers the Lambda functions run.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/zoomwatch/zoomwatch/internal/awsrun"
	"github.com/zoomwatch/zoomwatch/internal/awstest"
	"github.com/zoomwatch/zoomwatch/internal/event"
	"github.com/zoomwatch/zoomwatch/internal/pipeline"
	"github.com/zoomwatch/zoomwatch/internal/zoom"
	"github.com/zoomwatch/zoomwatch/internal/zoomsim"
)

// TestEndToEnd polls the simulated account into Kinesis until the backlog is drained, feeds
// the stream to the detector as Kinesis batches (one batch twice, as a retry would), and reads
// the alerts from an SQS queue subscribed to the alerts topic.
func TestEndToEnd(t *testing.T) {
	cfg := awstest.Config(t)
	ctx := context.Background()
	clients := awsrun.NewClients(cfg, awstest.DynamoDBOptions)

	sim, err := zoomsim.New(zoomsim.Config{PerSecondLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	sc := sim.Config()
	secret, _ := json.Marshal(map[string]string{
		"auth_type": "s2s", "account_id": sc.AccountID, "client_id": sc.ClientID, "client_secret": sc.ClientSecret,
	})

	// The stack's resources, as the emulator holds them, and an SQS queue on the alerts topic.
	stage := awstest.Name(t, "e2e")
	env, err := awsrun.Provision(ctx, clients, stage, pipeline.Source{ID: "main", Label: "Springfield", AuthType: "s2s"}, string(secret))
	if err != nil {
		t.Fatal(err)
	}
	env.ZoomAPIBase, env.ZoomAuthBase = srv.URL+"/v2", srv.URL
	queueURL, queueARN := awstest.Queue(t, awstest.SQS(t))
	if _, err := clients.SNS.Subscribe(ctx, &sns.SubscribeInput{TopicArn: aws.String(env.AlertsTopicARN), Protocol: aws.String("sqs"), Endpoint: aws.String(queueARN)}); err != nil {
		t.Fatal(err)
	}
	// Tuning through SSM, as an operator would set it: read the whole simulated month, and
	// tell the domain rule which domain is the company's.
	for name, value := range map[string]string{
		"poll/first_backfill":                             fmt.Sprintf("%dd", sc.HistoryDays),
		"rules/Zoom.Admin.Action.Outside.Allowed.Domains": `{"params":{"allowed_domains":["springfield.example"]}}`,
	} {
		if _, err := clients.SSM.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(env.SSMPrefix + name), Value: aws.String(value), Type: ssmtypes.ParameterTypeString, Overwrite: aws.Bool(true)}); err != nil {
			t.Fatal(err)
		}
	}
	var metricLines strings.Builder
	deps := awsrun.Deps{Env: env, Clients: clients, Metrics: &metricLines, Zoom: zoom.Config{MaxRPS: math.Inf(1)}}
	poller, err := awsrun.NewPoller(deps)
	if err != nil {
		t.Fatal(err)
	}
	detector, err := awsrun.NewDetector(deps)
	if err != nil {
		t.Fatal(err)
	}

	// The scheduled event, until a run finds nothing new.
	for run := 1; ; run++ {
		rep, err := poller.Poll(ctx)
		if err != nil {
			t.Fatalf("poller run %d: %v", run, err)
		}
		if rep.Sources[0].Delivered == 0 {
			break
		}
		if run == 10 {
			t.Fatalf("backlog not drained after %d runs", run)
		}
	}
	now := time.Now()

	// The event source mapping: batches of up to 100 per shard, in order.
	streamed, unique := 0, map[string]bool{}
	for _, recs := range awstest.ReadStream(t, clients.Kinesis, env.StreamName) {
		for start := 0; start < len(recs); start += 100 {
			var batch events.KinesisEvent
			for _, r := range recs[start:min(start+100, len(recs))] {
				batch.Records = append(batch.Records, events.KinesisEventRecord{Kinesis: events.KinesisRecord{
					Data: r.Data, SequenceNumber: aws.ToString(r.SequenceNumber), PartitionKey: aws.ToString(r.PartitionKey),
				}})
				var e event.Envelope
				if err := json.Unmarshal(r.Data, &e); err != nil {
					t.Fatalf("stream record is not an envelope: %v", err)
				}
				streamed++
				unique[e.ID] = true
			}
			deliveries := 1
			if start == 0 {
				deliveries = 2 // a retried batch must not alert twice
			}
			for range deliveries {
				resp, err := detector.Handle(ctx, batch)
				if err != nil || len(resp.BatchItemFailures) > 0 {
					t.Fatalf("detector: %+v %v", resp.BatchItemFailures, err)
				}
			}
		}
	}

	// Everything Zoom shows must have reached the stream.
	zoomEvents, lost := 0, 0
	for _, lt := range event.LogTypes {
		for _, raw := range sim.Records(string(lt), now) {
			e, err := event.Normalize("main", lt, raw, now)
			if err != nil {
				t.Fatal(err)
			}
			zoomEvents++
			if !unique[e.ID] {
				lost++
			}
		}
	}

	alerts := awstest.ReceiveAlerts(t, queueURL)
	byRule, doubled := map[string]int{}, 0
	seen := map[string]bool{}
	for _, a := range alerts {
		byRule[a.RuleID]++
		k := a.RuleID + "|" + a.DedupKey + "|" + a.FirstSeen.String()
		if seen[k] {
			doubled++
			t.Errorf("alert raised twice: %s %q", a.RuleID, a.Title)
		}
		seen[k] = true
	}
	var missing []string
	planted := map[string]int{}
	for _, inc := range sim.Incidents() {
		if !inc.VisibleAt.After(now) {
			planted[inc.RuleID]++
			if byRule[inc.RuleID] == 0 {
				missing = append(missing, inc.RuleID)
			}
		}
	}
	sort.Strings(missing)
	// Nothing but the planted incidents alerts, whatever order the shards are read in: the
	// simulated history is ordinary apart from them (a user's events share a shard, so per-user
	// state sees them in order).
	for id, n := range byRule {
		if n > planted[id] {
			t.Errorf("%s raised %d alerts for %d planted incidents", id, n, planted[id])
		}
	}
	line := fmt.Sprintf("e2e: zoom_events=%d streamed=%d unique_streamed=%d alerts=%d lost=%d", zoomEvents, streamed, len(unique), len(alerts), lost)
	fmt.Println(line)
	t.Log(line)
	if lost > 0 || zoomEvents == 0 {
		t.Errorf("%d of %d Zoom events never reached the stream", lost, zoomEvents)
	}
	if len(missing) > 0 {
		t.Errorf("expected alerts missing for %v", missing)
	}
	if !strings.Contains(metricLines.String(), `"EventsPolled"`) {
		t.Errorf("no EventsPolled metric emitted")
	}
}
