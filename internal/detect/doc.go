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
// turned_on, domain, in_list, version_lt, is_admin, field) are func-typed Env fields, so expr
// calls them on its typed call path without reflection or argument slices; changed() and
// turned_on/off() are expanded at compile time into calls over from/to, and matches(s, "lit")
// becomes expr's matches operator, whose literal pattern is compiled once. Evaluation is
// indexed by log type and, for rules that declare categories, by category_type. For raw
// operation records, operation_detail parsing and e-mail extraction happen only when a rule
// about to run (or a template about to render) reads those fields.
//
// # Decoding
//
// A hand-written scanner reads envelopes and Zoom records in one pass without allocating:
// strings alias the input (escaped ones go to a per-worker arena), only the keys rules use are
// materialised, and the result equals event.Normalize's (FuzzEvalJSON checks this). Event IDs of
// raw records are computed only for matches, with a map-free canonical form for flat records.
//
// # State
//
// State is idempotent per event ID and measures windows in event time; MemState implements
// it for the CLI and tests. The DynamoDB implementation follows the semantics documented on
// State.Observe and State.FirstSeen.
//
// # Performance
//
// Measured on the 2-core build machine while other builds shared it, so rates are per CPU
// second of the benchmark's own thread (events/cpu-s); wall-clock rates were 20–60% lower.
// Corpus: 4096 realistic records, 60% operation logs (1 in 500 risky), 40% sign-in/out.
//
//	go test -bench 'Detect/|DecodeOnly|ParseOperationDetail|ProposedDetail|ConditionLanguage' ./internal/detect
//	ZOOMWATCH_BENCH_RULES=../rules …     # add the shipped pack to the 6 fixture rules
//
//	decode only, this scanner, raw records        3.96 M events/cpu-s   0 allocs
//	decode only, this scanner, envelopes          1.0  M events/cpu-s   0 allocs
//	decode only, encoding/json into a struct      0.64 M events/cpu-s   7.3 allocs
//	decode only, encoding/json into a map         0.42 M events/cpu-s   27.5 allocs
//	detect, fixture rules (6), raw records        0.37 M events/cpu-s   8.4 allocs/event
//	detect, fixture rules (6), envelopes          0.48 M events/cpu-s   6.9 allocs/event
//	detect, full pack (25 + 6), raw records       0.19 M events/cpu-s   16.7 allocs/event
//	detect, full pack (25 + 6), envelopes         0.30 M events/cpu-s   14.0 allocs/event
//	  … with a regex-free operation_detail parser 0.28 M (pack) / 0.57 M (fixtures) events/cpu-s
//	event.ParseOperationDetail                    0.45 M calls/cpu-s    9 allocs
//	proposed regex-free parser (detail_proposal_test.go, fuzzed equal)  4.1 M calls/cpu-s  3 allocs
//
// Goal (1.5 M events/s per core, ≤ 2x decode-only) is not met. Guards (literal tests at the
// top of a condition, checked in Go before the VM; see guard) and lazy operation_detail
// parsing already skip most work; what remains is the expr VM for rules whose guards pass
// (reflection-based field loads box every string read, ~1 alloc each) and operation_detail
// parsing with regular expressions in internal/event whenever a rule reads a parsed field —
// rules without categories or text guards (SSO configuration, billing, meeting security)
// make every operation log pay it. Decoding is under 10% of the total.
//
// zoomwatch detect over a 1,000,000-line file of such records (160 MB), full pack, 37,446
// alerts: 2 workers 3.3 s wall (≈300 k lines/s), 6.1 CPU-s, max RSS 40 MB; 1 worker 5.4–6.1 s,
// max RSS 34 MB (/usr/bin/time -v; an idle machine would do better).
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
