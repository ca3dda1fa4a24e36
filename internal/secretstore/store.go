package secretstore

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"golang.org/x/oauth2"

	"github.com/zoomwatch/zoomwatch/internal/zoom"
)

// API is the part of the Secrets Manager client the store uses; *secretsmanager.Client
// implements it.
type API interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	PutSecretValue(ctx context.Context, in *secretsmanager.PutSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
}

// Defaults of Config.
const (
	DefaultMaxAttempts = 5
	DefaultBaseDelay   = 200 * time.Millisecond
	DefaultMaxDelay    = 5 * time.Second
	// DefaultReuseFor covers a whole poll cycle (the poller's Lambda timeout is at most 15
	// minutes) plus the token source's own expiry margin.
	DefaultReuseFor = 15*time.Minute + zoom.TokenExpiryMargin
)

// Config configures a Store.
type Config struct {
	// MaxAttempts bounds the tries of one write (a rotated token must not be lost to a
	// passing throttle). DefaultMaxAttempts when zero.
	MaxAttempts int
	// BaseDelay and MaxDelay shape the exponential backoff with full jitter between tries.
	BaseDelay, MaxDelay time.Duration
	// ReuseFor is how long a cached Server-to-Server access token must still be valid for Load
	// to answer from the cache instead of reading the secret; within that time the token
	// source asks Zoom for nothing. Negative disables the cache. DefaultReuseFor when zero.
	//
	// OAuth (authorization code) secrets are always read: another process may have rotated
	// the refresh token since this one cached it, and refreshing with a retired token fails
	// the grant. Their access token is still reused across invocations, through the secret.
	ReuseFor time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Validate reports an invalid setting.
func (c Config) Validate() error {
	switch {
	case c.MaxAttempts < 0:
		return fmt.Errorf("secretstore: max attempts %d is negative", c.MaxAttempts)
	case c.BaseDelay < 0 || c.MaxDelay < 0:
		return errors.New("secretstore: backoff delays must not be negative")
	case c.MaxDelay != 0 && c.BaseDelay > c.MaxDelay:
		return fmt.Errorf("secretstore: base delay %s exceeds max delay %s", c.BaseDelay, c.MaxDelay)
	}
	return nil
}

// Store reads and writes Zoom source secrets in Secrets Manager (DESIGN.md "Secret"). Build
// one per process and keep it across warm invocations: it caches each secret's credentials so
// a still-valid access token is reused without a read. It is safe for concurrent use.
type Store struct {
	api API
	cfg Config

	mu    sync.Mutex
	cache map[string]zoom.Credentials // by secret ID
}

// New returns a Store using api.
func New(api API, cfg Config) (*Store, error) {
	if api == nil {
		return nil, errors.New("secretstore: Secrets Manager client is nil")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.BaseDelay == 0 {
		cfg.BaseDelay = DefaultBaseDelay
	}
	if cfg.MaxDelay == 0 {
		cfg.MaxDelay = max(DefaultMaxDelay, cfg.BaseDelay)
	}
	if cfg.ReuseFor == 0 {
		cfg.ReuseFor = DefaultReuseFor
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Store{api: api, cfg: cfg, cache: map[string]zoom.Credentials{}}, nil
}

// InvalidSecretError reports a secret that is not usable credentials: not JSON, or a field
// missing or wrong. It names the secret and the fields, never a value.
type InvalidSecretError struct {
	SecretID string
	// Err says what is wrong (from zoom.Credentials.Validate or the JSON shape).
	Err error
}

func (e *InvalidSecretError) Error() string {
	return fmt.Sprintf("secret %s does not hold usable Zoom credentials: %v", e.SecretID, e.Err)
}

// Unwrap returns the cause.
func (e *InvalidSecretError) Unwrap() error { return e.Err }

// WriteError reports a secret write that still failed after every retry. For a rotated
// refresh token it means the only valid token exists in memory alone: the caller raises the
// auth alarm and an ops alert.
type WriteError struct {
	SecretID string
	Attempts int
	Err      error
}

func (e *WriteError) Error() string {
	return fmt.Sprintf("write secret %s: failed after %d attempts: %v", e.SecretID, e.Attempts, e.Err)
}

// Unwrap returns the last attempt's error.
func (e *WriteError) Unwrap() error { return e.Err }

// Load reads the credentials in secret id, validated. For a Server-to-Server secret whose
// cached access token is valid for at least Config.ReuseFor, it answers from the cache.
func (s *Store) Load(ctx context.Context, id string) (zoom.Credentials, error) {
	if c, ok := s.cached(id); ok {
		return c, nil
	}
	fields, err := s.read(ctx, id)
	if err != nil {
		return zoom.Credentials{}, err
	}
	creds, err := decode(id, fields)
	if err != nil {
		return zoom.Credentials{}, err
	}
	s.remember(id, creds)
	return creds, nil
}

// Forget drops the cached credentials of secret id, e.g. after Zoom refused its credentials,
// so the next Load reads what an operator may have fixed.
func (s *Store) Forget(id string) {
	s.mu.Lock()
	delete(s.cache, id)
	s.mu.Unlock()
}

func (s *Store) cached(id string) (zoom.Credentials, bool) {
	if s.cfg.ReuseFor < 0 {
		return zoom.Credentials{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.cache[id]
	if !ok || c.AuthType != zoom.AuthS2S || c.AccessToken.IsZero() || c.Expiry.IsZero() || c.Expiry.Sub(s.cfg.Now()) < s.cfg.ReuseFor {
		return zoom.Credentials{}, false
	}
	return c, true
}

func (s *Store) remember(id string, c zoom.Credentials) {
	s.mu.Lock()
	s.cache[id] = c
	s.mu.Unlock()
}

// Put stores creds in secret id (onboarding: after the OAuth code exchange, or when an admin
// enters Server-to-Server credentials). Fields of the secret zoomwatch does not know are kept.
// The write is retried like SaveToken; a final failure is a *WriteError.
func (s *Store) Put(ctx context.Context, id string, creds zoom.Credentials) error {
	if err := creds.Validate(); err != nil {
		return &InvalidSecretError{SecretID: id, Err: err}
	}
	return s.update(ctx, id, func(fields map[string]json.RawMessage) {
		setString(fields, "auth_type", string(creds.AuthType))
		setString(fields, "client_id", creds.ClientID)
		setString(fields, "client_secret", creds.ClientSecret.Reveal())
		setString(fields, "account_id", creds.AccountID)
		setString(fields, "refresh_token", creds.RefreshToken.Reveal())
		setString(fields, "access_token", creds.AccessToken.Reveal())
		setString(fields, "expiry", formatExpiry(creds.Expiry))
	}, false)
}

// SaveToken writes tok into secret id: its access token and expiry, and its refresh token when
// it has one (Server-to-Server tokens have none and keep the stored one, if any). It reads the
// secret, changes those fields, and writes a new version with PutSecretValue, retrying the
// whole read-modify-write with backoff; a final failure is a *WriteError.
func (s *Store) SaveToken(ctx context.Context, id string, tok *oauth2.Token) error {
	if tok == nil {
		return errors.New("save token: nil token")
	}
	return s.update(ctx, id, func(fields map[string]json.RawMessage) {
		if tok.RefreshToken != "" {
			setString(fields, "refresh_token", tok.RefreshToken)
		}
		setString(fields, "access_token", tok.AccessToken)
		setString(fields, "expiry", formatExpiry(tok.Expiry))
	}, true)
}

// Tokens returns the zoom.TokenStore of secret id, for zoom.NewTokenSource.
func (s *Store) Tokens(id string) *Tokens { return &Tokens{store: s, id: id} }

// Tokens saves one secret's rotated tokens; it implements zoom.TokenStore.
type Tokens struct {
	store *Store
	id    string
}

// SaveToken implements zoom.TokenStore (see Store.SaveToken).
func (t *Tokens) SaveToken(ctx context.Context, tok *oauth2.Token) error {
	return t.store.SaveToken(ctx, t.id, tok)
}

// update runs a read-modify-write of secret id under the retry policy. mustExist says a
// non-JSON secret is an error rather than an empty object to fill. The change is written even
// if the rest of the secret is invalid: a rotated refresh token must survive a broken field,
// which an operator can then repair.
func (s *Store) update(ctx context.Context, id string, change func(map[string]json.RawMessage), mustExist bool) error {
	// One request token for every try: if a PutSecretValue succeeded but its answer was
	// lost, the retry with the same token and value is a no-op instead of a second version.
	var reqToken string
	var lastBody []byte
	var err error
	attempt := 1
	for ; attempt <= s.cfg.MaxAttempts; attempt++ {
		if attempt > 1 {
			if werr := s.wait(ctx, attempt); werr != nil {
				return &WriteError{SecretID: id, Attempts: attempt - 1, Err: errors.Join(err, werr)}
			}
		}
		var fields map[string]json.RawMessage
		fields, err = s.read(ctx, id)
		var invalid *InvalidSecretError
		switch {
		case errors.As(err, &invalid) && !mustExist:
			fields, err = map[string]json.RawMessage{}, nil
		case errors.As(err, &invalid):
			return err // nothing to merge into; a retry reads the same
		case err != nil:
			if permanent(err) {
				return err
			}
			continue
		}
		change(fields)
		body, merr := json.Marshal(fields)
		if merr != nil {
			return fmt.Errorf("encode secret %s: %w", id, merr)
		}
		if reqToken == "" || string(body) != string(lastBody) {
			// A different value needs a different token (Secrets Manager refuses a reused
			// token with new content).
			reqToken = newRequestToken()
			lastBody = body
		}
		_, err = s.api.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
			SecretId:           aws.String(id),
			SecretString:       aws.String(string(body)),
			ClientRequestToken: aws.String(reqToken),
		})
		if err == nil {
			if creds, derr := decode(id, fields); derr == nil {
				s.remember(id, creds)
			} else {
				s.Forget(id)
			}
			return nil
		}
		err = fmt.Errorf("put secret value: %w", err)
		if permanent(err) {
			return &WriteError{SecretID: id, Attempts: attempt, Err: err}
		}
	}
	return &WriteError{SecretID: id, Attempts: attempt - 1, Err: err}
}

// read returns the JSON fields of secret id. A secret that is not a JSON object is an
// *InvalidSecretError.
func (s *Store) read(ctx context.Context, id string) (map[string]json.RawMessage, error) {
	out, err := s.api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	if err != nil {
		return nil, fmt.Errorf("read secret %s: %w", id, err)
	}
	var fields map[string]json.RawMessage
	// The JSON decoder's messages quote offsets and types, never the input; still, report
	// only the offset so no fragment of a secret can reach a log.
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &fields); err != nil || fields == nil {
		return nil, &InvalidSecretError{SecretID: id, Err: errors.New("value is not a JSON object")}
	}
	return fields, nil
}

// permanent reports errors a retry cannot fix: the secret does not exist, the request is
// invalid, access is denied, or the context is done.
func permanent(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var (
		nf  *types.ResourceNotFoundException
		inv *types.InvalidRequestException
		par *types.InvalidParameterException
		dec *types.DecryptionFailure
	)
	if errors.As(err, &nf) || errors.As(err, &inv) || errors.As(err, &par) || errors.As(err, &dec) {
		return true
	}
	var coded interface{ ErrorCode() string }
	return errors.As(err, &coded) && coded.ErrorCode() == "AccessDeniedException"
}

// wait sleeps before try attempt: exponential backoff with full jitter, bounded by MaxDelay.
func (s *Store) wait(ctx context.Context, attempt int) error {
	ceiling := s.cfg.BaseDelay << min(attempt-2, 20)
	if ceiling > s.cfg.MaxDelay || ceiling <= 0 {
		ceiling = s.cfg.MaxDelay
	}
	d := time.Duration(rand.Int64N(int64(ceiling) + 1))
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

func newRequestToken() string {
	var b [16]byte
	_, _ = crand.Read(b[:])         // never fails (crypto/rand panics rather than return an error)
	return hex.EncodeToString(b[:]) // 32 characters, the minimum Secrets Manager accepts
}

// secretFields is the stored JSON shape (DESIGN.md "Secret").
type secretFields struct {
	AuthType     string          `json:"auth_type"`
	ClientID     string          `json:"client_id"`
	ClientSecret string          `json:"client_secret"`
	AccountID    string          `json:"account_id"`
	RefreshToken string          `json:"refresh_token"`
	AccessToken  string          `json:"access_token"`
	Expiry       json.RawMessage `json:"expiry"`
}

// decode turns stored fields into validated credentials.
func decode(id string, fields map[string]json.RawMessage) (zoom.Credentials, error) {
	c, err := parse(id, fields)
	if err != nil {
		return zoom.Credentials{}, err
	}
	if err := c.Validate(); err != nil {
		return zoom.Credentials{}, &InvalidSecretError{SecretID: id, Err: err}
	}
	return c, nil
}

// parse reads the fields of a secret without requiring them to be complete.
func parse(id string, fields map[string]json.RawMessage) (zoom.Credentials, error) {
	raw, err := json.Marshal(fields)
	if err != nil {
		return zoom.Credentials{}, fmt.Errorf("secret %s: %w", id, err)
	}
	var f secretFields
	if err := json.Unmarshal(raw, &f); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return zoom.Credentials{}, &InvalidSecretError{SecretID: id, Err: fmt.Errorf("%s is not a %s", te.Field, te.Type)}
		}
		return zoom.Credentials{}, &InvalidSecretError{SecretID: id, Err: errors.New("value is not a JSON object")}
	}
	expiry, err := parseExpiry(f.Expiry)
	if err != nil {
		return zoom.Credentials{}, &InvalidSecretError{SecretID: id, Err: err}
	}
	return zoom.Credentials{
		AuthType:     zoom.AuthType(f.AuthType),
		ClientID:     f.ClientID,
		ClientSecret: zoom.Secret(f.ClientSecret),
		AccountID:    f.AccountID,
		RefreshToken: zoom.Secret(f.RefreshToken),
		AccessToken:  zoom.Secret(f.AccessToken),
		Expiry:       expiry,
	}, nil
}

// LoadApp reads the OAuth app identity (client id and secret) of secret id, for onboarding:
// unlike Load it accepts a secret that was never connected (no refresh token yet, or no
// auth_type), and it returns no tokens, since onboarding replaces them. Missing client fields
// are not an error: the onboarding page asks for them.
func (s *Store) LoadApp(ctx context.Context, id string) (zoom.Credentials, error) {
	fields, err := s.read(ctx, id)
	if err != nil {
		return zoom.Credentials{}, err
	}
	c, err := parse(id, fields)
	if err != nil {
		return zoom.Credentials{}, err
	}
	if c.AuthType != "" && c.AuthType != zoom.AuthOAuth {
		return zoom.Credentials{}, &InvalidSecretError{SecretID: id, Err: fmt.Errorf("auth_type %q is not oauth: only OAuth apps are connected in the browser", string(c.AuthType))}
	}
	return zoom.Credentials{AuthType: zoom.AuthOAuth, ClientID: c.ClientID, ClientSecret: c.ClientSecret}, nil
}

// parseExpiry accepts an RFC 3339 string (what the store writes), epoch seconds, or nothing.
func parseExpiry(raw json.RawMessage) (time.Time, error) {
	if len(raw) == 0 || string(raw) == "null" || string(raw) == `""` {
		return time.Time{}, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return time.Time{}, errors.New("expiry is not an RFC 3339 time")
		}
		return t, nil
	}
	secs, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return time.Time{}, errors.New("expiry is neither an RFC 3339 time nor epoch seconds")
	}
	return time.Unix(secs, 0).UTC(), nil
}

func formatExpiry(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// setString sets field to v, or removes it when v is empty.
func setString(fields map[string]json.RawMessage, field, v string) {
	if v == "" {
		delete(fields, field)
		return
	}
	b, _ := json.Marshal(v)
	fields[field] = b
}
