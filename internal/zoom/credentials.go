package zoom

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// redacted is what every rendering of a Secret shows instead of its value.
const redacted = "[redacted]"

// Secret holds a credential (client secret, refresh or access token). Every way Go renders a
// value — fmt verbs, slog, encoding/json — shows "[redacted]", so a Secret can sit in a struct
// that gets logged. Code that must store or send the value asks for it with Reveal, which makes
// each such place easy to find in review.
type Secret string

// Reveal returns the secret value. Call it only to send the value to Zoom or to a secret store.
func (s Secret) Reveal() string { return string(s) }

// String redacts the value.
func (s Secret) String() string { return redacted }

// GoString redacts the value for %#v.
func (s Secret) GoString() string { return `zoom.Secret("` + redacted + `")` }

// Format redacts the value under every fmt verb; without it %d or %x on a string type would
// print the raw bytes through fmt's bad-verb path, which skips String.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte(s.GoString()))
		return
	}
	_, _ = f.Write([]byte(redacted))
}

// LogValue redacts the value in slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON redacts the value. A Credentials value marshalled for a log therefore shows no
// secret; a store must write each secret through Reveal instead of marshalling Credentials.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText redacts the value for encoders that use encoding.TextMarshaler.
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s == "" }

// AuthType says which OAuth grant a Zoom source uses.
type AuthType string

const (
	// AuthOAuth is an account-level OAuth app authorized once by an admin in a browser
	// (authorization code grant); its refresh token rotates on every refresh.
	AuthOAuth AuthType = "oauth"
	// AuthS2S is a Server-to-Server OAuth app (account_credentials grant): no browser step and
	// no refresh token.
	AuthS2S AuthType = "s2s"
)

// Credentials are one Zoom source's secret, in the shape DESIGN.md gives the stored secret
// (auth_type, client_id, client_secret, account_id, refresh_token, access_token, expiry). The
// JSON tags let the secret be decoded directly; encoding redacts every Secret field (see
// Secret.MarshalJSON), so stores write the values through Reveal.
type Credentials struct {
	// AuthType is "oauth" or "s2s".
	AuthType AuthType `json:"auth_type"`
	// ClientID is the Zoom app's client ID.
	ClientID string `json:"client_id"`
	// ClientSecret is the Zoom app's client secret.
	ClientSecret Secret `json:"client_secret"`
	// AccountID is the Zoom account of a Server-to-Server app (s2s only).
	AccountID string `json:"account_id,omitempty"`
	// RefreshToken is the latest refresh token of an OAuth app (oauth only). It rotates: each
	// refresh returns a new one and the old one stops working.
	RefreshToken Secret `json:"refresh_token,omitempty"`
	// AccessToken is the last access token issued, reused while it is valid. Optional.
	AccessToken Secret `json:"access_token,omitempty"`
	// Expiry is when AccessToken expires. An access token without an expiry is not reused.
	Expiry time.Time `json:"expiry,omitzero"`
}

// Validate reports a missing or inconsistent field by its stored name, so the message tells an
// operator which part of the secret to fix.
func (c Credentials) Validate() error {
	var errs []error
	switch c.AuthType {
	case AuthOAuth, AuthS2S:
	case "":
		errs = append(errs, errors.New("auth_type is missing (want oauth or s2s)"))
	default:
		errs = append(errs, fmt.Errorf("auth_type %q is not oauth or s2s", string(c.AuthType)))
	}
	if c.ClientID == "" {
		errs = append(errs, errors.New("client_id is missing"))
	}
	if c.ClientSecret == "" {
		errs = append(errs, errors.New("client_secret is missing"))
	}
	switch c.AuthType {
	case AuthS2S:
		if c.AccountID == "" {
			errs = append(errs, errors.New("account_id is missing (a Server-to-Server app needs the Zoom account ID)"))
		}
	case AuthOAuth:
		if c.RefreshToken == "" {
			errs = append(errs, errors.New("refresh_token is missing (an admin must authorize the OAuth app first)"))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("zoom credentials: %w", errors.Join(errs...))
	}
	return nil
}
