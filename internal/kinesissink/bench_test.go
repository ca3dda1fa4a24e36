package kinesissink

import (
	"fmt"
	"testing"

	"github.com/zoomwatch/zoomwatch/internal/event"
)

// BenchmarkEncodeAndChunk measures the sink's own work per envelope (JSON encoding and call
// planning), which a poll cycle of a busy account does for thousands of envelopes.
func BenchmarkEncodeAndChunk(b *testing.B) {
	s, err := New(noAPI{}, Config{Stream: "s"})
	if err != nil {
		b.Fatal(err)
	}
	batch := make([]record, 0, 1000)
	envs := make([]event.Envelope, 1000)
	for i := range envs {
		envs[i] = envelope(fmt.Sprintf("%064x", i), 300)
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		batch = batch[:0]
		for i := range envs {
			r, err := s.encode(b.Context(), i, envs[i])
			if err != nil {
				b.Fatal(err)
			}
			batch = append(batch, r)
		}
		if len(chunk(batch)) != 2 {
			b.Fatal("want 2 calls for 1000 records")
		}
		n += len(envs)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}
