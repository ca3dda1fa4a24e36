// Package onboard serves the pages that connect a Zoom account to zoomwatch with the OAuth
// authorization-code grant: GET /start sends an admin to Zoom's consent page, GET /callback
// takes Zoom's answer, exchanges the code, stores the tokens in the source's secret and then
// verifies access by reading both reports for the last day. Every outcome, good or bad, is a
// small page that says what happened and what to do next. The same Handler runs behind the
// Lambda Function URL (functions/oauth, through package funcurl) and on localhost
// (zoomwatch connect).
//
// Security model (DESIGN.md, "functions/oauth"):
//
//   - /start requires the deployment's setup token, compared in constant time, so nobody who
//     merely finds the URL can connect their own Zoom account in place of yours.
//   - The OAuth state is stateless and signed: HMAC-SHA256 over (version, expiry, nonce,
//     browser binding, source) with a key derived from Config.Key. Any container can check it,
//     so the Function URL may fan out over many Lambda instances. It expires after StateTTL
//     (10 minutes by default) and is bound to one source.
//   - The state is also bound to the browser that started the flow: /start sets an HttpOnly,
//     SameSite=Lax cookie holding a random value whose SHA-256 the state carries. A callback
//     URL replayed or forwarded to another browser fails.
//   - The state is single-use: /callback consumes its nonce in a NonceStore before the code is
//     exchanged. The store must be shared by every instance that serves /callback (DynamoDB
//     behind the Function URL, package ddbnonce; MemoryNonces in one process).
//   - PKCE S256. The code verifier is never sent to the browser: it is derived as
//     HMAC-SHA256(key, nonce ‖ browser cookie), so /callback recomputes it, and a code
//     intercepted on its way back (with its state) cannot be redeemed without the cookie and
//     the key.
//   - Pages never show a token or secret; every response carries a strict
//     Content-Security-Policy (no scripts, one hashed inline stylesheet), no-store caching,
//     X-Frame-Options DENY and Referrer-Policy no-referrer (the /start URL holds the setup
//     token).
//
// Adapters live in subpackages: funcurl (Lambda Function URL events), ddbnonce (the NonceStore
// on the DynamoDB state table); secretstore.Sources is the CredentialStore on Secrets Manager.
package onboard
