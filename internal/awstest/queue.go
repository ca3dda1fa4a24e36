package awstest

import (
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/zoomwatch/zoomwatch/internal/alert"
)

// ReceiveAlerts drains an SQS queue subscribed (raw delivery off) to an alerts topic: SNS wraps
// each alert in a notification whose Message is the alert JSON (the sqs protocol body).
//
// It stops once a poll comes back empty and the queue holds no message, visible or in flight.
// Received messages stay invisible for a few seconds only: a receive whose answer is lost (a
// connection dropped under load makes the SDK send it again) leaves its messages in flight,
// and they come back to be received rather than being missed. Each message counts once, by
// its SQS message ID. A queue that is not empty after a minute fails the test.
func ReceiveAlerts(t testing.TB, queueURL string) []alert.Alert {
	t.Helper()
	q := SQS(t)
	var out []alert.Alert
	seen := map[string]bool{}
	deadline := time.Now().Add(time.Minute)
	for {
		msgs, err := q.ReceiveMessage(ctx(t), &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL),
			MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 3})
		if err != nil {
			t.Fatalf("receive from %s: %v", queueURL, err)
		}
		if len(msgs.Messages) == 0 {
			left := queueDepth(t, q, queueURL)
			if left == 0 {
				return out
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s still holds %d messages after a minute of receiving", queueURL, left)
			}
			continue
		}
		for _, m := range msgs.Messages {
			if id := aws.ToString(m.MessageId); !seen[id] {
				seen[id] = true
				var note struct{ Message string }
				var a alert.Alert
				if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &note); err != nil {
					t.Fatalf("SQS body is not an SNS notification: %v", err)
				}
				if err := json.Unmarshal([]byte(note.Message), &a); err != nil {
					t.Fatalf("notification message is not an alert: %v", err)
				}
				out = append(out, a)
			}
			if _, err := q.DeleteMessage(ctx(t), &sqs.DeleteMessageInput{QueueUrl: aws.String(queueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatalf("delete from %s: %v", queueURL, err)
			}
		}
	}
}

// queueDepth returns how many messages the queue holds, visible or in flight.
func queueDepth(t testing.TB, q *sqs.Client, queueURL string) int {
	t.Helper()
	out, err := q.GetQueueAttributes(ctx(t), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(queueURL),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
	if err != nil {
		t.Fatalf("attributes of %s: %v", queueURL, err)
	}
	n := 0
	for _, name := range []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages,
		types.QueueAttributeNameApproximateNumberOfMessagesNotVisible} {
		v, err := strconv.Atoi(out.Attributes[string(name)])
		if err != nil {
			t.Fatalf("attribute %s of %s: %q is not a number", name, queueURL, out.Attributes[string(name)])
		}
		n += v
	}
	return n
}
