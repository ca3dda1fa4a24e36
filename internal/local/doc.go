// Package local holds the adapters of the laptop pipeline: cursors and tokens in files under a
// state directory (so a restarted run resumes where it stopped), an in-memory stream between
// the poller and the detector, and alerts printed as readable lines.
package local
