package metrics

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/zoomwatch/zoomwatch/internal/event"
	"github.com/zoomwatch/zoomwatch/internal/zoom"
)

// DefaultNamespace is the CloudWatch namespace used when the configuration names none.
const DefaultNamespace = "zoomwatch"

// Metric names. Alarms and dashboards key on these; changing one is a breaking change.
const (
	EventsPolled      = "EventsPolled"
	PollLagSeconds    = "PollLagSeconds"
	RateLimited       = "RateLimited"
	AuthFailures      = "AuthFailures"
	TokenSaveFailures = "TokenSaveFailures"
	EventsEvaluated   = "EventsEvaluated"
	Alerts            = "Alerts"
	RuleErrors        = "RuleErrors"
	PoisonRecords     = "PoisonRecords"
	// SightingsLearned counts first sightings a first-seen rule remembered without an alert
	// during its learning period.
	SightingsLearned = "SightingsLearned"
	// TruncatedRecords counts envelopes too large for one Kinesis record that were sent with
	// their raw record replaced by a marker.
	TruncatedRecords = "TruncatedRecords"
)

// Dimension names.
const (
	DimStage    = "Stage"
	DimSource   = "Source"
	DimLogType  = "LogType"
	DimRuleID   = "RuleID"
	DimSeverity = "Severity"
)

// Units, as CloudWatch spells them.
const (
	unitCount   = "Count"
	unitSeconds = "Seconds"
)

// Config configures a Recorder.
type Config struct {
	// Namespace is the CloudWatch namespace; empty means DefaultNamespace.
	Namespace string
	// Stage is the deployment stage, a dimension of every metric.
	Stage string
	// Now stamps each line; nil means time.Now.
	Now func() time.Time
}

// Validate reports a configuration CloudWatch would reject.
func (c Config) Validate() error {
	var errs []error
	if c.Stage == "" {
		errs = append(errs, errors.New("metrics: stage is empty"))
	}
	if len(c.Namespace) > 255 {
		errs = append(errs, fmt.Errorf("metrics: namespace is %d characters, CloudWatch allows 255", len(c.Namespace)))
	}
	return errors.Join(errs...)
}

// Recorder writes EMF lines to a writer (os.Stdout in a Lambda function). It is safe for
// concurrent use; each measurement is one whole line, written with one Write call.
type Recorder struct {
	mu        sync.Mutex
	w         io.Writer
	namespace string
	stage     string
	now       func() time.Time
}

// New returns a Recorder writing to w.
func New(w io.Writer, cfg Config) (*Recorder, error) {
	if w == nil {
		return nil, errors.New("metrics: nil writer")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Namespace == "" {
		cfg.Namespace = DefaultNamespace
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Recorder{w: w, namespace: cfg.Namespace, stage: cfg.Stage, now: cfg.Now}, nil
}

// Polled records events delivered for one source and log type and how far its cursor lags
// behind the clock. It implements the poller's metrics port.
func (r *Recorder) Polled(source string, lt event.LogType, n int, lag time.Duration) {
	r.emit(
		dims{DimSource: source, DimLogType: string(lt)},
		[][]string{{DimStage}, {DimStage, DimSource, DimLogType}},
		value{EventsPolled, unitCount, float64(n)},
		value{PollLagSeconds, unitSeconds, lag.Seconds()},
	)
}

// PollFailed records a failed poll cycle of a source by its error kind: authentication
// failures, refresh tokens that could not be saved and rate limiting each have a metric (and
// an alarm); other kinds are left to the function's error metric.
func (r *Recorder) PollFailed(source string, kind zoom.ErrorKind) {
	switch kind {
	case zoom.KindAuth, zoom.KindGrantRejected, zoom.KindPermission:
		r.AuthFailed(source)
	case zoom.KindTokenSave:
		r.TokenSaveFailed(source)
	case zoom.KindRateLimit, zoom.KindDailyLimit:
		r.RateLimited(source, 1)
	}
}

// AuthFailed counts one authentication failure of a source (credentials or grant rejected).
func (r *Recorder) AuthFailed(source string) {
	r.sourceCount(source, AuthFailures, 1)
}

// TokenSaveFailed counts one rotated refresh token that could not be saved.
func (r *Recorder) TokenSaveFailed(source string) {
	r.sourceCount(source, TokenSaveFailures, 1)
}

// RateLimited counts n rate-limited Zoom responses of a source.
func (r *Recorder) RateLimited(source string, n int) {
	r.sourceCount(source, RateLimited, n)
}

// Truncated counts one envelope sent with its raw record replaced because it exceeded the
// Kinesis record size limit.
func (r *Recorder) Truncated(source string, lt event.LogType) {
	r.emit(
		dims{DimSource: source, DimLogType: string(lt)},
		[][]string{{DimStage}, {DimStage, DimSource, DimLogType}},
		value{TruncatedRecords, unitCount, 1},
	)
}

// Evaluated records n envelopes of one source and log type run through the rules.
func (r *Recorder) Evaluated(source string, lt event.LogType, n int) {
	r.emit(
		dims{DimSource: source, DimLogType: string(lt)},
		[][]string{{DimStage}, {DimStage, DimSource, DimLogType}},
		value{EventsEvaluated, unitCount, float64(n)},
	)
}

// Alerted counts one alert published by a rule at a severity.
func (r *Recorder) Alerted(ruleID, severity string) {
	r.emit(
		dims{DimRuleID: ruleID, DimSeverity: severity},
		[][]string{{DimStage}, {DimStage, DimRuleID, DimSeverity}},
		value{Alerts, unitCount, 1},
	)
}

// RuleFailed counts n evaluation errors of a rule (its condition or a template failed).
func (r *Recorder) RuleFailed(ruleID string, n int) {
	r.emit(
		dims{DimRuleID: ruleID},
		[][]string{{DimStage}, {DimStage, DimRuleID}},
		value{RuleErrors, unitCount, float64(n)},
	)
}

// Learned counts n first sightings a rule remembered without an alert during its learning
// period, so a dashboard shows a new-IP rule learning instead of silence.
func (r *Recorder) Learned(ruleID string, n int) {
	r.emit(
		dims{DimRuleID: ruleID},
		[][]string{{DimStage}, {DimStage, DimRuleID}},
		value{SightingsLearned, unitCount, float64(n)},
	)
}

// Poison counts n stream records that could not be decoded and were sent on, not retried.
func (r *Recorder) Poison(n int) {
	r.emit(nil, [][]string{{DimStage}}, value{PoisonRecords, unitCount, float64(n)})
}

func (r *Recorder) sourceCount(source, name string, n int) {
	r.emit(
		dims{DimSource: source},
		[][]string{{DimStage}, {DimStage, DimSource}},
		value{name, unitCount, float64(n)},
	)
}

type dims map[string]string

type value struct {
	name, unit string
	v          float64
}

// emit writes one EMF line. A dimension value CloudWatch would reject (empty) is written as
// "unknown", so the metric is still published rather than the whole line being dropped.
func (r *Recorder) emit(d dims, sets [][]string, values ...value) {
	line := make(map[string]any, len(d)+len(values)+2)
	line[DimStage] = r.stage
	for k, v := range d {
		if v == "" {
			v = "unknown"
		}
		line[k] = v
	}
	defs := make([]metricDef, len(values))
	for i, v := range values {
		defs[i] = metricDef{Name: v.name, Unit: v.unit}
		line[v.name] = v.v
	}
	line["_aws"] = awsMeta{
		Timestamp: r.now().UnixMilli(),
		CloudWatchMetrics: []directive{{
			Namespace:  r.namespace,
			Dimensions: sets,
			Metrics:    defs,
		}},
	}
	b, err := json.Marshal(line) // map keys are sorted, so lines are stable
	if err != nil {
		// Only strings and finite floats go in; NaN/Inf are the one way to get here.
		return
	}
	b = append(b, '\n')
	r.mu.Lock()
	defer r.mu.Unlock()
	_, _ = r.w.Write(b) // metrics never fail the work they measure
}

type awsMeta struct {
	Timestamp         int64       `json:"Timestamp"`
	CloudWatchMetrics []directive `json:"CloudWatchMetrics"`
}

type directive struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []metricDef `json:"Metrics"`
}

type metricDef struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}
