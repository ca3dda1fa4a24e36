package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/zoomwatch/zoomwatch/internal/alert"
	"github.com/zoomwatch/zoomwatch/internal/detect"
	"github.com/zoomwatch/zoomwatch/internal/event"
	"github.com/zoomwatch/zoomwatch/internal/poll"
)

// Publisher delivers an alert to its subscribers (SNS in AWS).
type Publisher interface {
	Publish(ctx context.Context, a alert.Alert) error
}

// DetectMetrics receives what the detector measures; internal/metrics writes it as EMF lines.
type DetectMetrics interface {
	Evaluated(source string, lt event.LogType, n int)
	Alerted(ruleID, severity string)
	RuleFailed(ruleID string, n int)
	Learned(ruleID string, n int)
	Poison(n int)
}

// conditionErrors is implemented by the detection engine: running totals of rule evaluation
// errors per rule id.
type conditionErrors interface {
	ConditionErrors() map[string]int64
}

// learnedSightings is implemented by the detection engine: running totals, per rule id, of
// first sightings remembered without an alert during the rule's learning period.
type learnedSightings interface {
	Learned() map[string]int64
}

// Retuner refreshes the rules' tuning before a batch (SSM overrides in AWS); nil means none.
type Retuner interface {
	Retune(ctx context.Context) error
}

// EnvelopeDetector evaluates one stream record, an envelope's JSON bytes, into alerts, and
// records their delivery; the detection engine implements it. Input it cannot evaluate is a
// *detect.InputError; any other error is retryable.
type EnvelopeDetector interface {
	DetectEnvelopeJSON(ctx context.Context, data []byte) (detect.EnvelopeInfo, []alert.Alert, error)
	// Ack records that a was delivered, so evaluating its event again raises nothing.
	Ack(ctx context.Context, a alert.Alert) error
}

// DetectorFunction is the Kinesis-triggered detector: envelopes in, alerts out.
type DetectorFunction struct {
	Detector  EnvelopeDetector
	Publisher Publisher
	Retuner   Retuner
	Metrics   DetectMetrics
	Log       *slog.Logger

	// reported holds the rule error totals already turned into metrics; learned the learned
	// sightings already logged.
	reported, learned map[string]int64
}

// Handle processes a Kinesis batch in order. It stops at the first record it cannot finish
// (state or publish failure) and reports that record as the batch item failure, so the event
// source mapping retries from there; the records before it are done, and those after it are
// evaluated again on retry, which the detector's per-event idempotent state makes harmless.
// An undecodable record is a poison record: logged, counted and skipped, never retried.
//
// Each alert is acknowledged (Detector.Ack) right after it is published; until then a retry
// raises it again, so a throttled publish or a crash between evaluation and publication loses
// nothing. A crash (or failed Ack) after publication and before Ack publishes the alert once
// more on retry, with the same Alert.ID, which subscribers can drop.
func (d *DetectorFunction) Handle(ctx context.Context, in events.KinesisEvent) (events.KinesisEventResponse, error) {
	log := logger(d)
	if d.Retuner != nil {
		if err := d.Retuner.Retune(ctx); err != nil {
			log.WarnContext(ctx, "tuning unavailable; keeping the rules in force", "error", err)
		}
	}
	var resp events.KinesisEventResponse
	poison := 0
	// One metric line per source and log type per batch, not per record: EMF lines are logs,
	// and logs are paid per byte.
	evaluated := map[poll.Key]int{}
	for _, rec := range in.Records {
		// The record's bytes go to the engine's own scanner, the path its benchmarks measure.
		info, alerts, err := d.Detector.DetectEnvelopeJSON(ctx, rec.Kinesis.Data)
		if bad := (*detect.InputError)(nil); errors.As(err, &bad) {
			poison++
			log.ErrorContext(ctx, "poison record skipped", "sequence_number", rec.Kinesis.SequenceNumber, "event_source_arn", rec.EventSourceArn, "error", err)
			continue
		}
		if err == nil {
			err = d.publish(ctx, alerts)
		}
		if err != nil {
			log.ErrorContext(ctx, "record not processed; the batch resumes here on retry", "event_id", info.ID, "sequence_number", rec.Kinesis.SequenceNumber, "error", err)
			resp.BatchItemFailures = []events.KinesisBatchItemFailure{{ItemIdentifier: rec.Kinesis.SequenceNumber}}
			break
		}
		evaluated[poll.Key{Source: info.Source, LogType: info.LogType}]++
	}
	if d.Metrics != nil {
		for k, n := range evaluated {
			d.Metrics.Evaluated(k.Source, k.LogType, n)
		}
	}
	d.reportRuleErrors()
	d.reportLearning(ctx, log)
	if poison > 0 && d.Metrics != nil {
		d.Metrics.Poison(poison)
	}
	return resp, nil
}

func (d *DetectorFunction) publish(ctx context.Context, alerts []alert.Alert) error {
	for _, a := range alerts {
		if err := d.Publisher.Publish(ctx, a); err != nil {
			return fmt.Errorf("publish alert %s (%s): %w", a.RuleID, a.DedupKey, err)
		}
		if d.Metrics != nil {
			d.Metrics.Alerted(a.RuleID, string(a.Severity))
		}
		// The alert is out; failing the record now would publish it again for certain, while
		// an unacknowledged alert repeats only if its event is ever redelivered.
		if err := d.Detector.Ack(ctx, a); err != nil {
			logger(d).WarnContext(ctx, "alert published but not acknowledged; a redelivery would repeat it",
				"rule_id", a.RuleID, "alert_id", a.ID, "error", err)
		}
	}
	return nil
}

// logger returns the function's logger, or one that discards.
func logger(d *DetectorFunction) *slog.Logger {
	if d.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.Log
}

// reportLearning logs and counts, per rule, the first sightings learned silently since the
// last batch, so an operator who sees no new-IP alert after deploying can tell the rule is
// learning.
func (d *DetectorFunction) reportLearning(ctx context.Context, log *slog.Logger) {
	ls, ok := d.Detector.(learnedSightings)
	if !ok {
		return
	}
	d.learned = forNew(ls.Learned(), d.learned, func(rule string, n int64) {
		log.InfoContext(ctx, "first sightings learned without alerts: the rule is in its learning period", "rule_id", rule, "count", n)
		if d.Metrics != nil {
			d.Metrics.Learned(rule, int(n))
		}
	})
}

// forNew calls fn for each rule whose running total grew since seen (nil at first) and
// returns the totals to pass as seen next time.
func forNew(totals, seen map[string]int64, fn func(rule string, n int64)) map[string]int64 {
	for rule, total := range totals {
		if n := total - seen[rule]; n > 0 {
			fn(rule, n)
		}
	}
	return totals
}

// reportRuleErrors turns the engine's new rule evaluation errors since the last batch into
// metrics (the engine logs each one with rule and event id).
func (d *DetectorFunction) reportRuleErrors() {
	ce, ok := d.Detector.(conditionErrors)
	if !ok || d.Metrics == nil {
		return
	}
	d.reported = forNew(ce.ConditionErrors(), d.reported, func(rule string, n int64) { d.Metrics.RuleFailed(rule, int(n)) })
}
