package local

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/zoomwatch/zoomwatch/internal/event"
)

func TestTokensRoundTripAndPermissions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	store := NewTokens(filepath.Join(dir, "tokens"), "main")
	ctx := context.Background()
	if tok, err := store.LoadToken(ctx); tok != nil || err != nil {
		t.Fatalf("empty store returned %v, %v", tok, err)
	}
	exp := time.Date(2026, 11, 25, 13, 0, 0, 0, time.UTC)
	if err := store.SaveToken(ctx, &oauth2.Token{AccessToken: "a1", RefreshToken: "r1", Expiry: exp}); err != nil {
		t.Fatal(err)
	}
	if err := store.SaveToken(ctx, &oauth2.Token{AccessToken: "a2", RefreshToken: "r2", Expiry: exp}); err != nil {
		t.Fatal(err)
	}
	got, err := store.LoadToken(ctx)
	if err != nil || got.RefreshToken != "r2" || got.AccessToken != "a2" || !got.Expiry.Equal(exp) {
		t.Fatalf("LoadToken = %+v, %v; want the rotated token", got, err)
	}
	fi, err := os.Stat(store.Path())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, want 0600", fi.Mode().Perm())
	}
	if di, err := os.Stat(filepath.Dir(store.Path())); err != nil || di.Mode().Perm() != 0o700 {
		t.Errorf("token directory made by the first save: %v, %v; want mode 0700", di, err)
	}
	if err := os.WriteFile(store.Path(), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := store.LoadToken(ctx); err == nil {
		t.Error("corrupt token file accepted")
	}
}

func TestStreamAcksAndDrainsInOrder(t *testing.T) {
	t.Parallel()
	var s Stream
	batch := []event.Envelope{{ID: "a"}, {ID: "b"}}
	acked, err := s.Put(context.Background(), batch)
	if err != nil || len(acked) != 2 || !acked[0] || !acked[1] {
		t.Fatalf("Put = %v, %v", acked, err)
	}
	if got := s.Drain(); len(got) != 2 || got[0].ID != "a" || got[1].ID != "b" {
		t.Errorf("Drain = %v", got)
	}
	if got := s.Drain(); len(got) != 0 {
		t.Errorf("second Drain = %v", got)
	}
}

func TestCursorsSurviveReopen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, _ := NewCursors(dir)
	ctx := context.Background()
	key := keyOf("main", event.Activity)
	wm := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	v, err := a.CommitCursor(ctx, key, 0, checkpoint(wm, map[string]time.Time{"x": wm.Add(-time.Hour), "old": wm.Add(-72 * time.Hour)}, time.Time{}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.CommitCursor(ctx, key, v, checkpoint(time.Time{}, nil, wm.Add(-24*time.Hour))); err != nil {
		t.Fatal(err)
	}
	b, _ := NewCursors(dir)
	cur, err := b.LoadCursor(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if cur.Version != 2 || !cur.Watermark.Equal(wm) || len(cur.Seen) != 1 {
		t.Errorf("reopened cursor = %+v, want version 2, watermark kept, old id forgotten", cur)
	}
}

func TestStreamJournalKeepsUnackedEnvelopesAcrossRestart(t *testing.T) {
	t.Parallel()
	path := t.TempDir() + "/stream.jsonl"
	ctx := context.Background()
	s, err := NewStream(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, []event.Envelope{{ID: "a"}, {ID: "b"}, {ID: "c"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Ack(1); err != nil {
		t.Fatal(err)
	}
	// A crash here, plus a torn line a dying write left behind: the restart sees b and c.
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"id":"d","sou`)
	f.Close()
	again, err := NewStream(path)
	if err != nil {
		t.Fatal(err)
	}
	got := again.Pending()
	if len(got) != 2 || got[0].ID != "b" || got[1].ID != "c" {
		t.Fatalf("after restart pending = %v, want b, c", got)
	}
	if err := again.Ack(2); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("journal still exists after everything was acknowledged: %v", err)
	}
}
