// Package detect is zoomwatch's detection engine: it loads rules from YAML, compiles their
// conditions once, evaluates them against Zoom events (envelopes, raw Zoom records or report
// pages, straight from JSON bytes), and turns matches into alerts through grouping, thresholds
// and first-seen state kept behind the State interface. See DESIGN.md "Rules" and "Tuning".
//
// # Rules
//
// One rule per YAML file (format in DESIGN.md and internal/rules). LoadFS and LoadDir validate
// every field and fail the whole load on the first bad file with "file:line: reason"
// (*LoadError); duplicate IDs fail too. Optional fields beyond the design, for first_seen
// rules: first_seen_ttl (default 90d), first_seen_learn (Rule.FirstSeenLearn, default 0) and
// first_seen_alert_if (Rule.FirstSeenAlertIf). Inline tests may set params for their case.
// Tune applies the SSM overrides of DESIGN.md "Tuning" (enabled, severity, threshold,
// dedup_minutes, learn_days, suppress, params, detect/min_severity) and keeps
// a rule's last good settings when its override is rejected (*OverrideError).
//
// # Conditions
//
// Conditions are expr-lang/expr expressions over Env, a typed struct, compiled once with
// expr.AsBool. The helpers (icontains, istarts, iequals, matches, changed, turned_off,
// turned_on, domain, in_list, version_lt, is_admin, field) are func-typed Env fields;
// changed() and turned_on/off() are expanded at compile time into calls over from/to, and
// matches(s, "lit") becomes expr's matches operator, whose literal pattern is compiled once.
//
// expr parses and type-checks every condition, and its program is the reference evaluator.
// Conditions of the shape the rules use (string fields, params, the helpers, &&, ||, !,
// comparisons, literal regexps, len, int, any, findIndex) are also compiled into Go closures
// over the worker (guard.go): no VM stack, no boxing of strings, no allocation. A closure
// that meets a value it cannot treat exactly as expr does (a non-string where a helper takes
// a string, int() of a non-number, findIndex finding nothing) hands the event to the VM, so
// verdicts and errors are expr's (TestNativeConditionsMatchVM, TestGuardsKeepVerdicts).
// Other conditions run on the VM behind literal guards. icontains(text, "lit") and
// matches(text, "(?i)…") search the event's text lower-cased once, so regexps get Go's
// literal-prefix scan. Evaluation is indexed by log type and, for rules that declare
// categories, by category_type; for activity logs, by the activity types (Sign in, Sign out)
// a condition requires (actionsOf). For raw operation records, operation_detail parsing (the
// regexp-free event.ParseOperationDetail), e-mail extraction and time parsing happen only
// when a branch about to run, or a template about to render, reads those fields; rules put a
// cheap text test first where that keeps unrelated records from being parsed.
//
// # Decoding
//
// A hand-written scanner reads envelopes and Zoom records in one pass without allocating:
// strings alias the input (escaped ones go to a per-worker arena), only the keys rules use are
// materialised, and the result equals event.Normalize's (FuzzEvalJSON checks this). Event IDs of
// raw records are computed only for matches, once per event, with a map-free canonical form
// for flat records and a reused digest. Whatever outlives the event is copied: a match's
// sample and strings share one allocation, and noted admins are copied once per operator.
//
// # State
//
// State is idempotent per event ID and measures windows in event time; MemState implements
// it for the CLI and tests. The DynamoDB implementation follows the semantics documented on
// State.Observe, State.FirstSeen and State.WatchingSince. The engine asks WatchingSince once per
// learning rule and keeps the answer, which never changes.
//
// A worker drops, before building them, matches that cannot change State: another event of a
// (group, buckets, distinct value) State has counted, of a threshold-1 group whose bucket
// already fired, or of a first-seen key whose first sighting State has had (one sighting per
// key and day still goes to State, so it keeps remembering the key) (absorb.go). It learns which tuples those are from Decision.NewDistinct and
// Decision.Fire, and it still sends redeliveries of the event that brought a tuple in until
// that event's alert is acknowledged, so no alert is lost or raised twice. An alert of a
// distinct-count rule therefore lists one event per distinct value. The admin cache behind
// is_admin remembers for a minute that State does not know a user, so sign-ins of non-admins
// cost one State read a minute, not one each.
//
// # Performance
//
// Measured on the 2-core build machine (nproc 2, "AMD EPYC" in /proc/cpuinfo, Go 1.26), a
// shared VM whose speed moves by up to 30% with other tenants' load, all rows together (the
// encoding/json rows are the yardstick), so rates are per CPU second of the benchmark's own
// thread (events/cpu-s) and ranges are over eleven runs at a quiet time. Corpus: 4096
// realistic records, 60% operation logs (1 in 500 risky), 40% sign-ins and sign-outs of six
// users (records-many-users: of 5,000); rules: the shipped pack, all 25 enabled and evaluated
// (Zoom.Admin.Action.Outside.Allowed.Domains, inert as shipped, is configured with the
// corpus' domain; ZOOMWATCH_BENCH_RULES=fixtures or a directory selects other rules). Each
// pass starts from an empty MemState, decides every match and acknowledges every alert.
//
//	go test -run '^$' -bench 'Detect/|DecodeOnly|ParseOperationDetail' ./internal/detect
//
//	decode only, this scanner, raw records        6.4–7.2 M events/cpu-s  0 allocs
//	decode only, this scanner, envelopes          1.7–1.8 M events/cpu-s  0 allocs
//	decode only, encoding/json into a struct      0.63–0.69 M events/cpu-s  7.3 allocs
//	decode only, encoding/json into a map         0.45–0.49 M events/cpu-s  27.5 allocs
//	detect, raw records                           1.43–1.59 M events/cpu-s  0.38 allocs/event
//	detect, envelopes                             0.95–1.01 M events/cpu-s  0.38 allocs/event
//	detect, raw records, 5,000 users              0.68–0.76 M events/cpu-s  2.9 allocs/event
//	detect, raw records, every match to State     0.91–1.07 M events/cpu-s  1.4 allocs/event
//	detect, raw records redelivered               1.9–2.1 M events/cpu-s  0.001 allocs/event
//	event.ParseOperationDetail                    7.6–8.8 M calls/cpu-s   0 allocs
//
// Against the goal (1.5 M events/s per core, at most 2x decode-only): a first pass over raw
// records reaches 1.5 M/s at a quiet time in most runs (1.43–1.59 M, median 1.54), not with
// margin under load, and costs 4.2–5.0x the decode-only time; envelopes cost 1.76–1.93x theirs
// but run at 0.97 M/s, their decoding alone (567 bytes on average against 158) being 0.56 µs.
// Since the new-IP rule remembers every user's addresses (first_seen_alert_if) each sign-in
// also looks up its first-seen key, which the activity-type index pays for by sparing
// sign-outs the sign-in rules; with 5,000 users the new addresses to remember cost 15%. Skipped
// strings take the eight-byte scan too, and whitespace is ruled out with one test per byte:
// envelope decoding went from 1.2–1.4 to 1.7–1.8 M/s. What closed the gap from 0.19 M/s (regexp conditions), 0.68 M/s (native
// conditions) and 1.2 M/s (the previous round): dropping matches that cannot change State
// before they are built (absorb.go; every sign-in matches the distinct-IP rule), one bigram
// filter per event that settles most text literals and skips rules whose required literals
// (or every one of a set of alternatives) are missing, rules whose params make them inert left
// out of the index, conditions compiled for their rule's params (tests of params alone fold
// to constants) and a condition of the actor alone evaluated once per run of the same
// operator (the configured outside-domains rule had cost 15% of a first pass), word-sequence
// patterns matched without a regexp engine, MemState buckets
// found by their parts, strings scanned eight bytes at a time, days-from-civil times, and an
// event ID of one canonical pass and one Sum256. The decoder gained most, which is why the
// ratio rose from 3.9x while detection got 30% faster.
//
// What is left, by CPU profile of the records benchmark: decoding 23%, conditions 26% (after
// the filters about 1.7 verdicts per event; operation_detail parsing 6% of it), the text
// filter 8%, matches and State 17%, dropping repeats (absorb) 8%, candidates and set-up the
// rest. 2x decode would leave 150 ns per event for all of it, and State alone takes about 130:
// the 8% of events that reach it pay for the event ID (0.57 µs: canonical JSON, SHA-256) and
// MemState (about 0.3 µs), another 24% for the absorb lookup. With 5,000 users nearly every
// sign-in opens a new distinct-IP window and goes all the way to State, which halves the rate.
// Next candidates: tracking member spans in the first decode so the event ID skips its second
// scan, and sharing one verdict of a guard (iequals(action, "Sign in")) among the rules that
// start with it.
//
// zoomwatch detect over a 1,000,000-line file of such records (160 MB), full pack, 1,184
// alerts (identical with 1 and 2 workers and to the previous round): 2 workers 0.47–0.63 s
// wall at a quiet time, 0.88–1.18 CPU-s, max RSS 46–48 MB; 1 worker 0.67–0.79 s, max RSS
// 39–41 MB (/usr/bin/time, three runs each); in this round, with the machine partly busy,
// 0.50–0.69 s and 46–47 MB, 1 worker 0.77–0.97 s and 39–40 MB. Its workers evaluate a batch before the decider has decided the one before;
// Worker.DecideInOrder lets them drop repeats of tuples still on their way to Decide, which
// cut the matches reaching State on that file from 249k to 78k (81k deciding each record at
// once, as the benchmark does). The same alerts come out whatever the input order: the file's
// first 200k records shuffled within each day, or across all seven days with a fifth of them
// redelivered, raise the 246 alerts of the ordered file. detect sets a 64 MiB soft heap limit
// (unless GOMEMLIMIT is set) so a state that grows on unusual input stays under 100 MB: the
// same file with its 400k sign-ins spread over 300k users takes 3.5–4.2 s and 82 MB max RSS
// (before first-seen keys were kept as digests, 117 MB; remembering admins' addresses only,
// 2.8 s and 77 MB).
//
// Expression language, per evaluation (cpu-ns/op, same Env, same helper implementations):
//
//	condition                       event       expr   cel-go v0.31
//	icontains && changed            benign op    85     139
//	icontains && changed            sign-in      78      73
//	string ==, !=                   benign op    66      96
//	string ==, !=                   sign-in      66      56
//	!in_list(domain(actor), list)   benign op   295     477
//	!in_list(domain(actor), list)   sign-in     280     486
//	iequals && version_lt           benign op    88     133
//	iequals && version_lt           sign-in     202     285
//
// expr is as fast or faster on every condition that calls helpers (which is nearly every rule),
// allocates less, and its conditions read like the Panther Python they replace; cel-go wins
// only on pure comparisons, by ~10 ns. expr-lang/expr it is.
package detect
