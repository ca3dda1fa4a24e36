package faults

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"
)

// TestDrainBench measures the poller draining the simulator's whole backlog (both log types,
// the longest history Zoom serves) at the per-request latency and account limit of the
// benchmark, into the emulator's Kinesis. It runs only for make bench, which reads its
// "bench-drain:" lines; timings are reported, never asserted.
func TestDrainBench(t *testing.T) {
	if os.Getenv("ZOOMWATCH_BENCH") == "" {
		t.Skip("set ZOOMWATCH_BENCH=1 (make bench) to measure the poller drain")
	}
	const latency, limit = 50 * time.Millisecond, 20
	for _, tt := range []struct {
		name     string
		maxRPS   string
		pageSize int
	}{
		{"tuned", "20", 300},
		{"default", "8", 300},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// 300 extra users make the 179-day history about 100,000 records.
			h := newHarness(t, profile{name: "bench", historyDays: 179, extraUsers: 300, pageSize: tt.pageSize, latency: latency,
				zoomTimeout: 30 * time.Second, perSecondLimit: limit, maxRPS: tt.maxRPS}, 1)
			c := h.newContainer(nil)
			runtime.GC()
			var base runtime.MemStats
			runtime.ReadMemStats(&base)
			peak := base.HeapInuse
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Go(func() {
				var m runtime.MemStats
				for {
					select {
					case <-stop:
						return
					case <-time.After(5 * time.Millisecond):
					}
					runtime.ReadMemStats(&m)
					peak = max(peak, m.HeapInuse)
				}
			})
			started := time.Now()
			rep, err := c.poll()
			wall := time.Since(started)
			close(stop)
			wg.Wait()
			if err != nil {
				t.Fatalf("drain: %v", err)
			}
			st := h.sim.Stats()
			bound := time.Duration(float64(st.ReportRequests) / limit * float64(time.Second))
			sequential := time.Duration(st.ReportRequests) * latency
			records := 0
			for _, lt := range []string{"Zoom.Operation", "Zoom.Activity"} {
				records += len(h.sim.Records(lt, time.Now()))
			}
			fmt.Printf("bench-drain: name=%s max_rps=%s page_size=%d records=%d delivered=%d requests=%d pages=%d wall=%s bound=%s sequential=%s over_bound=%.1f%% zoom_429=%d peak_heap_mb=%.1f baseline_heap_mb=%.1f\n",
				tt.name, tt.maxRPS, tt.pageSize, records, rep.Sources[0].Delivered, st.ReportRequests, st.ReportPages,
				wall.Round(time.Millisecond), bound.Round(time.Millisecond), sequential.Round(time.Millisecond),
				100*(wall.Seconds()/bound.Seconds()-1), st.PerSecond429,
				float64(peak)/(1<<20), float64(base.HeapInuse)/(1<<20))
		})
	}
}
