package snsalert

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/zoomwatch/zoomwatch/internal/alert"
)

const topic = "arn:aws:sns:us-east-1:000000000000:zoomwatch-alerts"

func sample() alert.Alert {
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	return alert.Alert{
		ID: "9f2c4e1a7b3d5f60a1b2c3d4e5f60718", RuleID: "Zoom.Two.Factor.Authentication.Disabled", Name: "Two-factor sign-in disabled",
		Severity: alert.High, Title: "admin@x.io disabled two-factor sign-in", DedupKey: "admin@x.io",
		EventCount: 2, FirstSeen: t0, LastSeen: t0.Add(5 * time.Minute), Source: "acme",
		LogType: "Zoom.Operation", Runbook: "Re-enable two-factor sign-in.", MITRE: []string{"TA0005:T1556"},
		EventIDs: []string{"e1", "e2"},
		Samples:  []json.RawMessage{json.RawMessage(`{"operator":"admin@x.io"}`)},
	}
}

func newPublisher(t *testing.T, cfg Config) *Publisher {
	t.Helper()
	if cfg.AlertsTopicARN == "" {
		cfg.AlertsTopicARN = topic
	}
	p, err := New(unusedAPI{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAlertInputGolden pins the per-protocol message body.
func TestAlertInputGolden(t *testing.T) {
	in, err := newPublisher(t, Config{}).alertInput(sample())
	if err != nil {
		t.Fatal(err)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, []byte(aws.ToString(in.Message)), "", "  "); err != nil {
		t.Fatalf("message is not JSON: %v", err)
	}
	pretty.WriteByte('\n')
	path := filepath.Join("testdata", "message.golden.json")
	if os.Getenv("UPDATE_GOLDEN") == "1" {
		if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (UPDATE_GOLDEN=1 creates it)", err)
	}
	if !bytes.Equal(pretty.Bytes(), want) {
		t.Errorf("message differs from %s:\n%s", path, pretty.Bytes())
	}
}

func TestAlertInput(t *testing.T) {
	long := sample()
	long.Title = "Ünïcode\ttitle with\nnewlines " + strings.Repeat("very long ", 20)
	noLogType := sample()
	noLogType.LogType = ""
	tests := []struct {
		name         string
		cfg          Config
		alert        alert.Alert
		wantSubject  string
		wantAttrs    map[string]string
		wantHTTPSKey string // a key the https body must have
	}{
		{
			name: "attributes and subject", alert: sample(),
			wantSubject:  "[HIGH] admin@x.io disabled two-factor sign-in",
			wantAttrs:    map[string]string{"severity": "HIGH", "rule_id": "Zoom.Two.Factor.Authentication.Disabled", "log_type": "Zoom.Operation", "kind": "alert", "alert_id": "9f2c4e1a7b3d5f60a1b2c3d4e5f60718"},
			wantHTTPSKey: "rule_id",
		},
		{
			name: "empty attribute left out", alert: noLogType,
			wantSubject:  "[HIGH] admin@x.io disabled two-factor sign-in",
			wantAttrs:    map[string]string{"severity": "HIGH", "rule_id": "Zoom.Two.Factor.Authentication.Disabled", "kind": "alert", "alert_id": "9f2c4e1a7b3d5f60a1b2c3d4e5f60718"},
			wantHTTPSKey: "rule_id",
		},
		{
			name: "chatbot over https", cfg: Config{ChatbotHTTPS: true}, alert: sample(),
			wantSubject:  "[HIGH] admin@x.io disabled two-factor sign-in",
			wantAttrs:    map[string]string{"severity": "HIGH", "rule_id": "Zoom.Two.Factor.Authentication.Disabled", "log_type": "Zoom.Operation", "kind": "alert", "alert_id": "9f2c4e1a7b3d5f60a1b2c3d4e5f60718"},
			wantHTTPSKey: "content",
		},
		{
			name: "subject made acceptable to SNS", alert: long,
			wantAttrs:    map[string]string{"severity": "HIGH", "rule_id": "Zoom.Two.Factor.Authentication.Disabled", "log_type": "Zoom.Operation", "kind": "alert", "alert_id": "9f2c4e1a7b3d5f60a1b2c3d4e5f60718"},
			wantHTTPSKey: "rule_id",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := newPublisher(t, tt.cfg).alertInput(tt.alert)
			if err != nil {
				t.Fatal(err)
			}
			subj := aws.ToString(in.Subject)
			if tt.wantSubject != "" && subj != tt.wantSubject {
				t.Errorf("subject %q, want %q", subj, tt.wantSubject)
			}
			checkSubject(t, subj)
			if aws.ToString(in.MessageStructure) != "json" || aws.ToString(in.TopicArn) != topic {
				t.Errorf("structure %q topic %q", aws.ToString(in.MessageStructure), aws.ToString(in.TopicArn))
			}
			got := map[string]string{}
			for k, v := range in.MessageAttributes {
				if aws.ToString(v.DataType) != "String" {
					t.Errorf("attribute %s type %q", k, aws.ToString(v.DataType))
				}
				got[k] = aws.ToString(v.StringValue)
			}
			if jsonOf(got) != jsonOf(tt.wantAttrs) {
				t.Errorf("attributes %v, want %v", got, tt.wantAttrs)
			}
			var body map[string]string
			if err := json.Unmarshal([]byte(aws.ToString(in.Message)), &body); err != nil {
				t.Fatal(err)
			}
			for _, proto := range []string{"default", "sqs", "lambda", "email-json", "http"} {
				var a alert.Alert
				if err := json.Unmarshal([]byte(body[proto]), &a); err != nil || a.RuleID != tt.alert.RuleID {
					t.Errorf("%s body is not the alert JSON: %v %q", proto, err, body[proto])
				}
			}
			if !strings.Contains(body["email"], "Severity:") || strings.HasPrefix(body["email"], "{") {
				t.Errorf("email body is not readable text: %q", body["email"])
			}
			var https map[string]any
			if err := json.Unmarshal([]byte(body["https"]), &https); err != nil || https[tt.wantHTTPSKey] == nil {
				t.Errorf("https body lacks %q: %v %s", tt.wantHTTPSKey, err, body["https"])
			}
		})
	}
}

func checkSubject(t *testing.T, s string) {
	t.Helper()
	if len(s) == 0 || len(s) > 100 {
		t.Errorf("subject of %d chars", len(s))
	}
	for _, r := range s {
		if r < 0x20 || r > 0x7e {
			t.Errorf("subject %q has %U", s, r)
		}
	}
}

func TestOversizeAlertShrinks(t *testing.T) {
	a := sample()
	a.EventCount = 3000
	a.EventIDs = nil
	for i := range 3000 {
		a.EventIDs = append(a.EventIDs, strings.Repeat("f", 60)+string(rune('a'+i%26))+"xyz")
	}
	for range 50 {
		a.Samples = append(a.Samples, json.RawMessage(`{"operation_detail":"`+strings.Repeat("z", 2000)+`"}`))
	}
	in, err := newPublisher(t, Config{}).alertInput(a)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(aws.ToString(in.Message)); n > MaxMessageBytes {
		t.Fatalf("message of %d bytes exceeds %d", n, MaxMessageBytes)
	}
	var body map[string]string
	_ = json.Unmarshal([]byte(aws.ToString(in.Message)), &body)
	var got alert.Alert
	if err := json.Unmarshal([]byte(body["sqs"]), &got); err != nil {
		t.Fatal(err)
	}
	if got.EventCount != 3000 || len(got.EventIDs) == 0 || len(got.EventIDs) >= 3000 || len(got.Samples) != 0 {
		t.Errorf("shrunk alert: count %d, %d ids, %d samples", got.EventCount, len(got.EventIDs), len(got.Samples))
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		cfg Config
		ok  bool
	}{
		{Config{AlertsTopicARN: topic}, true},
		{Config{AlertsTopicARN: topic, OpsTopicARN: topic + "-ops"}, true},
		{Config{OpsTopicARN: topic + "-ops"}, true},
		{Config{}, false},
		{Config{AlertsTopicARN: "zoomwatch-alerts"}, false},
		{Config{AlertsTopicARN: topic, OpsTopicARN: "ops"}, false},
	}
	for _, tt := range tests {
		if err := tt.cfg.Validate(); (err == nil) != tt.ok {
			t.Errorf("%+v: %v, want ok=%v", tt.cfg, err, tt.ok)
		}
	}
}

func TestPublishWithoutAlertsTopic(t *testing.T) {
	p, err := New(unusedAPI{}, Config{OpsTopicARN: topic + "-ops"})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Publish(t.Context(), alert.Alert{RuleID: "r"}); err == nil {
		t.Error("Publish without an alerts topic succeeded")
	}
}

func TestNotifyOpsWithoutTopic(t *testing.T) {
	if err := newPublisher(t, Config{}).NotifyOps(t.Context(), "s", "m"); err == nil {
		t.Error("NotifyOps without an ops topic succeeded")
	}
}

func jsonOf(v any) string { b, _ := json.Marshal(v); return string(b) }

// unusedAPI satisfies API for tests that only build requests.
type unusedAPI struct{}

func (unusedAPI) Publish(context.Context, *sns.PublishInput, ...func(*sns.Options)) (*sns.PublishOutput, error) {
	return nil, errors.New("no service in unit tests")
}
