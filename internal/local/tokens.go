package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/oauth2"
)

// Tokens keeps one source's OAuth token (with its rotating refresh token) in a file readable
// only by the owner. It is the laptop counterpart of the Secrets Manager token store.
type Tokens struct {
	path string
	mu   sync.Mutex
}

// NewTokens returns the token file of source under dir. The first save creates dir (mode
// 0700), so commands that only look for a token leave nothing behind.
func NewTokens(dir, source string) *Tokens {
	return &Tokens{path: filepath.Join(dir, source+".token.json")}
}

type tokenFile struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type,omitempty"`
	RefreshToken string `json:"refresh_token"`
	Expiry       string `json:"expiry,omitempty"`
}

// SaveToken writes tok durably (atomic replace, fsync) before returning, as a rotating refresh
// token must be saved before the access token that came with it is used.
func (t *Tokens) SaveToken(_ context.Context, tok *oauth2.Token) error {
	if tok == nil {
		return errors.New("save token: nil token")
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	f := tokenFile{AccessToken: tok.AccessToken, TokenType: tok.TokenType, RefreshToken: tok.RefreshToken}
	if !tok.Expiry.IsZero() {
		f.Expiry = tok.Expiry.UTC().Format("2006-01-02T15:04:05Z07:00")
	}
	b, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("encode token: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(t.path), 0o700); err != nil {
		return fmt.Errorf("create token directory: %w", err)
	}
	if err := WriteFileAtomic(t.path, b, 0o600); err != nil {
		return fmt.Errorf("save token to %s: %w", t.path, err)
	}
	return nil
}

// LoadToken returns the saved token, or (nil, nil) if there is none yet.
func (t *Tokens) LoadToken(_ context.Context) (*oauth2.Token, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	b, err := os.ReadFile(t.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read token file %s: %w", t.path, err)
	}
	var f tokenFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("token file %s is corrupt (run zoomwatch connect again): %w", t.path, err)
	}
	tok := &oauth2.Token{AccessToken: f.AccessToken, TokenType: f.TokenType, RefreshToken: f.RefreshToken}
	if f.Expiry != "" {
		if err := tok.Expiry.UnmarshalText([]byte(f.Expiry)); err != nil {
			return nil, fmt.Errorf("token file %s has a bad expiry (run zoomwatch connect again)", t.path)
		}
	}
	return tok, nil
}

// Path is where the token lives, for messages to the user.
func (t *Tokens) Path() string { return t.path }
