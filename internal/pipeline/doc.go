// Package pipeline holds the deployed pipeline's Lambda handlers — the scheduled poller and the
// Kinesis-fed detector — written against small interfaces so the same code runs in Lambda
// (wired in functions/*/main.go with the AWS adapters) and in local invocations and tests.
package pipeline
