// Package appsecret is the onboarding CredentialStore on Secrets Manager. Before a source is
// connected its secret holds only the OAuth app's auth_type, client_id and client_secret, which
// the poller's loader (package secretstore) rightly refuses as incomplete credentials; /start
// and /callback need exactly those fields. Credentials therefore reads the secret itself and
// requires only the app's identity, while SaveCredentials goes through the one writer of the
// secret (secretstore, with its retries), so the stored shape stays DESIGN.md's "Secret".
package appsecret
