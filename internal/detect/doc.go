// Package detect is zoomwatch's detection engine: it loads rules from YAML, compiles their
// conditions once, evaluates them against Zoom events (envelopes, raw Zoom records or report
// pages, straight from JSON bytes), and turns matches into alerts through grouping, thresholds
// and first-seen state kept behind the State interface. See DESIGN.md "Rules" and "Tuning".
//
// # Rules
//
// One rule per YAML file (format in DESIGN.md and internal/rules). LoadFS and LoadDir validate
// every field and fail the whole load on the first bad file with "file:line: reason"
// (*LoadError); duplicate IDs fail too. Optional fields beyond the design: first_seen_ttl
// (default 90d) for first_seen rules. Tune applies the SSM overrides of DESIGN.md "Tuning"
// (enabled, severity, threshold, dedup_minutes, suppress, params, detect/min_severity) and keeps
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
// categories, by category_type. For raw operation records, operation_detail parsing (the
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
// State.Observe and State.FirstSeen.
//
// A worker drops, before building them, matches that cannot change State: another event of a
// (group, buckets, distinct value) State has counted, or of a threshold-1 group whose bucket
// already fired (absorb.go). It learns which tuples those are from Decision.NewDistinct and
// Decision.Fire, and it still sends redeliveries of the event that brought a tuple in until
// that event's alert is acknowledged, so no alert is lost or raised twice. An alert of a
// distinct-count rule therefore lists one event per distinct value. The admin cache behind
// is_admin remembers for a minute that State does not know a user, so sign-ins of non-admins
// cost one State read a minute, not one each.
//
// # Performance
//
// Measured on the 2-core build machine (nproc 2, "AMD EPYC" in /proc/cpuinfo, Go 1.26), a
// shared VM whose speed varies by 10–20% from run to run, so rates are per CPU second of the
// benchmark's own thread (events/cpu-s) and ranges are over -count 4. Corpus: 4096 realistic
// records, 60% operation logs (1 in 500 risky), 40% sign-ins and sign-outs of six users
// (records-many-users: of 5,000); rules: the shipped pack, all 25 enabled
// (ZOOMWATCH_BENCH_RULES=fixtures or a directory selects others). Each pass starts from an
// empty MemState, decides every match and acknowledges every alert.
//
//	go test -run '^$' -bench 'Detect/|DecodeOnly|ParseOperationDetail' ./internal/detect
//
//	decode only, this scanner, raw records        4.2–4.6 M events/cpu-s  0 allocs
//	decode only, this scanner, envelopes          1.0–1.1 M events/cpu-s  0 allocs
//	decode only, encoding/json into a struct      0.63–0.68 M events/cpu-s  7.3 allocs
//	decode only, encoding/json into a map         0.44–0.46 M events/cpu-s  27.5 allocs
//	detect, raw records                           1.17–1.22 M events/cpu-s  0.60 allocs/event
//	detect, envelopes                             0.56–0.66 M events/cpu-s  0.60 allocs/event
//	detect, raw records, 5,000 users              0.52–0.60 M events/cpu-s  2.7 allocs/event
//	detect, raw records, every match to State     0.58–0.83 M events/cpu-s  1.8 allocs/event
//	detect, raw records redelivered               1.36–1.54 M events/cpu-s  0.001 allocs/event
//	event.ParseOperationDetail                    7.7–7.9 M calls/cpu-s   0 allocs
//
// The goal (1.5 M events/s per core, at most 2x decode-only) is not met on a first pass:
// detect takes about 0.85 µs of CPU per raw record against 0.22 µs to decode it (3.9x); only
// redelivered records, which State already holds, come close to 1.5 M/s. What closed most of the gap
// from 0.19 M/s (regexp conditions) and 0.68 M/s (native conditions): dropping matches that
// cannot change State before they are built (absorb.go; every sign-in matches the distinct-IP
// rule), one bigram filter per event that settles most text literals and skips rules whose
// required literals are missing, word-sequence patterns matched without a regexp engine,
// MemState buckets found by their parts instead of a SHA-256 alert ID, and a detail parser
// that starts at the first "from". What is left, roughly: decoding 25%, conditions 35% (about
// seven rules per operation log, each a few closure calls), and for events that reach State
// the event ID (canonical JSON and SHA-256) and MemState. With 5,000 users nearly every
// sign-in opens a new distinct-IP window and goes all the way to State, which halves the rate.
//
// zoomwatch detect over a 1,000,000-line file of such records (160 MB), full pack, 1,184
// alerts (identical with 1 and 2 workers): 2 workers 0.87–1.06 s wall (about 1 M lines/s),
// 1.6–1.9 CPU-s, max RSS 47 MB; 1 worker 1.25 s, max RSS 40 MB (/usr/bin/time). detect sets
// a 64 MiB soft heap limit (unless GOMEMLIMIT is set) so a state that grows on unusual input
// stays under 100 MB.
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
