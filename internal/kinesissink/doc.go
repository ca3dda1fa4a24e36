// Package kinesissink delivers envelopes to the Kinesis data stream between the poller and the
// detector (DESIGN.md "Data flow"). It implements poll.Sink: envelopes go out with PutRecords
// in calls within the service limits (500 records, 5 MiB per call, 1 MiB per record), one
// record per envelope, partitioned by the envelope ID so records spread over every shard.
// Records a call reports as failed (throttling, internal failure) are retried alone, with
// bounded backoff; Put reports exactly which envelopes Kinesis acknowledged, so the poller
// checkpoints only those.
//
// An envelope too large for one record is never dropped and never left unacknowledged (the
// poller would read it again on every pass and its cursor would never move past it). It is
// sent with its raw Zoom record replaced by a marker naming the original size — the parsed
// fields rules look at stay — and counted through Observer.Truncated and a warning log.
package kinesissink
