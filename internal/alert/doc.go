// Package alert holds the alert the detector emits and its renderings for people and machines:
// an SNS email subject (Subject), readable email text (Text), a Slack message in AWS Chatbot's
// custom notification format (Slack), and JSON for machine subscribers (JSON). See DESIGN.md
// "Contracts / Alert".
package alert
