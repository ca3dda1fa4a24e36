// Package zoomsim is a faithful simulator of the parts of Zoom that zoomwatch talks to: the
// OAuth endpoints (Server-to-Server and authorization code with rotating refresh tokens and
// PKCE), the two report APIs (GET /v2/report/operationlogs and GET /v2/report/activities) with
// Zoom's parameter validation, paging, error bodies and rate limits, and a seeded account
// history with detection scenarios planted at known times.
//
// It exists so that the poller, the OAuth onboarding and the rules can be tested end to end
// without a Zoom account, and so that the local `zoomwatch run` has something to watch. The
// simulator follows ../shared/zoom/API-FACTS.md and Zoom's OpenAPI description of the report
// endpoints (a copy lives in testdata/ and a contract test checks every request and response
// against it). Where Zoom's behaviour is undocumented the simulator picks the stricter answer,
// so that code which passes against it also works against Zoom; each such choice is noted where
// it is made.
//
// A Server is an http.Handler: its base URL plays both Zoom hosts (zoom.us for /oauth/* and
// api.zoom.us for /v2/*). Time comes from Config.Now, so tests move the clock instead of
// sleeping; only the Latency and Slow fault delays use real time. Ground truth for tests comes
// from Records, Incidents and Stats. The planted scenarios are data in scenarios.go.
package zoomsim
