// Package poll runs one poll cycle for a Zoom source: it plans day windows from the stored
// cursor (backfilling on the first run, re-scanning a trailing overlap for late records),
// pages each report through the Zoom client, normalizes records into envelopes, drops the ones
// already delivered (by identity, so same-second records are neither lost nor doubled), sends
// the rest to a Sink in bounded batches and checkpoints only what the sink acknowledged. It
// stops cleanly before a deadline, saving progress. Storage, delivery and time come in through
// the small interfaces in ports.go; see DESIGN.md "Data flow".
package poll
