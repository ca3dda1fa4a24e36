package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/zoomwatch/zoomwatch/internal/alert"
	"github.com/zoomwatch/zoomwatch/internal/event"
)

// Publisher delivers an alert to its subscribers (SNS in AWS).
type Publisher interface {
	Publish(ctx context.Context, a alert.Alert) error
}

// DetectMetrics receives what the detector measures; internal/metrics writes it as EMF lines.
type DetectMetrics interface {
	Evaluated(source string, lt event.LogType, n int)
	Alerted(ruleID, severity string)
	Poison(n int)
}

// Retuner refreshes the rules' tuning before a batch (SSM overrides in AWS); nil means none.
type Retuner interface {
	Retune(ctx context.Context) error
}

// DetectorFunction is the Kinesis-triggered detector: envelopes in, alerts out.
type DetectorFunction struct {
	Detector  Detector
	Publisher Publisher
	Retuner   Retuner
	Metrics   DetectMetrics
	Log       *slog.Logger
}

// Handle processes a Kinesis batch in order. It stops at the first record it cannot finish
// (state or publish failure) and reports that record as the batch item failure, so the event
// source mapping retries from there; the records before it are done, and those after it are
// evaluated again on retry, which the detector's per-event idempotent state makes harmless.
// An undecodable record is a poison record: logged, counted and skipped, never retried.
func (d *DetectorFunction) Handle(ctx context.Context, in events.KinesisEvent) (events.KinesisEventResponse, error) {
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if d.Retuner != nil {
		if err := d.Retuner.Retune(ctx); err != nil {
			log.WarnContext(ctx, "tuning unavailable; keeping the rules in force", "error", err)
		}
	}
	var resp events.KinesisEventResponse
	poison := 0
	for _, rec := range in.Records {
		var env event.Envelope
		if err := decodeEnvelope(rec.Kinesis.Data, &env); err != nil {
			poison++
			log.ErrorContext(ctx, "poison record skipped", "sequence_number", rec.Kinesis.SequenceNumber, "event_source_arn", rec.EventSourceArn, "error", err)
			continue
		}
		alerts, err := d.Detector.Detect(ctx, []event.Envelope{env})
		if err == nil {
			err = d.publish(ctx, alerts)
		}
		if err != nil {
			log.ErrorContext(ctx, "record not processed; the batch resumes here on retry", "event_id", env.ID, "sequence_number", rec.Kinesis.SequenceNumber, "error", err)
			resp.BatchItemFailures = []events.KinesisBatchItemFailure{{ItemIdentifier: rec.Kinesis.SequenceNumber}}
			break
		}
		if d.Metrics != nil {
			d.Metrics.Evaluated(env.Source, env.LogType, 1)
		}
	}
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
	}
	return nil
}

// decodeEnvelope reads one Kinesis record's envelope and checks what the detector relies on.
func decodeEnvelope(data []byte, env *event.Envelope) error {
	if err := json.Unmarshal(data, env); err != nil {
		return fmt.Errorf("not an envelope: %w", err)
	}
	switch {
	case env.ID == "":
		return fmt.Errorf("envelope has no id")
	case !env.LogType.Valid():
		return fmt.Errorf("envelope %s has unknown log_type %q", env.ID, env.LogType)
	case len(env.Raw) == 0:
		return fmt.Errorf("envelope %s has no raw record", env.ID)
	}
	return nil
}
