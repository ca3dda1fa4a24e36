// Package faults proves the pipeline's delivery guarantees under stress. Its tests drive the
// poller and detector handlers, built by internal/awsrun exactly as the Lambda functions build
// them, against the Zoom simulator and the AWS emulator while injecting failures on both
// sides: Zoom 5xx, 429 bursts, slow, truncated and HTML answers, expired page and access
// tokens with a rotating refresh token; AWS throttling and 5xx answered at the SDK clients'
// HTTP layer; and process crashes at every step of a poll cycle and of a detector batch
// (the container dies: its context is cancelled and nothing it sends reaches a service again;
// a fresh container continues). At the end the stream and the alerts are checked against the
// simulator's ground truth.
//
// Poll invocations here have no deadline. A poll pass commits its watermark only when a report
// window (up to a month) has been read to the end, and restarts a window from its first page,
// so an invocation whose deadline stops it before a window's end makes no progress at all
// when the next one stops at the same page: the suite does not run into that limit, which a
// test of internal/poll should pin down.
//
// `make faults` runs the long form (three rounds, each with its own seed); `make test` runs
// the short form (go test -short). ZOOMWATCH_FAULTS_SEED=N reruns the round of seed N.
package faults
