package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/zoomwatch/zoomwatch/internal/alert"
	"github.com/zoomwatch/zoomwatch/internal/detect"
	"github.com/zoomwatch/zoomwatch/internal/event"
)

const twoFactorRule = `
id: Test.Two.Factor.Off
name: Two-factor turned off
description: test rule
log_types: [Zoom.Operation]
severity: HIGH
condition: icontains(setting, "two-factor") && turned_off()
title: "{{.actor}} turned two-factor off"
dedup:
  key: "{{.actor}}"
  period: 1h
`

type flakyPublisher struct {
	fail int // the next fail publishes fail
	got  []alert.Alert
}

func (p *flakyPublisher) Publish(_ context.Context, a alert.Alert) error {
	if p.fail > 0 {
		p.fail--
		return errors.New("throttled")
	}
	p.got = append(p.got, a)
	return nil
}

func kinesisRecord(t *testing.T, seq string, data []byte) events.KinesisEventRecord {
	t.Helper()
	return events.KinesisEventRecord{Kinesis: events.KinesisRecord{SequenceNumber: seq, Data: data}}
}

func envelopeBytes(t *testing.T, actor, detail string, at time.Time) []byte {
	t.Helper()
	raw, _ := json.Marshal(map[string]string{
		"time": at.Format(time.RFC3339), "operator": actor, "category_type": "Account",
		"action": "Update", "operation_detail": detail,
	})
	env, err := event.Normalize("main", event.Operation, raw, at)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(env)
	return b
}

func newTestDetector(t *testing.T) *detect.Engine {
	t.Helper()
	r, err := detect.ParseRule("two_factor.yaml", []byte(twoFactorRule))
	if err != nil {
		t.Fatal(err)
	}
	rs, err := detect.NewRuleSet(r)
	if err != nil {
		t.Fatal(err)
	}
	return detect.NewEngine(rs, detect.NewMemState(), detect.Options{})
}

func TestDetectorRetriesFromTheFailedRecordWithoutLosingOrDoublingAlerts(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	batch := events.KinesisEvent{Records: []events.KinesisEventRecord{
		kinesisRecord(t, "1", envelopeBytes(t, "bart@x.io", "Security  - Sign in with Two-Factor Authentication: from On to Off", at)),
		kinesisRecord(t, "2", []byte(`{"not":"an envelope"`)),
		kinesisRecord(t, "3", envelopeBytes(t, "lisa@x.io", "Security  - Sign in with Two-Factor Authentication: from On to Off", at)),
		kinesisRecord(t, "4", envelopeBytes(t, "lisa@x.io", "Security  - Sign in with Two-Factor Authentication: from Off to On", at)),
	}}
	pub := &flakyPublisher{fail: 1}
	fn := &DetectorFunction{Detector: newTestDetector(t), Publisher: pub}

	// The first publish is throttled: record 1 must be reported so the batch resumes there.
	resp, err := fn.Handle(context.Background(), batch)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "1" {
		t.Fatalf("batch item failures = %+v, want record 1", resp.BatchItemFailures)
	}
	// The event source mapping retries from record 1; the alert must come exactly once now.
	resp, err = fn.Handle(context.Background(), batch)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("retry: resp %+v err %v", resp, err)
	}
	// A whole-batch redelivery (bisect, retry after timeout) raises nothing new.
	if _, err := fn.Handle(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	var who []string
	for _, a := range pub.got {
		who = append(who, a.Title)
	}
	want := []string{"bart@x.io turned two-factor off", "lisa@x.io turned two-factor off"}
	if len(who) != len(want) || who[0] != want[0] || who[1] != want[1] {
		t.Fatalf("alerts = %q, want %q", who, want)
	}
}

// metricCounts counts the poison records and learned sightings the detector reports.
type metricCounts struct {
	poison  int
	learned map[string]int
}

func (p *metricCounts) Evaluated(string, event.LogType, int) {}
func (p *metricCounts) Alerted(string, string)               {}
func (p *metricCounts) RuleFailed(string, int)               {}
func (p *metricCounts) Poison(n int)                         { p.poison += n }
func (p *metricCounts) Learned(rule string, n int) {
	if p.learned == nil {
		p.learned = map[string]int{}
	}
	p.learned[rule] += n
}

// TestDetectorSkipsPoisonRecords: records that are not evaluable envelopes are skipped and
// counted, never retried, and do not stop the good record after them. (Like the CLI, the
// detector ignores fields of the wrong type, such as ips that is not an array.)
func TestDetectorSkipsPoisonRecords(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	var batch events.KinesisEvent
	for i, data := range []string{
		`{"id":`, `{"log_type":"Zoom.Operation","raw":{}}`, `{"id":"x","log_type":"Zoom.Chat","raw":{}}`,
		`{"id":"x","log_type":"Zoom.Activity"}`, `[1,2]`, `{"id":"x","log_type":"Zoom.Activity","raw":"s"}`,
		`{"id":"x","log_type":"Zoom.Activity","time":"yesterday","raw":{}}`,
	} {
		batch.Records = append(batch.Records, kinesisRecord(t, fmt.Sprint(i), []byte(data)))
	}
	batch.Records = append(batch.Records, kinesisRecord(t, "good", envelopeBytes(t, "bart@x.io", "Security  - Sign in with Two-Factor Authentication: from On to Off", at)))
	pub, metrics := &flakyPublisher{}, &metricCounts{}
	fn := &DetectorFunction{Detector: newTestDetector(t), Publisher: pub, Metrics: metrics}
	resp, err := fn.Handle(context.Background(), batch)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("resp %+v err %v; want every record done", resp, err)
	}
	if want := len(batch.Records) - 1; metrics.poison != want || len(pub.got) != 1 {
		t.Fatalf("%d poison records and %d alerts; want %d and 1", metrics.poison, len(pub.got), want)
	}
}

// ackFailing is a detector whose acknowledgements fail.
type ackFailing struct {
	*detect.Engine
	acks int
}

func (a *ackFailing) Ack(context.Context, alert.Alert) error {
	a.acks++
	return errors.New("state unavailable")
}

func TestDetectorPublishedAlertWithFailedAckDoesNotFailTheRecord(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	batch := events.KinesisEvent{Records: []events.KinesisEventRecord{
		kinesisRecord(t, "1", envelopeBytes(t, "bart@x.io", "Security  - Sign in with Two-Factor Authentication: from On to Off", at)),
	}}
	det := &ackFailing{Engine: newTestDetector(t)}
	pub := &flakyPublisher{}
	fn := &DetectorFunction{Detector: det, Publisher: pub}
	resp, err := fn.Handle(context.Background(), batch)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("resp %+v err %v; want the record done", resp, err)
	}
	if len(pub.got) != 1 || det.acks != 1 || pub.got[0].ID == "" {
		t.Fatalf("published %+v with %d acks; want one alert with an ID, acknowledged once", pub.got, det.acks)
	}
	// Unacknowledged, a redelivery repeats it with the same ID.
	if _, err := fn.Handle(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	if len(pub.got) != 2 || pub.got[1].ID != pub.got[0].ID {
		t.Fatalf("published %+v; want the alert repeated with its ID", pub.got)
	}
}

// TestDetectorLogsLearning: first sightings a rule learns silently are logged and counted
// (SightingsLearned) per batch with the rule and their number, once each.
func TestDetectorLogsLearning(t *testing.T) {
	t.Parallel()
	r, err := detect.ParseRule("new_ip.yaml", []byte(`
id: Test.New.IP
name: New IP
log_types: [Zoom.Activity]
severity: LOW
condition: ip != ""
title: "{{.actor}} from {{.ip}}"
first_seen: "{{.actor}}|{{.ip}}"
first_seen_learn: 1d
`))
	if err != nil {
		t.Fatal(err)
	}
	rs, err := detect.NewRuleSet(r)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	signIn := func(ip string, at time.Time) []byte {
		raw, _ := json.Marshal(map[string]string{"time": at.Format(time.RFC3339), "email": "a@x.io", "type": "Sign in", "ip_address": ip})
		env, err := event.Normalize("main", event.Activity, raw, at)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(env)
		return b
	}
	var logs bytes.Buffer
	metrics := &metricCounts{}
	fn := &DetectorFunction{Detector: detect.NewEngine(rs, detect.NewMemState(), detect.Options{}), Publisher: &flakyPublisher{},
		Log: slog.New(slog.NewJSONHandler(&logs, nil)), Metrics: metrics}
	batches := []events.KinesisEvent{
		{Records: []events.KinesisEventRecord{kinesisRecord(t, "1", signIn("10.0.0.1", at)), kinesisRecord(t, "2", signIn("10.0.0.2", at))}},
		{Records: []events.KinesisEventRecord{kinesisRecord(t, "3", signIn("10.0.0.3", at.Add(48*time.Hour)))}},
	}
	for _, b := range batches {
		if resp, err := fn.Handle(context.Background(), b); err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("resp %+v err %v", resp, err)
		}
	}
	var lines []map[string]any
	for _, l := range bytes.Split(bytes.TrimSpace(logs.Bytes()), []byte("\n")) {
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 1 || lines[0]["rule_id"] != "Test.New.IP" || lines[0]["count"] != float64(2) {
		t.Fatalf("logs = %v, want one line for Test.New.IP with count 2", lines)
	}
	if len(metrics.learned) != 1 || metrics.learned["Test.New.IP"] != 2 {
		t.Errorf("learned metrics %v, want Test.New.IP: 2", metrics.learned)
	}
}

func TestForNew(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		totals, seen map[string]int64
		want         map[string]int64
	}{
		{"first call", map[string]int64{"a": 2}, nil, map[string]int64{"a": 2}},
		{"only growth", map[string]int64{"a": 2, "b": 5}, map[string]int64{"a": 2, "b": 3}, map[string]int64{"b": 2}},
		{"nothing new", map[string]int64{"a": 2}, map[string]int64{"a": 2}, map[string]int64{}},
	}
	for _, tt := range tests {
		got := map[string]int64{}
		next := forNew(tt.totals, tt.seen, func(rule string, n int64) { got[rule] = n })
		if fmt.Sprint(got) != fmt.Sprint(tt.want) || fmt.Sprint(next) != fmt.Sprint(tt.totals) {
			t.Errorf("%s: reported %v and kept %v; want %v and %v", tt.name, got, next, tt.want, tt.totals)
		}
	}
}
