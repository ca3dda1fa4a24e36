package pipeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// Source is one configured Zoom account connection, as the stack passes it in SOURCES.
type Source struct {
	// ID names the source in envelopes, state keys and metrics.
	ID string `json:"id"`
	// Label is for people.
	Label string `json:"label"`
	// AuthType is "s2s" (Server-to-Server OAuth) or "oauth" (authorization code).
	AuthType string `json:"auth_type"`
	// SecretID is the Secrets Manager secret (ARN or name) holding its credentials.
	SecretID string `json:"secret_id"`
}

// Env is the configuration the stack gives the functions through environment variables.
type Env struct {
	Stage            string
	StateTable       string
	SSMPrefix        string
	MetricsNamespace string
	StreamName       string
	AlertsTopicARN   string
	OpsTopicARN      string
	SetupSecretID    string
	ZoomAuthBase     string
	ZoomAPIBase      string
	LogLevel         slog.Level
	Sources          []Source
}

// EnvError names the environment variable that is missing or invalid.
type EnvError struct {
	Var, Reason string
}

func (e *EnvError) Error() string { return fmt.Sprintf("environment variable %s: %s", e.Var, e.Reason) }

// ReadEnv reads the functions' environment through getenv (os.Getenv in main). It checks
// what every function needs; each function's Require adds what it alone needs.
func ReadEnv(getenv func(string) string) (Env, error) {
	e := Env{
		Stage:            getenv("ZOOMWATCH_STAGE"),
		StateTable:       getenv("STATE_TABLE"),
		SSMPrefix:        getenv("SSM_PREFIX"),
		MetricsNamespace: getenv("METRICS_NAMESPACE"),
		StreamName:       getenv("STREAM_NAME"),
		AlertsTopicARN:   getenv("ALERTS_TOPIC_ARN"),
		OpsTopicARN:      getenv("OPS_TOPIC_ARN"),
		SetupSecretID:    getenv("SETUP_SECRET_ID"),
		ZoomAuthBase:     getenv("ZOOM_AUTH_BASE"),
		ZoomAPIBase:      getenv("ZOOM_API_BASE"),
	}
	var errs []error
	if e.Stage == "" {
		errs = append(errs, &EnvError{"ZOOMWATCH_STAGE", "not set"})
	}
	if e.StateTable == "" {
		errs = append(errs, &EnvError{"STATE_TABLE", "not set"})
	}
	if e.SSMPrefix == "" {
		e.SSMPrefix = "/zoomwatch/" + e.Stage + "/"
	}
	if !strings.HasPrefix(e.SSMPrefix, "/") || !strings.HasSuffix(e.SSMPrefix, "/") {
		errs = append(errs, &EnvError{"SSM_PREFIX", fmt.Sprintf("%q must start and end with /", e.SSMPrefix)})
	}
	if e.MetricsNamespace == "" {
		e.MetricsNamespace = "zoomwatch"
	}
	if lvl := getenv("LOG_LEVEL"); lvl != "" {
		if err := e.LogLevel.UnmarshalText([]byte(lvl)); err != nil {
			errs = append(errs, &EnvError{"LOG_LEVEL", fmt.Sprintf("%q is not debug, info, warn or error", lvl)})
		}
	}
	if raw := getenv("SOURCES"); raw != "" {
		if err := json.Unmarshal([]byte(raw), &e.Sources); err != nil {
			errs = append(errs, &EnvError{"SOURCES", "not a JSON array of {id,label,auth_type,secret_id}: " + err.Error()})
		}
		seen := map[string]bool{}
		for i, s := range e.Sources {
			switch {
			case s.ID == "":
				errs = append(errs, &EnvError{"SOURCES", fmt.Sprintf("source %d has no id", i)})
			case seen[s.ID]:
				errs = append(errs, &EnvError{"SOURCES", fmt.Sprintf("source id %q appears twice", s.ID)})
			case s.AuthType != "s2s" && s.AuthType != "oauth":
				errs = append(errs, &EnvError{"SOURCES", fmt.Sprintf("source %q auth_type %q must be s2s or oauth", s.ID, s.AuthType)})
			case s.SecretID == "":
				errs = append(errs, &EnvError{"SOURCES", fmt.Sprintf("source %q has no secret_id", s.ID)})
			}
			seen[s.ID] = true
		}
	}
	return e, errors.Join(errs...)
}

// Require reports each named variable that is empty in e, for one function's needs.
func (e Env) Require(vars ...string) error {
	values := map[string]string{
		"STREAM_NAME": e.StreamName, "ALERTS_TOPIC_ARN": e.AlertsTopicARN, "OPS_TOPIC_ARN": e.OpsTopicARN,
		"SETUP_SECRET_ID": e.SetupSecretID,
	}
	var errs []error
	for _, v := range vars {
		if v == "SOURCES" {
			if len(e.Sources) == 0 {
				errs = append(errs, &EnvError{"SOURCES", "no Zoom source configured"})
			}
			continue
		}
		if values[v] == "" {
			errs = append(errs, &EnvError{v, "not set"})
		}
	}
	return errors.Join(errs...)
}
