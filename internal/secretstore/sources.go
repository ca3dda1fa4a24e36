package secretstore

import (
	"context"
	"fmt"

	"golang.org/x/oauth2"

	"github.com/zoomwatch/zoomwatch/internal/zoom"
)

// Sources addresses a Store by Zoom source ID instead of secret ID, for the functions that
// know their sources from configuration (SOURCES: id → secret_id).
type Sources struct {
	store   *Store
	secrets map[string]string
}

// UnknownSourceError names a source no secret is configured for.
type UnknownSourceError struct{ Source string }

func (e *UnknownSourceError) Error() string {
	return fmt.Sprintf("no secret is configured for Zoom source %q", e.Source)
}

// Sources returns the store addressed by source ID; secrets maps each source ID to its secret
// (ARN or name). The map is copied.
func (s *Store) Sources(secrets map[string]string) *Sources {
	m := make(map[string]string, len(secrets))
	for k, v := range secrets {
		m[k] = v
	}
	return &Sources{store: s, secrets: m}
}

func (s *Sources) secret(source string) (string, error) {
	id, ok := s.secrets[source]
	if !ok || id == "" {
		return "", &UnknownSourceError{Source: source}
	}
	return id, nil
}

// LoadCredentials returns the credentials of source (Store.Load).
func (s *Sources) LoadCredentials(ctx context.Context, source string) (zoom.Credentials, error) {
	id, err := s.secret(source)
	if err != nil {
		return zoom.Credentials{}, err
	}
	return s.store.Load(ctx, id)
}

// Credentials returns the OAuth app identity of source for onboarding (Store.LoadApp).
func (s *Sources) Credentials(ctx context.Context, source string) (zoom.Credentials, error) {
	id, err := s.secret(source)
	if err != nil {
		return zoom.Credentials{}, err
	}
	return s.store.LoadApp(ctx, id)
}

// SaveCredentials stores creds as the secret of source (Store.Put).
func (s *Sources) SaveCredentials(ctx context.Context, source string, creds zoom.Credentials) error {
	id, err := s.secret(source)
	if err != nil {
		return err
	}
	return s.store.Put(ctx, id, creds)
}

// TokenStore returns the zoom.TokenStore rotated tokens of source are saved to. For a source
// without a configured secret, every save fails with an *UnknownSourceError.
func (s *Sources) TokenStore(source string) zoom.TokenStore {
	id, err := s.secret(source)
	if err != nil {
		return failingTokens{err}
	}
	return s.store.Tokens(id)
}

// Forget drops the cached credentials of source.
func (s *Sources) Forget(source string) {
	if id, err := s.secret(source); err == nil {
		s.store.Forget(id)
	}
}

type failingTokens struct{ err error }

func (f failingTokens) SaveToken(context.Context, *oauth2.Token) error { return f.err }
