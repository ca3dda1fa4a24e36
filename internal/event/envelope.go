package event

import (
	"encoding/json"
	"fmt"
	"time"
)

// LogType names the Zoom report a record came from, using the names rule packs key on.
type LogType string

const (
	// Operation is a record of GET /report/operationlogs (admin and user operations).
	Operation LogType = "Zoom.Operation"
	// Activity is a record of GET /report/activities (sign-in and sign-out).
	Activity LogType = "Zoom.Activity"
)

// LogTypes lists every log type zoomwatch polls, in poll order.
var LogTypes = [...]LogType{Operation, Activity}

// Valid reports whether t is a log type zoomwatch knows.
func (t LogType) Valid() bool { return t == Operation || t == Activity }

// ParseLogType accepts the canonical names and the short forms people type ("operation",
// "activity", "operationlogs", "activities").
func ParseLogType(s string) (LogType, error) {
	switch s {
	case string(Operation), "operation", "operations", "operationlogs", "operation_logs":
		return Operation, nil
	case string(Activity), "activity", "activities", "activity_logs", "signin":
		return Activity, nil
	}
	return "", fmt.Errorf("unknown log type %q (want %s or %s)", s, Operation, Activity)
}

// Envelope is one normalized Zoom record: one Kinesis record, one CLI JSON line.
type Envelope struct {
	// ID is the hex SHA-256 of source, log type and the raw record's canonical JSON.
	ID string `json:"id"`
	// Source is the configured Zoom source (account connection) the record was polled from.
	Source string `json:"source"`
	// LogType says which report the record came from.
	LogType LogType `json:"log_type"`
	// Time is the record's own time, UTC, second precision.
	Time time.Time `json:"time"`
	// IngestedAt is when zoomwatch polled the record.
	IngestedAt time.Time `json:"ingested_at"`
	// Actor is who acted: the operator of an operation log, the user of an activity record.
	Actor string `json:"actor,omitempty"`
	// Emails are all e-mail addresses found in the record (actor first, then targets).
	Emails []string `json:"emails,omitempty"`
	// IPs are the IP addresses found in the record.
	IPs []string `json:"ips,omitempty"`
	// Detail holds the fields extracted from the record for rules.
	Detail Detail `json:"detail"`
	// Raw is the Zoom record exactly as received.
	Raw json.RawMessage `json:"raw"`
}

// Detail is what normalization extracts from a record. For operation logs most of it comes from
// parsing operation_detail (see ParseOperationDetail); fields that do not apply stay empty.
type Detail struct {
	// Category is the operation log's category_type ("User", "Account", "User Group", "Role",
	// "Billing", …).
	Category string `json:"category,omitempty"`
	// Action is the operation log's action ("Update", "Delete", "Add", "Batch Update", …), or
	// the activity record's type ("Sign in", "Sign out").
	Action string `json:"action,omitempty"`
	// Object is the leading phrase of operation_detail before "  - " ("Security",
	// "Update User bart@x.io", "Edit Group Springfield").
	Object string `json:"object,omitempty"`
	// Setting is the setting or attribute that changed ("Sign in with Two-Factor Authentication",
	// "User Role").
	Setting string `json:"setting,omitempty"`
	// From and To are the old and new values of a "from X to Y" change.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// TargetUser is the e-mail address the operation acted on, when one is named.
	TargetUser string `json:"target_user,omitempty"`
	// Group is the user group named by the operation ("Edit Group Springfield").
	Group string `json:"group,omitempty"`
	// Role is the role named by the operation (role created/deleted/edited, or the new role
	// of a role change).
	Role string `json:"role,omitempty"`
	// Text is the whole operation_detail as received.
	Text string `json:"text,omitempty"`
	// Parsed is false when operation_detail had a shape the parser does not know; the text is
	// still kept in Text and in Raw, never dropped.
	Parsed bool `json:"parsed,omitempty"`
	// ClientType and Version describe the Zoom client of an activity record.
	ClientType string `json:"client_type,omitempty"`
	Version    string `json:"version,omitempty"`
}
