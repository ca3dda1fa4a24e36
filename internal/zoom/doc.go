// Package zoom is zoomwatch's client for Zoom's report API: the OAuth token sources
// (Server-to-Server account credentials, and the authorization-code grant whose refresh tokens
// rotate), the two report endpoints (GET /report/operationlogs and GET /report/activities),
// their pagination, client-side rate limiting, retries, and the typed errors callers branch on.
//
// Everything here is built to fail loudly rather than quietly: a page that is not what Zoom
// documents is a *ResponseError, never "no events"; a rejected refresh token is a
// *GrantRejectedError that asks for an admin; a rotated refresh token is saved through the
// caller's TokenStore before the access token that came with it is ever sent. Tokens, client
// secrets and Authorization headers never appear in an error or a log line (see Secret).
//
// The facts this package relies on are collected in shared/zoom/API-FACTS.md and Zoom's OpenAPI
// description of the two endpoints beside it; DESIGN.md places the package in the pipeline.
package zoom
