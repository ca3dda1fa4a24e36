package rules_test

import (
	"context"
	"testing"
	"time"

	"github.com/zoomwatch/zoomwatch/internal/detect"
	"github.com/zoomwatch/zoomwatch/internal/rules"
	"github.com/zoomwatch/zoomwatch/internal/zoomsim"
)

// BenchmarkPackOverSimulatedMonth measures the shipped pack, every rule enabled, from raw
// Zoom record bytes to alerts on one core, over the simulator's ordinary month (both log
// types, mostly benign).
func BenchmarkPackOverSimulatedMonth(b *testing.B) {
	epoch := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	sim, err := zoomsim.New(zoomsim.Config{Now: func() time.Time { return epoch }, Epoch: epoch})
	if err != nil {
		b.Fatal(err)
	}
	end := epoch.Add(30 * 24 * time.Hour)
	var records [][]byte
	for _, lt := range []string{zoomsim.LogTypeOperation, zoomsim.LogTypeActivity} {
		for _, raw := range sim.Records(lt, end) {
			records = append(records, raw)
		}
	}
	rs, err := detect.LoadFS(rules.FS(), ".")
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		eng := detect.NewEngine(rs, detect.NewMemState(), detect.Options{})
		w := eng.NewWorker()
		var ms []detect.Match
		for _, rec := range records {
			ms, err = w.EvalJSON(ctx, rec, ms[:0])
			if err != nil {
				b.Fatal(err)
			}
			for _, m := range ms {
				if _, err := eng.Decide(ctx, m); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*len(records))/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(records)), "ns/event")
}
