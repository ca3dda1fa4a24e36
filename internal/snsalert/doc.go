// Package snsalert publishes alerts to the SNS alerts topic as DESIGN.md "Alert" specifies,
// and operator notices (a refresh token that could not be saved, credentials Zoom rejects) to
// the ops topic.
//
// An alert is one Publish with MessageStructure "json" carrying a body per subscription
// protocol: readable text for email; the alert JSON for default (what any other protocol
// gets), email-json, sqs, lambda, http and https; the subject for SMS. The subject is
// "[SEVERITY] title" as SNS accepts it (printable ASCII, one line, at most 100 characters),
// and the message attributes severity, rule_id and log_type let subscriptions filter. The
// renderings are internal/alert's.
//
// Slack: AWS Chatbot subscribes over HTTPS and only renders its custom notification format.
// Config.ChatbotHTTPS puts alert.Slack's rendering on the https body instead of the JSON, for
// a topic whose HTTPS subscriber is Chatbot.
package snsalert
