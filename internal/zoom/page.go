package zoom

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/zoomwatch/zoomwatch/internal/event"
)

// endpoint describes one report: where it lives and which array holds its records.
type endpoint struct {
	logType event.LogType
	path    string
	field   string
	scopes  []string
}

var (
	operationLogs = endpoint{event.Operation, "/report/operationlogs", "operation_logs",
		[]string{ScopeReportRead, ScopeOperationLogsRead}}
	activityLogs = endpoint{event.Activity, "/report/activities", "activity_logs",
		[]string{ScopeReportRead, ScopeUserActivitiesRead}}
)

func endpointOf(lt event.LogType) (endpoint, error) {
	switch lt {
	case event.Operation:
		return operationLogs, nil
	case event.Activity:
		return activityLogs, nil
	}
	return endpoint{}, fmt.Errorf("zoom: unknown log type %q (want %s or %s)", string(lt), event.Operation, event.Activity)
}

// Path returns the report API path of a log type ("/report/operationlogs"), or "" if it is not
// one.
func Path(lt event.LogType) string {
	ep, err := endpointOf(lt)
	if err != nil {
		return ""
	}
	return ep.path
}

// page is one decoded report page.
type page struct {
	records []json.RawMessage
	next    string
}

// errPageShape marks a well-formed JSON answer that is not a report page (no records array,
// records that are not objects): Zoom changed or broke the contract, and asking again will not
// help. Any other decoding error means the body itself was damaged.
var errPageShape = errors.New("page shape")

// decodePage parses one report page. Each record is the exact bytes Zoom sent for it. The page
// must be a JSON object holding field as an array of objects; anything else is an error, so a
// damaged page is never read as "no records".
func decodePage(body []byte, field string) (page, error) {
	trimmed := bytes.TrimSpace(body)
	switch {
	case len(trimmed) == 0:
		return page{}, errors.New("empty body")
	case trimmed[0] == '<':
		return page{}, errors.New("body is an HTML or XML page, not JSON")
	case trimmed[0] != '{':
		if !json.Valid(trimmed) {
			return page{}, errors.New("body is not JSON")
		}
		return page{}, fmt.Errorf("%w: body is JSON but not an object", errPageShape)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &top); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			if se.Offset >= int64(len(trimmed)) {
				return page{}, fmt.Errorf("body is truncated JSON (%d bytes)", len(body))
			}
			return page{}, fmt.Errorf("body is not valid JSON at byte %d", se.Offset)
		}
		return page{}, fmt.Errorf("body is not valid JSON: %w", err)
	}
	raw, ok := top[field]
	if !ok || isNull(raw) {
		return page{}, fmt.Errorf("%w: missing %s array", errPageShape, field)
	}
	var records []json.RawMessage
	if err := json.Unmarshal(raw, &records); err != nil {
		return page{}, fmt.Errorf("%w: %s is not an array", errPageShape, field)
	}
	for i, r := range records {
		if len(r) == 0 || r[0] != '{' {
			return page{}, fmt.Errorf("%w: %s[%d] is not an object", errPageShape, field, i)
		}
	}
	var p page
	p.records = records
	if tok, ok := top["next_page_token"]; ok && !isNull(tok) {
		if err := json.Unmarshal(tok, &p.next); err != nil {
			return page{}, fmt.Errorf("%w: next_page_token is not a string", errPageShape)
		}
	}
	return p, nil
}

func isNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }
