package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/zoomwatch/zoomwatch/internal/poll"
)

// Cursors is a poll.CursorStore keeping one JSON file per key under a directory. Writes are
// atomic (write to a temporary file, then rename) so a crash leaves the previous checkpoint.
type Cursors struct {
	dir string
	mu  sync.Mutex
}

// NewCursors returns a store under dir, creating it if needed.
func NewCursors(dir string) (*Cursors, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create cursor directory: %w", err)
	}
	return &Cursors{dir: dir}, nil
}

type cursorFile struct {
	Version   int64                `json:"version"`
	Watermark time.Time            `json:"watermark"`
	Seen      map[string]time.Time `json:"seen"`
}

func (c *Cursors) path(k poll.Key) string {
	name := strings.NewReplacer("/", "_", "\\", "_", ":", "_").Replace(k.Source + "." + string(k.LogType))
	return filepath.Join(c.dir, name+".json")
}

// LoadCursor implements poll.CursorStore.
func (c *Cursors) LoadCursor(_ context.Context, k poll.Key) (poll.Cursor, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, err := c.read(k)
	if err != nil {
		return poll.Cursor{}, err
	}
	return poll.Cursor{Version: f.Version, Watermark: f.Watermark, Seen: f.Seen}, nil
}

func (c *Cursors) read(k poll.Key) (cursorFile, error) {
	var f cursorFile
	b, err := os.ReadFile(c.path(k))
	if errors.Is(err, fs.ErrNotExist) {
		return cursorFile{Seen: map[string]time.Time{}}, nil
	}
	if err != nil {
		return f, fmt.Errorf("read cursor %s: %w", k, err)
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return f, fmt.Errorf("cursor file %s is corrupt (delete it to re-poll from the first backfill): %w", c.path(k), err)
	}
	if f.Seen == nil {
		f.Seen = map[string]time.Time{}
	}
	return f, nil
}

// CommitCursor implements poll.CursorStore.
func (c *Cursors) CommitCursor(_ context.Context, k poll.Key, version int64, cp poll.Checkpoint) (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, err := c.read(k)
	if err != nil {
		return 0, err
	}
	if f.Version != version {
		return 0, &poll.ConflictError{Key: k, Version: version}
	}
	for id, t := range cp.Added {
		f.Seen[id] = t
	}
	if !cp.Watermark.IsZero() {
		f.Watermark = cp.Watermark
	}
	if !cp.Forget.IsZero() {
		for id, t := range f.Seen {
			if t.Before(cp.Forget) {
				delete(f.Seen, id)
			}
		}
	}
	f.Version++
	b, err := json.Marshal(f)
	if err != nil {
		return 0, fmt.Errorf("encode cursor %s: %w", k, err)
	}
	if err := WriteFileAtomic(c.path(k), b, 0o600); err != nil {
		return 0, fmt.Errorf("save cursor %s: %w", k, err)
	}
	return f.Version, nil
}

// WriteFileAtomic replaces path with data so readers see the old or the new file, never half:
// the data is written to a temporary file in the same directory, synced, and renamed over path.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
