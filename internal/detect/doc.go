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
// # Performance
//
// Measured on the 2-core build machine (nproc 2, "AMD EPYC" in /proc/cpuinfo, Go 1.26) while
// other builds shared it (load average 2–3.3), so rates are per CPU second of the
// benchmark's own thread (events/cpu-s); wall-clock rates were 5–25% lower. Ranges are over
// -count 3. Corpus: 4096 realistic records, 60% operation logs (1 in 500 risky), 40%
// sign-in/out; rules: the shipped pack, all 25 enabled (ZOOMWATCH_BENCH_RULES=fixtures or
// a directory selects others).
//
//	go test -run '^$' -bench 'Detect/|DecodeOnly|ParseOperationDetail' -benchmem ./internal/detect
//
//	decode only, this scanner, raw records        3.9–4.1 M events/cpu-s  0 allocs
//	decode only, this scanner, envelopes          1.0–1.1 M events/cpu-s  0 allocs
//	decode only, encoding/json into a struct      0.50–0.65 M events/cpu-s  7.3 allocs
//	decode only, encoding/json into a map         0.40–0.44 M events/cpu-s  27.5 allocs
//	detect, full pack, raw records                0.53–0.61 M events/cpu-s  0.59 allocs/event
//	detect, full pack, envelopes                  0.39–0.46 M events/cpu-s  0.59 allocs/event
//	  … matches only (no Decide / MemState)       0.78–0.86 M events/cpu-s  0.59 allocs/event
//	event.ParseOperationDetail                    4.5–5.3 M calls/cpu-s   0 allocs
//	  (the regexp version it replaced: 0.42–0.45 M calls/cpu-s, 9 allocs)
//
// Before this engine evaluated natively the full pack ran at 0.19 M events/cpu-s with 16.7
// allocs/event. The goal (1.5 M events/s per core, at most 2x decode-only) is not met:
// detect takes about 1.75 µs of CPU per raw record against 0.25 µs to decode it (7x). A
// profile of the raw-record run splits it roughly as: decoding 15%; conditions 25% (about 25
// rules per operation log, each a few closure calls and lower-cased text searches; the
// detail is parsed for User and Account records, whose rules read parsed fields; literal
// regexps confirm near-misses); building matches 17%, two thirds of it the event ID
// (canonical JSON and SHA-256, needed by State for idempotency), because a third of the
// corpus (every sign-in) matches Zoom.SignIn.Many.IPs, a threshold rule whose counting
// happens in State; grouping 20–30% (Engine.Decide and MemState.Observe: an alert ID
// formatted with fmt and hashed, and a few allocations, per observation). What would close
// the gap: an event ID hashed without rebuilding canonical JSON, an allocation-free Observe
// and alert ID, a single pass testing every rule's text literals at once, and counting
// threshold-rule observations in the worker before they become matches.
//
// zoomwatch detect over a 1,000,000-line file of such records (160 MB), full pack, 1,164
// alerts (identical with 1 and 2 workers): 2 workers 1.6–1.9 s wall (540–620 k lines/s),
// 2.7–3.0 CPU-s, max RSS 75 MB; 1 worker 2.3 s, max RSS 75 MB (/usr/bin/time -v). detect
// sets a 64 MiB soft heap limit (unless GOMEMLIMIT is set): the grouping state of such a
// file is about 35 MB live, and without the limit the collector let RSS reach 93 MB.
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
