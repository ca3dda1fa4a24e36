// Package secretstore keeps each Zoom source's credentials in a Secrets Manager secret, in the
// JSON shape of DESIGN.md "Secret" (auth_type, client_id, client_secret, account_id,
// refresh_token, access_token, expiry).
//
// Load reads and validates a secret; a missing or malformed field is an *InvalidSecretError
// naming the field, never its value. Tokens(id) is the zoom.TokenStore of a secret: a rotated
// refresh token is written with PutSecretValue (read-modify-write, a client request token so
// a retried write is idempotent, exponential backoff with jitter) before the token source
// hands out the access token that came with it; when every try fails the caller gets a
// *WriteError and raises the auth alarm and an ops alert instead of continuing. Put stores
// complete credentials during onboarding.
//
// The access token and its expiry are stored with the refresh token, so every invocation
// reuses a valid token instead of asking Zoom for a new one. A Store lives as long as the
// process (a warm Lambda container) and also caches what it read or wrote: for a
// Server-to-Server secret whose access token outlives a poll cycle, Load needs no read. An
// OAuth secret is read every time, because only the stored refresh token is sure to be the
// latest. Sources addresses the store by source ID for the functions.
package secretstore
