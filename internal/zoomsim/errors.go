package zoomsim

import (
	"encoding/json"
	"net/http"
)

// Zoom error codes the simulator answers with (API-FACTS.md, "Errors").
const (
	CodeInvalidToken  = 124
	CodeNoPermission  = 200
	CodeValidation    = 300
	CodeMissingScopes = 4700
	CodeRateLimited   = 429
)

// Messages Zoom sends with those codes.
const (
	msgInvalidToken     = "Invalid access token."
	msgExpiredToken     = "Access token is expired."
	msgNoPermission     = "No permission."
	msgValidationFailed = "Validation Failed."
	msgBadPageToken     = "The next page token is invalid or expired."
	msgPerSecondLimit   = "You have reached the maximum per-second rate limit for this API. Try again later."
	msgDailyLimit       = "You have reached the maximum daily rate limit for this API. Refer to the response header for details on when you can make another request."
)

// fieldError is one entry of a Zoom validation error's "errors" array.
type fieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// zoomError is the body of every Zoom API error.
type zoomError struct {
	Code    int          `json:"code"`
	Message string       `json:"message"`
	Errors  []fieldError `json:"errors,omitempty"`
}

func writeZoomError(w http.ResponseWriter, status, code int, message string, fields []fieldError) {
	writeJSON(w, status, zoomError{Code: code, Message: message, Errors: fields})
}

// oauthError is the body of Zoom's OAuth endpoint errors.
type oauthError struct {
	Reason string `json:"reason"`
	Error  string `json:"error"`
}

func writeOAuthError(w http.ResponseWriter, status int, oauthErr, reason string) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, oauthError{Reason: reason, Error: oauthErr})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encode response", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
