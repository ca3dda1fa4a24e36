package alert

import (
	"encoding/json"
	"time"
)

// Severity orders how urgent an alert is, from INFO to CRITICAL.
type Severity string

// The severities a rule may carry, least to most urgent.
const (
	Info     Severity = "INFO"
	Low      Severity = "LOW"
	Medium   Severity = "MEDIUM"
	High     Severity = "HIGH"
	Critical Severity = "CRITICAL"
)

// Alert is one detection: every event of one rule and dedup key within the rule's period.
type Alert struct {
	// ID is stable per rule, dedup key and window: a repeated delivery of the same alert
	// (after a retry) carries the same ID, so subscribers can drop it.
	ID         string            `json:"id"`
	RuleID     string            `json:"rule_id"`
	Name       string            `json:"name"`
	Severity   Severity          `json:"severity"`
	Title      string            `json:"title"`
	DedupKey   string            `json:"dedup_key"`
	EventCount int               `json:"event_count"`
	FirstSeen  time.Time         `json:"first_seen"`
	LastSeen   time.Time         `json:"last_seen"`
	Source     string            `json:"source"`
	LogType    string            `json:"log_type"`
	Runbook    string            `json:"runbook,omitempty"`
	Reference  string            `json:"reference,omitempty"`
	MITRE      []string          `json:"mitre,omitempty"`
	EventIDs   []string          `json:"event_ids"`
	Samples    []json.RawMessage `json:"samples,omitempty"`
}
