package local

import (
	"context"
	"sync"

	"github.com/zoomwatch/zoomwatch/internal/event"
)

// Stream is the laptop stand-in for Kinesis: the poller puts envelopes, the detector drains
// them. It acknowledges everything it accepts.
type Stream struct {
	mu      sync.Mutex
	pending []event.Envelope
}

// Put implements poll.Sink.
func (s *Stream) Put(_ context.Context, batch []event.Envelope) ([]bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending = append(s.pending, batch...)
	acked := make([]bool, len(batch))
	for i := range acked {
		acked[i] = true
	}
	return acked, nil
}

// Drain returns and forgets everything put so far, in order.
func (s *Stream) Drain() []event.Envelope {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.pending
	s.pending = nil
	return out
}
