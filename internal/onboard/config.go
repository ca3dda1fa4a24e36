package onboard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"regexp"
	"sync"
	"time"

	"github.com/zoomwatch/zoomwatch/internal/zoom"
)

// Defaults and limits of Config.
const (
	// DefaultStateTTL is how long an authorization started at /start may take to come back.
	// Zoom's consent page itself expires after 10 minutes.
	DefaultStateTTL = 10 * time.Minute
	// MaxStateTTL bounds StateTTL: a state is a bearer credential for one callback.
	MaxStateTTL = time.Hour
	// MinKeyLen is the shortest Config.Key accepted (256 bits).
	MinKeyLen = 32
	// MinSetupTokenLen is the shortest setup token accepted.
	MinSetupTokenLen = 16
)

// CredentialStore reads and writes one source's Zoom credentials (the secret DESIGN.md
// describes). Credentials must return the client id and secret an admin entered for the
// source's OAuth app; SaveCredentials must make the new tokens durable before it returns,
// because the refresh token in them starts a rotation nothing else can recover.
type CredentialStore interface {
	Credentials(ctx context.Context, source string) (zoom.Credentials, error)
	SaveCredentials(ctx context.Context, source string, creds zoom.Credentials) error
}

// NonceStore makes each OAuth state single-use. Consume records nonce and reports whether it
// was fresh (never consumed before); it must be atomic across every process serving /callback
// (a DynamoDB conditional put, say). The store may forget a nonce after expiry: a state past its
// expiry is rejected before the store is asked.
type NonceStore interface {
	Consume(ctx context.Context, nonce string, expiry time.Time) (fresh bool, err error)
}

// Config configures a Handler.
type Config struct {
	// Zoom configures the token exchange and the verification requests (AuthBase, APIBase,
	// HTTPClient). Its Now is also the handler's clock when Now is nil.
	Zoom zoom.Config
	// Sources are the source ids that may be connected here (the auth-code sources). It may be
	// empty (a deployment with Server-to-Server sources only): the pages then explain that.
	Sources []string
	// Credentials loads each source's client id and secret and saves its tokens.
	Credentials CredentialStore
	// Nonces makes states single-use. Required; use MemoryNonces in a single process.
	Nonces NonceStore
	// SetupToken is the deployment's setup token; /start refuses without it.
	SetupToken zoom.Secret
	// Key signs states and derives PKCE verifiers; at least MinKeyLen bytes, the same in every
	// process serving this deployment (DeriveKey derives one from the setup token).
	Key []byte
	// RedirectURL is the callback URL registered in the Zoom app, e.g.
	// https://abc.lambda-url.us-east-1.on.aws/callback. Empty derives it from the request's
	// Host (https, or http for loopback hosts), which is right behind a Lambda Function URL.
	RedirectURL string
	// StateTTL is how long a started authorization stays valid. Default 10 minutes.
	StateTTL time.Duration
	// Now is the clock. Default: Zoom.Now, else time.Now.
	Now func() time.Time
	// Logger receives one line per outcome (never a token, secret, code or state). Default:
	// discard.
	Logger *slog.Logger
	// OnOutcome, if set, is called after each /callback with what happened (zoomwatch connect
	// uses it to exit).
	OnOutcome func(ctx context.Context, o Outcome)
}

// sourcePattern is what a source id may look like: it appears in URLs, file names and keys.
var sourcePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

func (c Config) withDefaults() Config {
	if c.StateTTL == 0 {
		c.StateTTL = DefaultStateTTL
	}
	if c.Now == nil {
		c.Now = c.Zoom.Now
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return c
}

// Validate reports every setting the handler cannot work with. It never echoes a secret.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if err := c.Zoom.Validate(); err != nil {
		errs = append(errs, err)
	}
	for _, s := range c.Sources {
		if !sourcePattern.MatchString(s) {
			errs = append(errs, fmt.Errorf("source id %q must be 1-64 letters, digits, dots, dashes or underscores", s))
		}
	}
	if c.Credentials == nil {
		errs = append(errs, errors.New("credential store is missing"))
	}
	if c.Nonces == nil {
		errs = append(errs, errors.New("nonce store is missing"))
	}
	if len(c.SetupToken.Reveal()) < MinSetupTokenLen {
		errs = append(errs, fmt.Errorf("setup token is shorter than %d characters", MinSetupTokenLen))
	}
	if len(c.Key) < MinKeyLen {
		errs = append(errs, fmt.Errorf("key is shorter than %d bytes", MinKeyLen))
	}
	if c.RedirectURL != "" {
		u, err := url.Parse(c.RedirectURL)
		switch {
		case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
			errs = append(errs, fmt.Errorf("redirect URL %q is not an absolute http(s) URL", c.RedirectURL))
		case u.Scheme == "http" && !loopbackHost(u.Hostname()):
			errs = append(errs, fmt.Errorf("redirect URL %q must use https (http only on loopback)", c.RedirectURL))
		case u.Path != callbackPath || u.RawQuery != "" || u.Fragment != "":
			errs = append(errs, fmt.Errorf("redirect URL %q must end in %s with no query", c.RedirectURL, callbackPath))
		}
	}
	if c.StateTTL < time.Minute || c.StateTTL > MaxStateTTL {
		errs = append(errs, fmt.Errorf("state TTL %s is outside 1m-%s", c.StateTTL, MaxStateTTL))
	}
	if len(errs) > 0 {
		return fmt.Errorf("onboard config: %w", errors.Join(errs...))
	}
	return nil
}

// MemoryNonces is a NonceStore for one process (zoomwatch connect, tests). It forgets nonces
// once they expire. Behind a Lambda Function URL, where callbacks reach many instances, use a
// shared store instead.
type MemoryNonces struct {
	// Now is the clock used to forget expired nonces. Default time.Now.
	Now func() time.Time

	mu   sync.Mutex
	seen map[string]time.Time
}

// Consume implements NonceStore.
func (m *MemoryNonces) Consume(_ context.Context, nonce string, expiry time.Time) (bool, error) {
	now := time.Now
	if m.Now != nil {
		now = m.Now
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.seen == nil {
		m.seen = map[string]time.Time{}
	}
	t := now()
	for n, exp := range m.seen {
		if t.After(exp) {
			delete(m.seen, n)
		}
	}
	if _, ok := m.seen[nonce]; ok {
		return false, nil
	}
	m.seen[nonce] = expiry
	return true, nil
}
