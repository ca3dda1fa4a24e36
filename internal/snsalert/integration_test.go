package snsalert_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/zoomwatch/zoomwatch/internal/alert"
	"github.com/zoomwatch/zoomwatch/internal/awstest"
	"github.com/zoomwatch/zoomwatch/internal/snsalert"
)

// notification is the envelope SNS wraps a message in for an SQS subscriber without raw
// delivery.
type notification struct {
	Type              string
	MessageId         string
	TopicArn          string
	Subject           string
	Message           string
	MessageAttributes map[string]struct{ Type, Value string }
}

// subscribedQueue creates a topic and an SQS queue subscribed to it (raw delivery off) and
// returns the topic ARN and the queue URL.
func subscribedQueue(t *testing.T, sn *sns.Client, q *sqs.Client) (string, string) {
	t.Helper()
	topic := awstest.Topic(t, sn)
	url, arn := awstest.Queue(t, q)
	_, err := sn.Subscribe(t.Context(), &sns.SubscribeInput{
		TopicArn: aws.String(topic), Protocol: aws.String("sqs"), Endpoint: aws.String(arn),
		Attributes: map[string]string{"RawMessageDelivery": "false"},
	})
	if err != nil {
		t.Fatalf("subscribe queue: %v", err)
	}
	return topic, url
}

// receiveOne waits for one message on the queue and returns its SNS notification.
func receiveOne(t *testing.T, q *sqs.Client, url string) notification {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		out, err := q.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
		})
		if err != nil {
			t.Fatalf("receive: %v", err)
		}
		if len(out.Messages) == 0 {
			continue
		}
		if len(out.Messages) > 1 {
			t.Fatalf("%d messages, want 1", len(out.Messages))
		}
		var n notification
		if err := json.Unmarshal([]byte(aws.ToString(out.Messages[0].Body)), &n); err != nil {
			t.Fatalf("SQS body is not an SNS notification: %v\n%s", err, aws.ToString(out.Messages[0].Body))
		}
		return n
	}
	t.Fatal("no message arrived within 10s")
	return notification{}
}

func alertFixture() alert.Alert {
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	return alert.Alert{
		RuleID: "Zoom.PasscodeDisabled", Name: "Meeting passcode disabled", Severity: alert.Medium,
		Title:    "admin@acme.test turned off “Require a passcode” for the account — an unusually long title that SNS must receive cut to one hundred characters",
		DedupKey: "admin@acme.test", EventCount: 3, FirstSeen: t0, LastSeen: t0.Add(10 * time.Minute),
		Source: "acme", LogType: "Zoom.Operation", Runbook: "Turn it back on.", EventIDs: []string{"a1", "a2", "a3"},
		Samples: []json.RawMessage{json.RawMessage(`{"operator":"admin@acme.test"}`)},
	}
}

func TestPublishAlertReachesSQSSubscriber(t *testing.T) {
	t.Parallel()
	sn, q := awstest.SNS(t), awstest.SQS(t)
	topic, url := subscribedQueue(t, sn, q)
	p, err := snsalert.New(sn, snsalert.Config{AlertsTopicARN: topic})
	if err != nil {
		t.Fatal(err)
	}
	a := alertFixture()
	if err := p.Publish(t.Context(), a); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	n := receiveOne(t, q, url)
	if n.Type != "Notification" || n.TopicArn != topic {
		t.Errorf("type %q topic %q", n.Type, n.TopicArn)
	}
	if n.Subject != a.Subject() || len(n.Subject) > 100 || !strings.HasPrefix(n.Subject, "[MEDIUM] admin@acme.test turned off") {
		t.Errorf("subject %q (%d chars)", n.Subject, len(n.Subject))
	}
	var got alert.Alert
	if err := json.Unmarshal([]byte(n.Message), &got); err != nil {
		t.Fatalf("SQS subscriber did not get the alert JSON: %v\n%s", err, n.Message)
	}
	if got.RuleID != a.RuleID || got.EventCount != 3 || len(got.EventIDs) != 3 || got.Title != a.Title {
		t.Errorf("alert round trip: %+v", got)
	}
	want := map[string]string{"severity": "MEDIUM", "rule_id": "Zoom.PasscodeDisabled", "log_type": "Zoom.Operation", "kind": "alert"}
	for k, v := range want {
		if attr := n.MessageAttributes[k]; attr.Type != "String" || attr.Value != v {
			t.Errorf("attribute %s = %+v, want String %q", k, attr, v)
		}
	}
}

// TestFilterPolicyOnSeverity shows subscriptions can filter on the attributes: a queue that
// wants HIGH and CRITICAL only gets the HIGH alert.
func TestFilterPolicyOnSeverity(t *testing.T) {
	t.Parallel()
	sn, q := awstest.SNS(t), awstest.SQS(t)
	topic := awstest.Topic(t, sn)
	url, arn := awstest.Queue(t, q)
	_, err := sn.Subscribe(t.Context(), &sns.SubscribeInput{
		TopicArn: aws.String(topic), Protocol: aws.String("sqs"), Endpoint: aws.String(arn),
		Attributes: map[string]string{"FilterPolicy": `{"severity":["HIGH","CRITICAL"]}`},
	})
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	p, err := snsalert.New(sn, snsalert.Config{AlertsTopicARN: topic})
	if err != nil {
		t.Fatal(err)
	}
	low, high := alertFixture(), alertFixture()
	low.Severity, high.Severity = alert.Low, alert.High
	high.RuleID = "Zoom.UserGrantedAdmin"
	for _, a := range []alert.Alert{low, high} {
		if err := p.Publish(t.Context(), a); err != nil {
			t.Fatal(err)
		}
	}
	n := receiveOne(t, q, url)
	if n.MessageAttributes["rule_id"].Value != "Zoom.UserGrantedAdmin" {
		t.Errorf("filtered queue got %s", n.MessageAttributes["rule_id"].Value)
	}
}

func TestNotifyOpsReachesOpsTopic(t *testing.T) {
	t.Parallel()
	sn, q := awstest.SNS(t), awstest.SQS(t)
	alerts := awstest.Topic(t, sn)
	ops, url := subscribedQueue(t, sn, q)
	p, err := snsalert.New(sn, snsalert.Config{AlertsTopicARN: alerts, OpsTopicARN: ops})
	if err != nil {
		t.Fatal(err)
	}
	msg := "a rotated Zoom refresh token could not be saved to Secrets Manager\n\nsave failed: throttled"
	if err := p.NotifyOps(t.Context(), "zoomwatch: source acme needs attention (token_save)", msg); err != nil {
		t.Fatalf("NotifyOps: %v", err)
	}
	n := receiveOne(t, q, url)
	if n.Subject != "[OPS] zoomwatch: source acme needs attention (token_save)" || n.Message != msg {
		t.Errorf("ops notice subject %q message %q", n.Subject, n.Message)
	}
	if n.MessageAttributes["kind"].Value != "ops" {
		t.Errorf("kind attribute %+v", n.MessageAttributes["kind"])
	}
}
