package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestRunOnce runs the local pipeline as make run does, against the simulated account: the
// first run alerts on the planted incidents of many rules and says what the new-IP rule
// learned; the second, over the same state, polls nothing new and alerts on nothing.
func TestRunOnce(t *testing.T) {
	t.Parallel()
	// Nine days of history hold every planted incident and the new-IP rule's week of learning,
	// in a third of the time of the whole month at the default pacing.
	args := []string{"run", "--once", "--state", filepath.Join(t.TempDir(), "state"), "--backfill", "9d"}

	code, stdout, stderr := runCLI(t, "", args...)
	if code != 0 {
		t.Fatalf("first run: exit %d: %s", code, stderr)
	}
	rules := map[string]int{}
	for _, l := range strings.Split(stdout, "\n") {
		if f := strings.Fields(l); len(f) > 2 && f[0] == "ALERT" {
			rules[f[2]]++
		}
	}
	if len(rules) < 25 || rules["Zoom.SignIn.New.IP.For.Admin"] == 0 || rules["Zoom.UserGrantedAdmin"] == 0 {
		t.Errorf("first run alerted from %d rules %v; want every rule of the pack", len(rules), rules)
	}
	if !strings.Contains(stdout, "cycle: source=main Zoom.Operation=") || !strings.Contains(stderr, "Zoom.SignIn.New.IP.For.Admin learned") {
		t.Errorf("first run: no cycle summary or learning note:\nstdout %s\nstderr %s", stdout, stderr)
	}

	code, stdout, stderr = runCLI(t, "", args...)
	if code != 0 {
		t.Fatalf("second run: exit %d: %s", code, stderr)
	}
	if strings.Contains(stdout, "ALERT") || !strings.Contains(stdout, " alerts=0") || strings.Contains(stderr, "learned") {
		t.Errorf("second run over the same state alerted or learned again:\nstdout %s\nstderr %s", stdout, stderr)
	}
}
