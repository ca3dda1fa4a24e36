package awstest

import (
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/zoomwatch/zoomwatch/internal/alert"
)

// ReceiveAlerts drains an SQS queue subscribed (raw delivery off) to an alerts topic: SNS wraps
// each alert in a notification whose Message is the alert JSON (the sqs protocol body). It
// stops after two empty one-second polls.
func ReceiveAlerts(t testing.TB, queueURL string) []alert.Alert {
	t.Helper()
	q := SQS(t)
	var out []alert.Alert
	for empty := 0; empty < 2; {
		msgs, err := q.ReceiveMessage(ctx(t), &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatalf("receive from %s: %v", queueURL, err)
		}
		if len(msgs.Messages) == 0 {
			empty++
			continue
		}
		for _, m := range msgs.Messages {
			var note struct{ Message string }
			var a alert.Alert
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &note); err != nil {
				t.Fatalf("SQS body is not an SNS notification: %v", err)
			}
			if err := json.Unmarshal([]byte(note.Message), &a); err != nil {
				t.Fatalf("notification message is not an alert: %v", err)
			}
			out = append(out, a)
			if _, err := q.DeleteMessage(ctx(t), &sqs.DeleteMessageInput{QueueUrl: aws.String(queueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatalf("delete from %s: %v", queueURL, err)
			}
		}
	}
	return out
}
