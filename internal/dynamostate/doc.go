// Package dynamostate keeps zoomwatch's state in one DynamoDB table (DESIGN.md "Data flow":
// cursor/lease and detector dedup/threshold state): the poll cursors with their dedupe
// memory (poll.CursorStore), the per-source lease (poll.Leaser), and the detector's windows,
// first-seen keys and known admins (detect.State). Every write that guards correctness is
// conditional, and a lost condition is a typed error (*poll.ConflictError,
// *poll.LeaseHeldError), never a silent overwrite.
//
// # Table
//
// String keys pk and sk, on-demand billing, TTL on the number attribute ttl (epoch seconds).
// The stack creates it; Table.CreateTable does the same for tests and emulator runs.
//
//	pk                          sk                             holds
//	cursor#<source>#<log type>  cursor                         version, watermark, forget horizon
//	cursor#<source>#<log type>  seen#<latest time>#c<v>.<n>   delivered events: a dedupe chunk (ttl)
//	lease#<name>                lease                          owner, until_ms (ttl: until + 1 day)
//	dedup#<rule>#p<period>#g<grid>#b<index>#k:<key>
//	                            bucket                         one fixed bucket of a group: first,
//	                                                           last, counts, ≤100 ids, fired, version
//	    (same pk)               e#<event id>                   an event counted in the bucket (ttl)
//	    (same pk)               d#<value hash>                 a distinct value counted in it (ttl)
//	alert#<alert id>            alert                          a fired bucket's alert: acked (ttl)
//	first#k:<key>               first                          until (event time), event_id (ttl)
//	admin#<email>               admin                          noted_at (ttl: a year after last note)
//
// Keys longer than 512 bytes are stored as h:<sha256> instead of k:<key>. Times in keys and
// attributes are fixed-width UTC strings, so they compare as the times do.
//
// # Cursor and dedupe memory
//
// Delivered events are packed, 39 bytes each (a 32-byte event ID and the record time), into
// dedupe chunks of up to 1,000 events or 64 KB in the cursor's partition, each sorted by the
// latest record time it holds (seenchunk.go). A checkpoint writes its chunks together with
// the version-conditioned cursor update in one TransactWriteItems (several, each bumping the
// version, past 40 chunks), so no entry exists without its commit; the watermark and forget
// horizon move with the last. LoadCursor reads the cursor item and Queries the chunks whose
// latest entry is at or after the forget horizon, leaving out their entries before it;
// forgotten chunks sort before it and are never read again, and TTL (Config.SeenRetention
// after their write, 30 days by default) deletes them without a write. Entries of one event
// per item (sort key seen#<record time>#<event id>), written by earlier releases, are read
// the same way until TTL removes them.
//
// # Lease
//
// AcquireLease is one PutItem conditioned on "absent, expired, or mine"; the refusal carries
// the holder (or, where the service omits it, one consistent read fetches it). ReleaseLease
// deletes only the owner's lease. Expiry uses the caller's clock.
//
// # Detector state
//
// Windows are fixed buckets of the rule's period on the UTC epoch (detect.BucketsOf): one grid
// for threshold 1, two grids offset by half a period above it. Observe reads the event's
// bucket items and membership (consistent reads), decides exactly as detect.MemState does, and
// writes the buckets (conditioned on their versions) with the membership items in one
// transaction; losing the condition to a concurrent writer makes it decide again (at most 8
// times, then *ContentionError). When a bucket is about to fire, the other grid's overlapping
// buckets are read and their versions bumped in the same transaction, so two overlapping
// buckets never both fire. Arrival order does not matter: every event lands in its buckets.
// A fired bucket's alert item stays unacknowledged until Ack, and a redelivery of the firing
// event fires again until then, so a failed publish is retried and not lost. TTLs run the
// rule's period plus a day past the later of the wall clock and the bucket's end.
//
// # Cost (on-demand; 1 WRU per 1 KB written, transactional writes count twice; 1 RRU per
// 4 KB read consistently)
//
// Per poll cycle of one source with no new events: lease put and delete (2 WRU); per log type
// a cursor read, an (empty) entry Query and one commit per day window (read + update): about
// 6 RRU and 4 WRU for the source. At a 5-minute rate (8,640 cycles a month) and us-east-1
// on-demand prices (0.625 USD per million WRU, 0.125 per million RRU) that is about 3 US
// cents per source per month.
//
// Per 1,000 delivered events committed together: one transaction of the cursor and one 39 KB
// chunk (TestCommitCost) ≈ 82 WRU ≈ 0.005 US cents, plus a cursor read per commit (a poller
// committing every 300-record page writes about 90 WRU); each later cycle that still
// remembers them reads them back for about 10 RRU until the forget horizon passes them.
// Storage ≈ 40 KB per 1,000 events until TTL. One item per event, as earlier releases wrote,
// cost 2,022 WRU, 37 RRU per cycle and 150 KB.
//
// Per matching event in the detector: per grid 2–3 RRU (bucket, membership, distinct value)
// and a transaction of 2–3 items (4–6 WRU; the bucket item is up to 7 KB with 100 ids), so
// twice that for thresholds above 1; a firing event adds the alert item, at most one more read
// and up to two version bumps; a redelivery writes nothing. FirstSeen 1–2 WRU (a known key
// costs one failed conditional update, which returns the item, and one more when the sighting
// is later than any before); the new-IP rule asks it for every user and IP once per worker
// and day, and keeps an item of about 150 bytes per user and IP for 90 days after the last
// sighting; IsAdmin 1 RRU per user per container and minute, for first sightings only,
// NoteAdmin 1 WRU; WatchingSince 1 WRU (and 1 RRU when another detector stored it first) once
// per learning rule per container. Non-matching events cost nothing.
package dynamostate
