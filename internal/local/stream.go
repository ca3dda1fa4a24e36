package local

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"

	"github.com/zoomwatch/zoomwatch/internal/event"
)

// Stream is the laptop stand-in for Kinesis: the poller puts envelopes, the detector reads
// them and then acknowledges them. With a journal file, what was put survives a crash until it
// is acknowledged, so an envelope the poller checkpointed is detected even if the process died
// before the detector ran; without one, the stream lives in memory only.
type Stream struct {
	mu      sync.Mutex
	journal string
	pending []event.Envelope
}

// NewStream returns a stream journaling to path ("" for memory only), loading whatever a
// previous process left unacknowledged there.
func NewStream(path string) (*Stream, error) {
	s := &Stream{journal: path}
	if path == "" {
		return s, nil
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open stream journal: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 8<<20)
	for line := 1; sc.Scan(); line++ {
		var e event.Envelope
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			// A torn last line is a write the crash interrupted: it was never acknowledged to
			// the poller, so the poller reads it again.
			continue
		}
		s.pending = append(s.pending, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read stream journal: %w", err)
	}
	return s, nil
}

// Put implements poll.Sink. With a journal, envelopes are acknowledged only once they are on
// disk.
func (s *Stream) Put(_ context.Context, batch []event.Envelope) ([]bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	acked := make([]bool, len(batch))
	if s.journal != "" {
		if err := appendJSONLines(s.journal, batch); err != nil {
			return acked, fmt.Errorf("journal envelopes: %w", err)
		}
	}
	s.pending = append(s.pending, batch...)
	for i := range acked {
		acked[i] = true
	}
	return acked, nil
}

// Pending returns everything put and not yet acknowledged, in order.
func (s *Stream) Pending() []event.Envelope {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]event.Envelope(nil), s.pending...)
}

// Ack forgets the first n pending envelopes: the detector is done with them.
func (s *Stream) Ack(n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n > len(s.pending) {
		n = len(s.pending)
	}
	s.pending = s.pending[n:]
	if s.journal == "" {
		return nil
	}
	if len(s.pending) == 0 {
		if err := os.Remove(s.journal); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("clear stream journal: %w", err)
		}
		return nil
	}
	var b []byte
	for _, e := range s.pending {
		line, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("encode envelope %s: %w", e.ID, err)
		}
		b = append(append(b, line...), '\n')
	}
	if err := WriteFileAtomic(s.journal, b, 0o600); err != nil {
		return fmt.Errorf("rewrite stream journal: %w", err)
	}
	return nil
}

// Drain returns and acknowledges everything pending.
func (s *Stream) Drain() []event.Envelope {
	out := s.Pending()
	_ = s.Ack(len(out))
	return out
}

func appendJSONLines(path string, batch []event.Envelope) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for i := range batch {
		if err := enc.Encode(&batch[i]); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
