package detect

import (
	"context"
	"encoding/json"
	"os"
	"runtime"
	"testing"

	"github.com/zoomwatch/zoomwatch/internal/event"
)

const benchCorpus = 4096

func reportRate(b *testing.B, perOp int) {
	b.ReportMetric(float64(b.N*perOp)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkDetect measures raw JSON bytes to delivered alerts on one core: decode, index,
// evaluate every enabled rule, group through MemState and acknowledge each alert, as the CLI
// and the detector do. Every iteration starts from an empty state, so it measures a first
// pass over the corpus, never a replay of events the state already holds.
//
//   - records, envelopes: the mixed corpus (6 users signing in again and again).
//   - records-many-users: the same shape with 5,000 users, so nearly every sign-in opens a new
//     grouping window of the distinct-IP rule and reaches State.
//   - records-no-absorb: records with every match sent to State (absorb.go off), to show what
//     dropping repeats of counted tuples saves.
//   - records-redelivered: records with one engine for all iterations, so every pass after the
//     first redelivers events the state already holds (a retried stream batch, a backfill over
//     days already seen).
func BenchmarkDetect(b *testing.B) {
	records := mixedCorpus(benchCorpus, 42)
	inputs := map[string][][]byte{
		"records": records, "envelopes": envelopeCorpus(records), "records-no-absorb": records,
		"records-many-users": mixedCorpusUsers(benchCorpus, 42, 5000), "records-redelivered": records,
	}
	rs := benchRules(b)
	for _, name := range []string{"records", "envelopes", "records-many-users", "records-no-absorb", "records-redelivered"} {
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			data := inputs[name]
			var (
				ms     []Match
				alerts int
				before runtime.MemStats
				after  runtime.MemStats
			)
			runtime.ReadMemStats(&before)
			b.ResetTimer()
			start := lockThread(b)
			eng := NewEngine(rs, NewMemState(), Options{})
			w := eng.NewWorker()
			for i := 0; i < b.N; i++ {
				if name != "records-redelivered" {
					eng = NewEngine(rs, NewMemState(), Options{})
					eng.noAbsorb = name == "records-no-absorb"
					w = eng.NewWorker()
				}
				for _, in := range data {
					var err error
					ms, err = w.EvalJSON(ctx, in, ms[:0])
					if err != nil {
						b.Fatal(err)
					}
					for _, m := range ms {
						a, err := eng.Decide(ctx, m)
						if err != nil {
							b.Fatal(err)
						}
						if a != nil {
							alerts++
							if err := eng.Ack(ctx, *a); err != nil {
								b.Fatal(err)
							}
						}
					}
				}
			}
			b.StopTimer()
			runtime.ReadMemStats(&after)
			cpuRate(b, b.N*len(data), start)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(data)), "ns/event")
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(b.N*len(data)), "allocs/event")
			b.ReportMetric(float64(alerts)/float64(b.N), "alerts/pass")
			reportRate(b, len(data))
		})
	}
}

// BenchmarkDecodeOnly is the baseline: only decoding the same bytes.
func BenchmarkDecodeOnly(b *testing.B) {
	records := mixedCorpus(benchCorpus, 42)
	envelopes := envelopeCorpus(records)
	b.Run("scanner/records", func(b *testing.B) {
		var d decoder
		b.ReportAllocs()
		start := lockThread(b)
		for i := 0; i < b.N; i++ {
			for _, in := range records {
				if err := d.object(in); err != nil {
					b.Fatal(err)
				}
			}
		}
		cpuRate(b, b.N*len(records), start)
		reportRate(b, len(records))
	})
	b.Run("scanner/envelopes", func(b *testing.B) {
		var d decoder
		var env Env
		b.ReportAllocs()
		start := lockThread(b)
		defer func() { cpuRate(b, b.N*len(envelopes), start) }()
		for i := 0; i < b.N; i++ {
			for _, in := range envelopes {
				if err := d.object(in); err != nil {
					b.Fatal(err)
				}
				if err := d.detailInto(in, d.f.detail, &env); err != nil {
					b.Fatal(err)
				}
			}
		}
		reportRate(b, len(envelopes))
	})
	b.Run("encoding-json-struct/records", func(b *testing.B) {
		var r struct {
			Time, Operator, CategoryType, Action, OperationDetail string
			Email, Type, IPAddress, ClientType, Version           string
		}
		b.ReportAllocs()
		start := lockThread(b)
		defer func() { cpuRate(b, b.N*len(records), start) }()
		for i := 0; i < b.N; i++ {
			for _, in := range records {
				if err := json.Unmarshal(in, &r); err != nil {
					b.Fatal(err)
				}
			}
		}
		reportRate(b, len(records))
	})
	b.Run("encoding-json-map/records", func(b *testing.B) {
		b.ReportAllocs()
		start := lockThread(b)
		defer func() { cpuRate(b, b.N*len(records), start) }()
		for i := 0; i < b.N; i++ {
			for _, in := range records {
				var m map[string]any
				if err := json.Unmarshal(in, &m); err != nil {
					b.Fatal(err)
				}
			}
		}
		reportRate(b, len(records))
	})
}

// BenchmarkParseOperationDetail measures event.ParseOperationDetail, which raw operation
// records pay once each when any rule is indexed for their category.
func BenchmarkParseOperationDetail(b *testing.B) {
	texts := []string{
		"Update User bart@x.io  - User Role: from Member to Admin",
		"Security  - Sign in with Two-Factor Authentication: from On to Off",
		"Add User  - m@x.io",
		"Meeting  - Join before host: from Off to On",
	}
	b.ReportAllocs()
	start := lockThread(b)
	defer func() { cpuRate(b, b.N*len(texts), start) }()
	for i := 0; i < b.N; i++ {
		for _, t := range texts {
			_ = event.ParseOperationDetail(t)
		}
	}
	reportRate(b, len(texts))
}

// cpuRate reports events per CPU-second of the benchmark's thread, which stays meaningful when
// other work shares the machine (wall-clock events/s does not).
func cpuRate(b *testing.B, events int, start cpuTime) {
	if used := cpuNow().sub(start); used > 0 {
		b.ReportMetric(float64(events)/used, "events/cpu-s")
	}
}

// benchRules are the shipped rule pack, every rule enabled and evaluated, read from its
// directory (the pack lives in internal/rules, which this package must not import).
// Zoom.Admin.Action.Outside.Allowed.Domains is tuned with the corpus' own domain as allowed,
// as a user who wants it would: shipped with none, it is left out of the index (Rule.inert)
// and would cost nothing here. ZOOMWATCH_BENCH_RULES names another directory; "fixtures"
// selects this package's test rules.
func benchRules(b *testing.B) *RuleSet {
	dir := os.Getenv("ZOOMWATCH_BENCH_RULES")
	switch dir {
	case "":
		dir = "../rules"
	case "fixtures":
		return loadTestRules(b)
	}
	rs, err := LoadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	const outside = "Zoom.Admin.Action.Outside.Allowed.Domains"
	if _, ok := rs.Rule(outside); ok {
		var errs []error
		rs, errs = Tune(rs, nil, Tuning{Overrides: map[string]string{outside: `{"params":{"allowed_domains":["x.io"]}}`}})
		if len(errs) > 0 {
			b.Fatal(errs)
		}
	}
	for _, r := range rs.Rules() {
		if !r.Enabled || r.inert() {
			b.Fatalf("rule %s is disabled or inert; the benchmark measures every rule", r.ID)
		}
	}
	return rs
}
