// Package metrics writes zoomwatch's measurements as CloudWatch Embedded Metric Format (EMF)
// lines: one JSON object per measurement, written to the function's log stream, which
// CloudWatch turns into metrics without an API call per metric. See DESIGN.md "Data flow".
//
// Every metric is published under the [Stage] dimension set (for stage-wide alarms) and one
// finer set: [Stage, Source, LogType] for polling and evaluation, [Stage, Source] for a
// source's failures, [Stage, RuleID, Severity] for alerts and [Stage, RuleID] for rule errors.
package metrics
