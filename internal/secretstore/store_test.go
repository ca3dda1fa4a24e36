package secretstore

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"
	"golang.org/x/oauth2"

	"github.com/zoomwatch/zoomwatch/internal/awstest"
	"github.com/zoomwatch/zoomwatch/internal/zoom"
	"github.com/zoomwatch/zoomwatch/internal/zoomsim"
)

// Values no error or log may ever contain.
const (
	clientSecret = "cs-VALUE-never-shown"
	refreshTok   = "rt-VALUE-never-shown"
	accessTok    = "at-VALUE-never-shown"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func oauthJSON(extra map[string]any) string {
	m := map[string]any{
		"auth_type": "oauth", "client_id": "cid", "client_secret": clientSecret,
		"refresh_token": refreshTok, "access_token": accessTok, "expiry": t0.Add(time.Hour).Format(time.RFC3339),
	}
	for k, v := range extra {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// counting wraps the emulator's client to count reads and to fail writes on demand.
type counting struct {
	API
	reads     atomic.Int32
	puts      atomic.Int32
	failPuts  atomic.Int32 // the next n PutSecretValue calls fail with a throttling error
	losePuts  atomic.Int32 // the next n PutSecretValue calls succeed but their answer is lost
	putTokens []string
}

func (c *counting) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, o ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	c.reads.Add(1)
	return c.API.GetSecretValue(ctx, in, o...)
}

func (c *counting) PutSecretValue(ctx context.Context, in *secretsmanager.PutSecretValueInput, o ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error) {
	c.puts.Add(1)
	c.putTokens = append(c.putTokens, aws.ToString(in.ClientRequestToken))
	if c.failPuts.Load() > 0 {
		c.failPuts.Add(-1)
		return nil, &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}
	}
	out, err := c.API.PutSecretValue(ctx, in, o...)
	if err == nil && c.losePuts.Load() > 0 {
		c.losePuts.Add(-1)
		return nil, &smithy.GenericAPIError{Code: "InternalFailure", Message: "connection reset"}
	}
	return out, err
}

func newStore(t *testing.T, api API, now time.Time) *Store {
	t.Helper()
	s, err := New(api, Config{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func rawSecret(t *testing.T, sm *secretsmanager.Client, id string) map[string]any {
	t.Helper()
	out, err := sm.GetSecretValue(t.Context(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func assertNoSecrets(t *testing.T, err error) {
	t.Helper()
	for _, v := range []string{clientSecret, refreshTok, accessTok} {
		if err != nil && strings.Contains(err.Error(), v) {
			t.Errorf("error reveals a secret value: %v", err)
		}
	}
}

func TestLoad(t *testing.T) {
	t.Parallel()
	sm := awstest.SecretsManager(t)
	tests := []struct {
		name      string
		value     string
		want      zoom.Credentials
		badFields []string // named in the *InvalidSecretError
	}{
		{name: "oauth", value: oauthJSON(nil), want: zoom.Credentials{
			AuthType: zoom.AuthOAuth, ClientID: "cid", ClientSecret: clientSecret,
			RefreshToken: refreshTok, AccessToken: accessTok, Expiry: t0.Add(time.Hour),
		}},
		{name: "s2s with epoch expiry", value: `{"auth_type":"s2s","client_id":"cid","client_secret":"` + clientSecret + `","account_id":"acc","expiry":1772370000}`,
			want: zoom.Credentials{AuthType: zoom.AuthS2S, ClientID: "cid", ClientSecret: clientSecret, AccountID: "acc", Expiry: time.Unix(1772370000, 0).UTC()}},
		{name: "missing client_secret", value: oauthJSON(map[string]any{"client_secret": nil}), badFields: []string{"client_secret"}},
		{name: "missing refresh_token and client_id", value: oauthJSON(map[string]any{"refresh_token": nil, "client_id": ""}), badFields: []string{"refresh_token", "client_id"}},
		{name: "s2s without account_id", value: `{"auth_type":"s2s","client_id":"cid","client_secret":"` + clientSecret + `"}`, badFields: []string{"account_id"}},
		{name: "missing auth_type", value: oauthJSON(map[string]any{"auth_type": nil}), badFields: []string{"auth_type"}},
		{name: "wrong type", value: oauthJSON(map[string]any{"client_id": 42}), badFields: []string{"client_id"}},
		{name: "bad expiry", value: oauthJSON(map[string]any{"expiry": "tomorrow"}), badFields: []string{"expiry"}},
		{name: "not JSON", value: "plain " + clientSecret, badFields: []string{"JSON object"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			id := awstest.Secret(t, sm, tt.value)
			got, err := newStore(t, sm, t0).Load(t.Context(), id)
			assertNoSecrets(t, err)
			if len(tt.badFields) > 0 {
				var invalid *InvalidSecretError
				if !errors.As(err, &invalid) || invalid.SecretID != id {
					t.Fatalf("Load = %v, want *InvalidSecretError for %s", err, id)
				}
				for _, f := range tt.badFields {
					if !strings.Contains(err.Error(), f) {
						t.Errorf("error %q does not name %s", err, f)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("Load = %#v, want %#v", got, tt.want) // Secret fields print redacted
			}
		})
	}
}

func TestLoadMissingSecret(t *testing.T) {
	t.Parallel()
	api := &counting{API: awstest.SecretsManager(t)}
	_, err := newStore(t, api, t0).Load(t.Context(), awstest.Name(t, "absent"))
	if err == nil {
		t.Fatal("Load of a secret that does not exist succeeded")
	}
	if err := newStore(t, api, t0).SaveToken(t.Context(), awstest.Name(t, "absent"), &oauth2.Token{AccessToken: "a"}); err == nil || api.puts.Load() != 0 {
		t.Fatalf("SaveToken to a missing secret: err %v after %d puts; want an error and no put", err, api.puts.Load())
	}
}

// TestRotationRoundTrip drives a real token refresh against the Zoom simulator: the rotated
// refresh token is in the secret before the token source returns the access token, unknown
// fields of the secret survive, and the old refresh token is dead.
func TestRotationRoundTrip(t *testing.T) {
	t.Parallel()
	sm := awstest.SecretsManager(t)
	sim, err := zoomsim.New(zoomsim.Config{OAuthClientID: "cid", OAuthClientSecret: clientSecret, HistoryDays: 1})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	first := sim.IssueRefreshToken()
	id := awstest.Secret(t, sm, oauthJSON(map[string]any{"refresh_token": first, "access_token": nil, "expiry": nil, "label": "Acme Zoom"}))

	store := newStore(t, sm, time.Now())
	creds, err := store.Load(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	zcfg := zoom.Config{AuthBase: srv.URL, APIBase: srv.URL + "/v2", HTTPClient: srv.Client()}
	src, err := zoom.NewTokenSource(t.Context(), zcfg, creds, checkSaved{t: t, sm: sm, id: id, next: store.Tokens(id)})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := src.Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if tok.RefreshToken == first {
		t.Fatal("the simulator did not rotate the refresh token")
	}
	m := rawSecret(t, sm, id)
	if m["refresh_token"] != tok.RefreshToken || m["access_token"] != tok.AccessToken || m["label"] != "Acme Zoom" || m["client_secret"] != clientSecret {
		t.Fatalf("secret after rotation has refresh %v access %v label %v; want the new tokens and the label kept", m["refresh_token"] == tok.RefreshToken, m["access_token"] == tok.AccessToken, m["label"])
	}

	// A new process reads the rotated token; a token source from the old one is refused.
	again, err := newStore(t, sm, time.Now()).Load(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if again.RefreshToken.Reveal() != tok.RefreshToken || again.AccessToken.Reveal() != tok.AccessToken || !again.Expiry.Equal(tok.Expiry.Truncate(time.Second)) {
		t.Fatalf("reloaded credentials do not hold the rotated token (expiry %v, want %v)", again.Expiry, tok.Expiry)
	}
	old := creds
	old.AccessToken, old.Expiry = "", time.Time{}
	stale, err := zoom.NewTokenSource(t.Context(), zcfg, old, store.Tokens(id))
	if err != nil {
		t.Fatal(err)
	}
	var rejected *zoom.GrantRejectedError
	if _, err := stale.Token(); !errors.As(err, &rejected) {
		t.Fatalf("refresh with the retired token: %v, want *zoom.GrantRejectedError", err)
	}
}

// checkSaved asserts, after each save, that the secret already holds the token.
type checkSaved struct {
	t    *testing.T
	sm   *secretsmanager.Client
	id   string
	next zoom.TokenStore
}

func (c checkSaved) SaveToken(ctx context.Context, tok *oauth2.Token) error {
	if err := c.next.SaveToken(ctx, tok); err != nil {
		return err
	}
	if got := rawSecret(c.t, c.sm, c.id)["refresh_token"]; got != tok.RefreshToken {
		c.t.Errorf("SaveToken returned before the secret held the new refresh token")
	}
	return nil
}

func TestSaveTokenRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		failures  int32
		wantPuts  int32
		wantError bool
	}{
		{"first try", 0, 1, false},
		{"after throttling", 3, 4, false},
		{"gives up", 100, DefaultMaxAttempts, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sm := awstest.SecretsManager(t)
			id := awstest.Secret(t, sm, oauthJSON(nil))
			api := &counting{API: sm}
			api.failPuts.Store(tt.failures)
			store := newStore(t, api, t0)
			tok := &oauth2.Token{AccessToken: "at-2", RefreshToken: "rt-2", Expiry: t0.Add(2 * time.Hour)}
			err := store.Tokens(id).SaveToken(t.Context(), tok)
			if got := api.puts.Load(); got != tt.wantPuts {
				t.Errorf("%d PutSecretValue calls, want %d", got, tt.wantPuts)
			}
			m := rawSecret(t, sm, id)
			if tt.wantError {
				var werr *WriteError
				if !errors.As(err, &werr) || werr.Attempts != DefaultMaxAttempts || werr.SecretID != id {
					t.Fatalf("SaveToken = %v, want *WriteError after %d attempts", err, DefaultMaxAttempts)
				}
				if m["refresh_token"] != refreshTok {
					t.Fatalf("secret changed although every write failed")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m["refresh_token"] != "rt-2" || m["access_token"] != "at-2" || m["expiry"] != t0.Add(2*time.Hour).Format(time.RFC3339) {
				t.Fatalf("secret after SaveToken: refresh %v, access %v, expiry %v", m["refresh_token"], m["access_token"], m["expiry"])
			}
			for _, rt := range api.putTokens {
				if rt != api.putTokens[0] || len(rt) < 32 {
					t.Fatalf("client request tokens %v: want one token of at least 32 characters reused by every retry", api.putTokens)
				}
			}
		})
	}
}

// TestAccessTokenCache checks that a warm Store answers Load of a Server-to-Server secret from
// what it read or wrote while the access token outlives a poll cycle, and reads the secret
// otherwise.
func TestAccessTokenCache(t *testing.T) {
	t.Parallel()
	sm := awstest.SecretsManager(t)
	// The access token is valid until t0+1h.
	id := awstest.Secret(t, sm, oauthJSON(map[string]any{"auth_type": "s2s", "account_id": "acc", "refresh_token": nil}))
	api := &counting{API: sm}
	now := t0
	store, err := New(api, Config{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	load := func() zoom.Credentials {
		t.Helper()
		c, err := store.Load(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	load()
	load()
	if n := api.reads.Load(); n != 1 {
		t.Fatalf("%d reads for two loads of a fresh token, want 1", n)
	}
	now = t0.Add(time.Hour - DefaultReuseFor + time.Second) // token no longer outlives a cycle
	load()
	if n := api.reads.Load(); n != 2 {
		t.Fatalf("%d reads after the token got close to expiry, want 2", n)
	}
	// A saved token refreshes the cache: no read for the next load.
	if err := store.SaveToken(t.Context(), id, &oauth2.Token{AccessToken: "at-3", Expiry: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	reads := api.reads.Load()
	if c := load(); c.AccessToken.Reveal() != "at-3" || api.reads.Load() != reads {
		t.Fatalf("load after save: reads %d→%d, want the saved token from the cache", reads, api.reads.Load())
	}
	store.Forget(id)
	load()
	if api.reads.Load() != reads+1 {
		t.Fatal("Forget did not drop the cached credentials")
	}
}

// TestOAuthSecretAlwaysRead: another process may have rotated an OAuth secret's refresh token
// since this Store cached it, so every Load reads the secret.
func TestOAuthSecretAlwaysRead(t *testing.T) {
	t.Parallel()
	sm := awstest.SecretsManager(t)
	id := awstest.Secret(t, sm, oauthJSON(nil)) // access token valid until t0+1h
	api := &counting{API: sm}
	store := newStore(t, api, t0)
	if _, err := store.Load(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	// Another process rotates the token.
	other := newStore(t, sm, t0)
	if err := other.SaveToken(t.Context(), id, &oauth2.Token{AccessToken: "at-9", RefreshToken: "rt-9", Expiry: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	c, err := store.Load(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if c.RefreshToken.Reveal() != "rt-9" || api.reads.Load() != 2 {
		t.Fatalf("second Load: %d reads, latest refresh token %v; want 2 reads and the rotated token", api.reads.Load(), c.RefreshToken.Reveal() == "rt-9")
	}
}

func TestPutForOnboarding(t *testing.T) {
	t.Parallel()
	sm := awstest.SecretsManager(t)
	tests := []struct {
		name    string
		initial string
		creds   zoom.Credentials
		wantErr bool
	}{
		{"oauth into placeholder", "placeholder-not-json", zoom.Credentials{
			AuthType: zoom.AuthOAuth, ClientID: "cid", ClientSecret: clientSecret, RefreshToken: refreshTok,
			AccessToken: accessTok, Expiry: t0.Add(time.Hour),
		}, false},
		{"s2s over oauth drops the refresh token", oauthJSON(nil), zoom.Credentials{
			AuthType: zoom.AuthS2S, ClientID: "cid2", ClientSecret: clientSecret, AccountID: "acc",
		}, false},
		{"incomplete credentials", oauthJSON(nil), zoom.Credentials{AuthType: zoom.AuthOAuth, ClientID: "cid"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			id := awstest.Secret(t, sm, tt.initial)
			store := newStore(t, sm, t0)
			src := store.Sources(map[string]string{"acme": id})
			err := src.SaveCredentials(t.Context(), "acme", tt.creds)
			assertNoSecrets(t, err)
			if tt.wantErr {
				var invalid *InvalidSecretError
				if !errors.As(err, &invalid) {
					t.Fatalf("Put = %v, want *InvalidSecretError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			store.Forget(id)
			got, err := src.LoadCredentials(t.Context(), "acme")
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.creds {
				t.Fatalf("loaded %#v, want %#v", got, tt.creds)
			}
		})
	}
}

func TestSourcesUnknown(t *testing.T) {
	t.Parallel()
	store, err := New(&counting{}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	src := store.Sources(map[string]string{"acme": "arn:secret"})
	var unknown *UnknownSourceError
	if _, err := src.LoadCredentials(t.Context(), "other"); !errors.As(err, &unknown) || unknown.Source != "other" {
		t.Fatalf("LoadCredentials(other) = %v, want *UnknownSourceError", err)
	}
	if err := src.TokenStore("other").SaveToken(t.Context(), &oauth2.Token{}); !errors.As(err, &unknown) {
		t.Fatalf("TokenStore(other).SaveToken = %v, want *UnknownSourceError", err)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"defaults", Config{}, true},
		{"negative attempts", Config{MaxAttempts: -1}, false},
		{"negative delay", Config{BaseDelay: -time.Second}, false},
		{"base above max", Config{BaseDelay: time.Minute, MaxDelay: time.Second}, false},
	}
	for _, tt := range tests {
		if err := tt.cfg.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: Validate() = %v", tt.name, err)
		}
	}
}

// TestSaveTokenLostAnswer retries a write that succeeded but whose answer was lost: the retry
// reuses the client request token, so Secrets Manager treats it as the same write.
func TestSaveTokenLostAnswer(t *testing.T) {
	t.Parallel()
	sm := awstest.SecretsManager(t)
	id := awstest.Secret(t, sm, oauthJSON(nil))
	api := &counting{API: sm}
	api.losePuts.Store(1)
	tok := &oauth2.Token{AccessToken: "at-2", RefreshToken: "rt-2", Expiry: t0.Add(2 * time.Hour)}
	if err := newStore(t, api, t0).SaveToken(t.Context(), id, tok); err != nil {
		t.Fatalf("SaveToken after a lost answer: %v", err)
	}
	if n := api.puts.Load(); n != 2 || api.putTokens[0] != api.putTokens[1] {
		t.Fatalf("%d puts with tokens %v, want 2 with the same token", n, api.putTokens)
	}
	// (The emulator lacks ListSecretVersionIds; DescribeSecret lists the versions too.)
	desc, err := sm.DescribeSecret(t.Context(), &secretsmanager.DescribeSecretInput{SecretId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(desc.VersionIdsToStages); n != 2 {
		t.Errorf("%d secret versions, want 2 (the initial one and one rotation)", n)
	}
	if m := rawSecret(t, sm, id); m["refresh_token"] != "rt-2" {
		t.Fatalf("secret holds refresh token %v, want rt-2", m["refresh_token"])
	}
}

func TestLoadAppForOnboarding(t *testing.T) {
	sm := awstest.SecretsManager(t)
	secrets := map[string]string{
		"fresh":     awstest.Secret(t, sm, `{"auth_type":"oauth","client_id":"cid","client_secret":"csecret"}`),
		"untyped":   awstest.Secret(t, sm, `{"client_id":"cid","client_secret":"csecret"}`),
		"connected": awstest.Secret(t, sm, `{"auth_type":"oauth","client_id":"cid","client_secret":"csecret","refresh_token":"rt","access_token":"at","expiry":"2026-11-25T16:00:00Z"}`),
		"empty":     awstest.Secret(t, sm, `{}`),
		"s2s":       awstest.Secret(t, sm, `{"auth_type":"s2s","client_id":"cid","client_secret":"csecret","account_id":"acc"}`),
		"garbage":   awstest.Secret(t, sm, `not json csecret`),
	}
	src := newStore(t, sm, time.Now()).Sources(secrets)
	ctx := t.Context()
	for _, s := range []string{"fresh", "untyped", "connected"} {
		c, err := src.Credentials(ctx, s)
		if err != nil || c.AuthType != zoom.AuthOAuth || c.ClientID != "cid" || c.ClientSecret.Reveal() != "csecret" || !c.RefreshToken.IsZero() {
			t.Errorf("%s: %+v, %v", s, c, err)
		}
	}
	if c, err := src.Credentials(ctx, "empty"); err != nil || c.ClientID != "" {
		t.Errorf("empty: %+v, %v (want no error: the onboarding page asks for the app's credentials)", c, err)
	}
	for _, s := range []string{"s2s", "garbage"} {
		_, err := src.Credentials(ctx, s)
		var inv *InvalidSecretError
		if !errors.As(err, &inv) {
			t.Errorf("%s: %v, want *InvalidSecretError", s, err)
		} else if strings.Contains(err.Error(), "csecret") {
			t.Errorf("%s: error shows the secret: %v", s, err)
		}
	}
	var unknown *UnknownSourceError
	if _, err := src.Credentials(ctx, "unknown"); !errors.As(err, &unknown) {
		t.Errorf("unknown source: %v", err)
	}
}
