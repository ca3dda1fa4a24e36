package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
)

// Context keys, as given in cdk.json or with `-c key=value`.
const (
	KeyStage              = "stage"
	KeySources            = "sources"
	KeyAlertEmail         = "alertEmail"
	KeySlackWorkspaceID   = "slackWorkspaceId"
	KeySlackChannelID     = "slackChannelId"
	KeySchedule           = "schedule"
	KeyDropOffHours       = "dropOffHours"
	KeyStreamMode         = "streamMode"
	KeyShardCount         = "shardCount"
	KeyStreamRetention    = "streamRetentionHours"
	KeyBatchSize          = "batchSize"
	KeyBatchWindowSeconds = "batchWindowSeconds"
	KeyLogRetentionDays   = "logRetentionDays"
	KeyAssetDir           = "assetDir"
	KeyLogLevel           = "logLevel"
	KeyZoomAuthBase       = "zoomAuthBase"
	KeyZoomAPIBase        = "zoomApiBase"
)

// Stream modes accepted by KeyStreamMode.
const (
	StreamOnDemand    = "on-demand"
	StreamProvisioned = "provisioned"
)

// FunctionNames are the Lambda functions of the stack; each is built as <assetDir>/<name>/bootstrap.
func FunctionNames() []string { return []string{"poller", "detector", "oauth"} }

// SourceConfig is one Zoom account to watch, as written in the sources context value.
type SourceConfig struct {
	// ID names the source in secrets, state keys and metrics.
	ID string `json:"id"`
	// Label is for people.
	Label string `json:"label"`
	// AuthType is "s2s" (Server-to-Server OAuth) or "oauth" (authorization code).
	AuthType string `json:"authType"`
}

// Config is the stack's deploy-time configuration, read from CDK context.
type Config struct {
	Stage            string
	Sources          []SourceConfig
	AlertEmail       string
	SlackWorkspaceID string
	SlackChannelID   string
	// Schedule is an EventBridge schedule expression: rate(...) or cron(...).
	Schedule string
	// DropOffHours is how long no polled event at all raises the log drop-off alarm.
	DropOffHours int
	// StreamMode is StreamOnDemand or StreamProvisioned (then ShardCount shards).
	StreamMode           string
	ShardCount           int
	StreamRetentionHours int
	BatchSize            int
	BatchWindowSeconds   int
	LogRetentionDays     int
	// AssetDir holds <function>/bootstrap, built by `make build`.
	AssetDir     string
	LogLevel     string
	ZoomAuthBase string
	ZoomAPIBase  string
}

// DefaultConfig holds the value of every optional context key; cdk.json repeats them so they
// are visible to whoever deploys.
func DefaultConfig() Config {
	return Config{
		Stage:                "dev",
		Schedule:             "rate(5 minutes)",
		DropOffHours:         6,
		StreamMode:           StreamOnDemand,
		ShardCount:           1,
		StreamRetentionHours: 24,
		BatchSize:            100,
		BatchWindowSeconds:   5,
		LogRetentionDays:     90,
		AssetDir:             "../dist",
		LogLevel:             "info",
		ZoomAuthBase:         "https://zoom.us",
		ZoomAPIBase:          "https://api.zoom.us/v2",
	}
}

// ContextError names the context key whose value is missing or invalid and says how to set it.
type ContextError struct {
	Key, Reason, Example string
}

func (e *ContextError) Error() string {
	return fmt.Sprintf("context %q: %s (set it in cdk.json or with -c %s=%s)", e.Key, e.Reason, e.Key, e.Example)
}

// ContextReader returns a context value, or nil when the key is not set.
type ContextReader func(key string) any

var (
	stagePattern    = regexp.MustCompile(`^[a-z][a-z0-9-]{0,15}$`)
	sourceIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)
	slackTeam       = regexp.MustCompile(`^T[A-Z0-9]{6,}$`)
	slackChannel    = regexp.MustCompile(`^[CG][A-Z0-9]{6,}$`)
	schedulePattern = regexp.MustCompile(`^(rate|cron)\(.+\)$`)
)

// logRetentions are the retention periods CloudWatch Logs offers, in days.
func logRetentions() map[int]awslogs.RetentionDays {
	return map[int]awslogs.RetentionDays{
		1: awslogs.RetentionDays_ONE_DAY, 3: awslogs.RetentionDays_THREE_DAYS, 5: awslogs.RetentionDays_FIVE_DAYS,
		7: awslogs.RetentionDays_ONE_WEEK, 14: awslogs.RetentionDays_TWO_WEEKS, 30: awslogs.RetentionDays_ONE_MONTH,
		60: awslogs.RetentionDays_TWO_MONTHS, 90: awslogs.RetentionDays_THREE_MONTHS, 120: awslogs.RetentionDays_FOUR_MONTHS,
		150: awslogs.RetentionDays_FIVE_MONTHS, 180: awslogs.RetentionDays_SIX_MONTHS, 365: awslogs.RetentionDays_ONE_YEAR,
		400: awslogs.RetentionDays_THIRTEEN_MONTHS, 545: awslogs.RetentionDays_EIGHTEEN_MONTHS, 731: awslogs.RetentionDays_TWO_YEARS,
		1096: awslogs.RetentionDays_THREE_YEARS, 1827: awslogs.RetentionDays_FIVE_YEARS, 2192: awslogs.RetentionDays_SIX_YEARS,
		2557: awslogs.RetentionDays_SEVEN_YEARS, 2922: awslogs.RetentionDays_EIGHT_YEARS, 3288: awslogs.RetentionDays_NINE_YEARS,
		3653: awslogs.RetentionDays_TEN_YEARS,
	}
}

// ConfigFromContext reads and validates every context key. It reports all problems at once.
func ConfigFromContext(get ContextReader) (Config, error) {
	c := DefaultConfig()
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	str := func(key string, dst *string) {
		if v := get(key); v != nil {
			*dst = strings.TrimSpace(fmt.Sprint(v))
		}
	}
	num := func(key, example string, dst *int, lo, hi int) {
		v := get(key)
		if v == nil {
			return
		}
		n, err := strconv.Atoi(strings.TrimSpace(fmt.Sprint(v)))
		if err != nil || n < lo || n > hi {
			add(&ContextError{key, fmt.Sprintf("%v is not a whole number from %d to %d", v, lo, hi), example})
			return
		}
		*dst = n
	}

	str(KeyStage, &c.Stage)
	if !stagePattern.MatchString(c.Stage) {
		add(&ContextError{KeyStage, fmt.Sprintf("%q must be lowercase letters, digits and dashes, starting with a letter, at most 16 characters", c.Stage), "prod"})
	}
	srcs, err := parseSources(get(KeySources))
	add(err)
	c.Sources = srcs
	str(KeyAlertEmail, &c.AlertEmail)
	if c.AlertEmail != "" {
		if a, err := mail.ParseAddress(c.AlertEmail); err != nil || a.Address != c.AlertEmail {
			add(&ContextError{KeyAlertEmail, fmt.Sprintf("%q is not an email address", c.AlertEmail), "security@example.com"})
		}
	}
	str(KeySlackWorkspaceID, &c.SlackWorkspaceID)
	str(KeySlackChannelID, &c.SlackChannelID)
	switch {
	case c.SlackWorkspaceID != "" && c.SlackChannelID == "":
		add(&ContextError{KeySlackChannelID, "is required when slackWorkspaceId is set", "C0123456789"})
	case c.SlackWorkspaceID == "" && c.SlackChannelID != "":
		add(&ContextError{KeySlackWorkspaceID, "is required when slackChannelId is set (authorize the workspace in the AWS Chatbot console first)", "T0123456789"})
	}
	if c.SlackWorkspaceID != "" && !slackTeam.MatchString(c.SlackWorkspaceID) {
		add(&ContextError{KeySlackWorkspaceID, fmt.Sprintf("%q is not a Slack workspace id (T followed by capitals and digits)", c.SlackWorkspaceID), "T0123456789"})
	}
	if c.SlackChannelID != "" && !slackChannel.MatchString(c.SlackChannelID) {
		add(&ContextError{KeySlackChannelID, fmt.Sprintf("%q is not a Slack channel id (C or G followed by capitals and digits; copy it from the channel's details)", c.SlackChannelID), "C0123456789"})
	}
	str(KeySchedule, &c.Schedule)
	if !schedulePattern.MatchString(c.Schedule) {
		add(&ContextError{KeySchedule, fmt.Sprintf("%q is not an EventBridge schedule expression", c.Schedule), "'rate(5 minutes)'"})
	}
	// A CloudWatch alarm looks back at most one day.
	num(KeyDropOffHours, "6", &c.DropOffHours, 1, 24)
	str(KeyStreamMode, &c.StreamMode)
	if c.StreamMode != StreamOnDemand && c.StreamMode != StreamProvisioned {
		add(&ContextError{KeyStreamMode, fmt.Sprintf("%q must be %s or %s", c.StreamMode, StreamOnDemand, StreamProvisioned), StreamOnDemand})
	}
	num(KeyShardCount, "1", &c.ShardCount, 1, 100)
	num(KeyStreamRetention, "24", &c.StreamRetentionHours, 24, 8760)
	num(KeyBatchSize, "100", &c.BatchSize, 1, 10000)
	num(KeyBatchWindowSeconds, "5", &c.BatchWindowSeconds, 0, 300)
	num(KeyLogRetentionDays, "90", &c.LogRetentionDays, 1, 3653)
	if _, ok := logRetentions()[c.LogRetentionDays]; !ok {
		add(&ContextError{KeyLogRetentionDays, fmt.Sprintf("%d is not a retention CloudWatch Logs offers (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827 …)", c.LogRetentionDays), "90"})
	}
	str(KeyAssetDir, &c.AssetDir)
	str(KeyLogLevel, &c.LogLevel)
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		add(&ContextError{KeyLogLevel, fmt.Sprintf("%q must be debug, info, warn or error", c.LogLevel), "info"})
	}
	str(KeyZoomAuthBase, &c.ZoomAuthBase)
	str(KeyZoomAPIBase, &c.ZoomAPIBase)
	for key, v := range map[string]string{KeyZoomAuthBase: c.ZoomAuthBase, KeyZoomAPIBase: c.ZoomAPIBase} {
		if !strings.HasPrefix(v, "https://") {
			add(&ContextError{key, fmt.Sprintf("%q must be an https:// URL", v), DefaultConfig().ZoomAPIBase})
		}
	}
	return c, errors.Join(errs...)
}

func parseSources(v any) ([]SourceConfig, error) {
	const example = `'[{"id":"main","label":"Zoom","authType":"s2s"}]'`
	if v == nil {
		return nil, &ContextError{KeySources, "no Zoom source configured", example}
	}
	// cdk.json gives a JSON array; -c gives a string holding one.
	raw, ok := v.(string)
	if !ok {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, &ContextError{KeySources, "not a JSON list", example}
		}
		raw = string(b)
	}
	var srcs []SourceConfig
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&srcs); err != nil {
		return nil, &ContextError{KeySources, "not a JSON list of {id,label,authType}: " + err.Error(), example}
	}
	if len(srcs) == 0 {
		return nil, &ContextError{KeySources, "no Zoom source configured", example}
	}
	var errs []error
	seen := map[string]bool{}
	for i := range srcs {
		s := &srcs[i]
		switch {
		case !sourceIDPattern.MatchString(s.ID):
			errs = append(errs, &ContextError{KeySources, fmt.Sprintf("source %d id %q must be lowercase letters, digits, - or _, at most 32 characters", i, s.ID), example})
		case seen[alnum(s.ID)]:
			// Stack outputs are named by the id's letters and digits, so "a-b" and "ab" collide.
			errs = append(errs, &ContextError{KeySources, fmt.Sprintf("source id %q appears twice (ids may not differ only in - and _)", s.ID), example})
		case s.AuthType != "s2s" && s.AuthType != "oauth":
			errs = append(errs, &ContextError{KeySources, fmt.Sprintf("source %q authType %q must be s2s or oauth", s.ID, s.AuthType), example})
		}
		seen[alnum(s.ID)] = true
		if s.Label == "" {
			s.Label = s.ID
		}
	}
	return srcs, errors.Join(errs...)
}

// CheckAssets reports a function whose bootstrap binary is missing from the asset directory.
func (c Config) CheckAssets() error {
	var errs []error
	for _, fn := range FunctionNames() {
		p := filepath.Join(c.AssetDir, fn, "bootstrap")
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		if _, err := os.Stat(p); err != nil {
			errs = append(errs, &ContextError{KeyAssetDir, fmt.Sprintf("%s not found: run `make build` first, or point assetDir at the built functions", p), "../dist"})
		}
	}
	return errors.Join(errs...)
}

// ParamPrefix is the SSM path of the stage's tunables, with leading and trailing slash.
func (c Config) ParamPrefix() string { return "/zoomwatch/" + c.Stage + "/" }
