// Package ssmtuning reads the operator's tuning parameters (DESIGN.md "Tuning") from SSM
// Parameter Store: every parameter under the stage prefix (/zoomwatch/<stage>/), recursively,
// decrypted, named relative to the prefix ("poll/overlap", "rules/Zoom.PasscodeDisabled").
// Values are cached for at most a minute so a change applies without a redeploy while a busy
// function does not call SSM per invocation.
//
// A value that does not parse is logged and left out, and the value last read good for that
// name stays in force; what parses is decided by internal/tuning (poll/*) and by JSON syntax
// (rules/*), the rest by the consumers. If SSM cannot be read, the last good parameters are
// returned with a warning, so an SSM outage never resets tuning to the defaults.
package ssmtuning
