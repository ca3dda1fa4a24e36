package alert

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// MaxSubject is the longest subject SNS accepts for email.
const MaxSubject = 100

// Subject is "[SEVERITY] title" as SNS wants an email subject: printable ASCII on one line, at
// most MaxSubject bytes (cut with "..." when longer).
func (a Alert) Subject() string {
	var sb strings.Builder
	sb.WriteString("[" + string(a.Severity) + "] ")
	space := false
	for _, r := range a.Title {
		switch {
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
			space = true
			continue
		case r < 0x20 || r == 0x7f:
			continue
		}
		if space && sb.Len() > 0 {
			sb.WriteByte(' ')
		}
		space = false
		if r > 0x7e {
			r = '?'
		}
		sb.WriteRune(r)
	}
	s := sb.String()
	if len(s) > MaxSubject {
		s = strings.TrimRight(s[:MaxSubject-3], " ") + "..."
	}
	return s
}

// Text is the alert as a readable plain-text email body.
func (a Alert) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", a.Title)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%-11s %s\n", k+":", v)
		}
	}
	row("Severity", string(a.Severity))
	row("Rule", a.Name+" ("+a.RuleID+")")
	row("Source", a.Source)
	row("Log type", a.LogType)
	row("Events", fmt.Sprint(a.EventCount))
	row("First seen", timeText(a.FirstSeen))
	row("Last seen", timeText(a.LastSeen))
	row("Dedup key", a.DedupKey)
	if len(a.MITRE) > 0 {
		row("MITRE", strings.Join(a.MITRE, ", "))
	}
	if a.Runbook != "" {
		fmt.Fprintf(&b, "\nWhat to do\n%s\n", strings.TrimSpace(a.Runbook))
	}
	if a.Reference != "" {
		fmt.Fprintf(&b, "\nReference: %s\n", a.Reference)
	}
	if len(a.Samples) > 0 {
		b.WriteString("\nSample events\n")
		for _, s := range a.Samples {
			fmt.Fprintf(&b, "  %s\n", compact(s))
		}
	}
	if len(a.EventIDs) > 0 {
		b.WriteString("\nEvent IDs\n")
		for _, id := range a.EventIDs {
			fmt.Fprintf(&b, "  %s\n", id)
		}
	}
	return b.String()
}

// Slack is the alert in AWS Chatbot's custom notification format, which Chatbot renders in
// Slack (and a forwarder can post as-is).
func (a Alert) Slack() ([]byte, error) {
	desc := fmt.Sprintf("*%s* · `%s` · %d event(s) · %s – %s",
		a.Severity, a.RuleID, a.EventCount, timeText(a.FirstSeen), timeText(a.LastSeen))
	if a.Source != "" {
		desc += " · source `" + a.Source + "`"
	}
	var next []string
	if a.Runbook != "" {
		next = append(next, strings.TrimSpace(a.Runbook))
	}
	if a.Reference != "" {
		next = append(next, a.Reference)
	}
	msg := chatbotMessage{
		Version: "1.0",
		Source:  "custom",
		Content: chatbotContent{
			TextType:    "client-markdown",
			Title:       severityEmoji(a.Severity) + " " + a.Title,
			Description: desc,
			NextSteps:   next,
			Keywords:    append([]string{string(a.Severity), a.RuleID}, a.MITRE...),
		},
		Metadata: chatbotMetadata{
			ThreadID:  a.RuleID + "|" + a.DedupKey,
			Summary:   a.Subject(),
			EventType: a.RuleID,
			AdditionalContext: map[string]string{
				"dedup_key": a.DedupKey,
				"log_type":  a.LogType,
				"severity":  string(a.Severity),
			},
		},
	}
	return json.Marshal(msg)
}

// JSON is the alert as machine subscribers receive it.
func (a Alert) JSON() ([]byte, error) {
	if a.EventIDs == nil {
		a.EventIDs = []string{}
	}
	return json.Marshal(a)
}

type chatbotMessage struct {
	Version  string          `json:"version"`
	Source   string          `json:"source"`
	Content  chatbotContent  `json:"content"`
	Metadata chatbotMetadata `json:"metadata"`
}

type chatbotContent struct {
	TextType    string   `json:"textType"`
	Title       string   `json:"title"`
	Description string   `json:"description"`
	NextSteps   []string `json:"nextSteps,omitempty"`
	Keywords    []string `json:"keywords,omitempty"`
}

type chatbotMetadata struct {
	ThreadID          string            `json:"threadId"`
	Summary           string            `json:"summary"`
	EventType         string            `json:"eventType"`
	AdditionalContext map[string]string `json:"additionalContext,omitempty"`
}

func severityEmoji(s Severity) string {
	switch s {
	case Critical:
		return ":rotating_light:"
	case High:
		return ":red_circle:"
	case Medium:
		return ":large_orange_circle:"
	case Low:
		return ":large_yellow_circle:"
	}
	return ":information_source:"
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// compact prints a sample on one line; invalid JSON is shown as it is.
func compact(raw json.RawMessage) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return string(raw)
	}
	return buf.String()
}
