package appsecret

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/zoomwatch/zoomwatch/internal/zoom"
)

// API is the part of the Secrets Manager client Credentials uses.
type API interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// Saver writes a source's complete credentials (secretstore.Sources implements it).
type Saver interface {
	SaveCredentials(ctx context.Context, source string, creds zoom.Credentials) error
}

// Store implements onboard.CredentialStore.
type Store struct {
	api     API
	secrets map[string]string
	saver   Saver
}

// New returns the store; secrets maps each source id to its secret (ARN or name).
func New(api API, secrets map[string]string, saver Saver) (*Store, error) {
	if api == nil || saver == nil {
		return nil, errors.New("appsecret: Secrets Manager client and saver are required")
	}
	m := make(map[string]string, len(secrets))
	for k, v := range secrets {
		m[k] = v
	}
	return &Store{api: api, secrets: m, saver: saver}, nil
}

// InvalidAppSecretError names a secret whose app fields are missing or wrong, never a value.
type InvalidAppSecretError struct {
	Source, SecretID, Problem string
}

func (e *InvalidAppSecretError) Error() string {
	return fmt.Sprintf("secret %s of source %s: %s", e.SecretID, e.Source, e.Problem)
}

// Credentials returns the app's identity from the source's secret: auth_type "oauth" (or not
// yet set), client_id and client_secret. Tokens it may hold are not returned: onboarding
// replaces them.
func (s *Store) Credentials(ctx context.Context, source string) (zoom.Credentials, error) {
	id, ok := s.secrets[source]
	if !ok || id == "" {
		return zoom.Credentials{}, fmt.Errorf("no secret is configured for Zoom source %q", source)
	}
	out, err := s.api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	if err != nil {
		return zoom.Credentials{}, fmt.Errorf("read secret %s of source %s: %w", id, source, err)
	}
	var f struct {
		AuthType     string `json:"auth_type"`
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &f); err != nil {
		return zoom.Credentials{}, &InvalidAppSecretError{Source: source, SecretID: id, Problem: "value is not a JSON object with string fields"}
	}
	if f.AuthType != "" && f.AuthType != string(zoom.AuthOAuth) {
		return zoom.Credentials{}, &InvalidAppSecretError{Source: source, SecretID: id, Problem: fmt.Sprintf("auth_type %q is not oauth: only OAuth apps are connected in the browser", f.AuthType)}
	}
	// Missing client fields are not an error: the handler shows the "enter the app's
	// credentials first" page for them.
	return zoom.Credentials{AuthType: zoom.AuthOAuth, ClientID: f.ClientID, ClientSecret: zoom.Secret(f.ClientSecret)}, nil
}

// SaveCredentials writes creds through the saver.
func (s *Store) SaveCredentials(ctx context.Context, source string, creds zoom.Credentials) error {
	return s.saver.SaveCredentials(ctx, source, creds)
}
