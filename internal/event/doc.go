// Package event defines the envelope every zoomwatch component exchanges: one normalized,
// identity-hashed Zoom report record (an operation log or a sign-in/sign-out activity) with the
// fields detection rules need already extracted, and the raw record kept exactly as received.
//
// The identity (Envelope.ID) is the dedupe key of the whole pipeline: Zoom records carry no id,
// so two records are the same event exactly when source, log type and canonical JSON agree.
// See DESIGN.md, "Contracts / Envelope".
package event
