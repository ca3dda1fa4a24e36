package snsalert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/zoomwatch/zoomwatch/internal/alert"
)

// MaxMessageBytes is SNS's limit on a published message, attributes included.
const MaxMessageBytes = 256 * 1024

// Message attribute names subscriptions filter on.
const (
	AttrSeverity = "severity"
	AttrRuleID   = "rule_id"
	AttrLogType  = "log_type"
	// AttrAlertID is the alert's stable id: a redelivered alert carries the same one, so a
	// machine subscriber can drop the repeat.
	AttrAlertID = "alert_id"
	// AttrKind is "alert" or "ops", so one subscriber of both topics can tell them apart.
	AttrKind = "kind"
)

// API is the part of the SNS client the publisher uses.
type API interface {
	Publish(ctx context.Context, in *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// Config configures a Publisher.
type Config struct {
	// AlertsTopicARN receives alerts.
	AlertsTopicARN string
	// OpsTopicARN receives operator notices; empty means NotifyOps fails.
	OpsTopicARN string
	// ChatbotHTTPS sends the AWS Chatbot (Slack) rendering to HTTPS subscribers instead of
	// the alert JSON.
	ChatbotHTTPS bool
	// Log may be nil.
	Log *slog.Logger
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	var errs []error
	if c.AlertsTopicARN == "" && c.OpsTopicARN == "" {
		// One of the two is enough: the poller only ever notifies operators.
		errs = append(errs, errors.New("sns alerts: neither an alerts nor an ops topic ARN is set"))
	}
	for _, arn := range []string{c.AlertsTopicARN, c.OpsTopicARN} {
		if arn != "" && !strings.HasPrefix(arn, "arn:") {
			errs = append(errs, fmt.Errorf("sns alerts: %q is not a topic ARN", arn))
		}
	}
	return errors.Join(errs...)
}

// Publisher publishes alerts and operator notices. It is safe for concurrent use.
type Publisher struct {
	api API
	cfg Config
	log *slog.Logger
}

// New returns a Publisher publishing through api.
func New(api API, cfg Config) (*Publisher, error) {
	if api == nil {
		return nil, errors.New("sns alerts: nil client")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Publisher{api: api, cfg: cfg, log: log}, nil
}

// Publish sends a to the alerts topic. An alert whose message would exceed MaxMessageBytes is
// published with fewer sample events and event IDs (event_count still counts them all).
func (p *Publisher) Publish(ctx context.Context, a alert.Alert) error {
	if p.cfg.AlertsTopicARN == "" {
		return errors.New("publish alert: no alerts topic configured")
	}
	in, err := p.alertInput(a)
	if err != nil {
		return err
	}
	out, err := p.api.Publish(ctx, in)
	if err != nil {
		return fmt.Errorf("publish alert %s (%s) to %s: %w", a.RuleID, a.DedupKey, p.cfg.AlertsTopicARN, err)
	}
	p.log.DebugContext(ctx, "alert published", "rule_id", a.RuleID, "message_id", aws.ToString(out.MessageId))
	return nil
}

// NotifyOps sends an operator notice to the ops topic as plain text. It implements the
// poller's OpsNotifier port.
func (p *Publisher) NotifyOps(ctx context.Context, subject, message string) error {
	if p.cfg.OpsTopicARN == "" {
		return errors.New("notify ops: no ops topic configured")
	}
	// alert.Subject is the one place that makes a subject SNS accepts; an ops notice has the
	// same "[LEVEL] text" shape as an alert.
	in := &sns.PublishInput{
		TopicArn: aws.String(p.cfg.OpsTopicARN),
		Subject:  aws.String(alert.Alert{Severity: "OPS", Title: subject}.Subject()),
		Message:  aws.String(message),
		MessageAttributes: map[string]types.MessageAttributeValue{
			AttrKind:     stringAttr("ops"),
			AttrSeverity: stringAttr(string(alert.High)),
		},
	}
	if _, err := p.api.Publish(ctx, in); err != nil {
		return fmt.Errorf("notify ops on %s: %w", p.cfg.OpsTopicARN, err)
	}
	return nil
}

// alertInput builds the Publish request of a, shrinking it to fit.
func (p *Publisher) alertInput(a alert.Alert) (*sns.PublishInput, error) {
	attrs := map[string]types.MessageAttributeValue{AttrKind: stringAttr("alert")}
	// SNS rejects an empty String attribute; a missing one simply does not match a filter.
	for name, v := range map[string]string{AttrSeverity: string(a.Severity), AttrRuleID: a.RuleID, AttrLogType: a.LogType, AttrAlertID: a.ID} {
		if v != "" {
			attrs[name] = stringAttr(v)
		}
	}
	attrBytes := 0
	for name, v := range attrs {
		attrBytes += len(name) + len(*v.DataType) + len(aws.ToString(v.StringValue))
	}
	subject := a.Subject()
	for {
		msg, err := p.message(a)
		if err != nil {
			return nil, err
		}
		if len(msg)+attrBytes+len(subject) <= MaxMessageBytes {
			return &sns.PublishInput{
				TopicArn:          aws.String(p.cfg.AlertsTopicARN),
				Subject:           aws.String(subject),
				Message:           aws.String(msg),
				MessageStructure:  aws.String("json"),
				MessageAttributes: attrs,
			}, nil
		}
		switch {
		case len(a.Samples) > 0:
			a.Samples = a.Samples[:len(a.Samples)/2]
		case len(a.EventIDs) > 1:
			a.EventIDs = a.EventIDs[:len(a.EventIDs)/2]
		default:
			return nil, fmt.Errorf("publish alert %s: message of %d bytes exceeds SNS's %d even without samples", a.RuleID, len(msg), MaxMessageBytes)
		}
	}
}

// message is the MessageStructure=json body: one rendering per protocol.
func (p *Publisher) message(a alert.Alert) (string, error) {
	js, err := a.JSON()
	if err != nil {
		return "", fmt.Errorf("render alert %s as JSON: %w", a.RuleID, err)
	}
	machine := string(js)
	https := machine
	if p.cfg.ChatbotHTTPS {
		slack, err := a.Slack()
		if err != nil {
			return "", fmt.Errorf("render alert %s for Slack: %w", a.RuleID, err)
		}
		https = string(slack)
	}
	body := map[string]string{
		"default":    machine,
		"email":      a.Text(),
		"email-json": machine,
		"sqs":        machine,
		"lambda":     machine,
		"http":       machine,
		"https":      https,
		"sms":        a.Subject(),
	}
	b, err := json.Marshal(body)
	if err != nil {
		return "", fmt.Errorf("encode alert %s message: %w", a.RuleID, err)
	}
	return string(b), nil
}

func stringAttr(v string) types.MessageAttributeValue {
	return types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
}
