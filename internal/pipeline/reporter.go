package pipeline

import (
	"context"
	"fmt"

	"github.com/zoomwatch/zoomwatch/internal/poll"
	"github.com/zoomwatch/zoomwatch/internal/zoom"
)

// CredentialLoader reads a source's Zoom credentials: Secrets Manager in AWS, the environment
// or local state on a laptop.
type CredentialLoader interface {
	LoadCredentials(ctx context.Context, source string) (zoom.Credentials, error)
}

// CredentialFunc adapts a function to CredentialLoader.
type CredentialFunc func(ctx context.Context, source string) (zoom.Credentials, error)

// LoadCredentials implements CredentialLoader.
func (f CredentialFunc) LoadCredentials(ctx context.Context, source string) (zoom.Credentials, error) {
	return f(ctx, source)
}

// StaticCredentials always returns creds, for credentials fixed at start (the environment).
func StaticCredentials(creds zoom.Credentials) CredentialLoader {
	return CredentialFunc(func(context.Context, string) (zoom.Credentials, error) { return creds, nil })
}

// ZoomReporter returns the poll.OpenReporter of one source: it reads the credentials when the
// poller holds the source's lease (so a refresh token rotated by the previous cycle is the one
// read), and builds a Zoom client whose rotated tokens go to tokens before they are used.
func ZoomReporter(cfg zoom.Config, source string, creds CredentialLoader, tokens zoom.TokenStore) poll.OpenReporter {
	return func(ctx context.Context) (poll.Reporter, error) {
		c, err := creds.LoadCredentials(ctx, source)
		if err != nil {
			return nil, fmt.Errorf("load credentials of source %s: %w", source, err)
		}
		ts, err := zoom.NewTokenSource(ctx, cfg, c, tokens)
		if err != nil {
			return nil, fmt.Errorf("token source of source %s: %w", source, err)
		}
		client, err := zoom.New(cfg, ts)
		if err != nil {
			return nil, fmt.Errorf("zoom client of source %s: %w", source, err)
		}
		return client, nil
	}
}
