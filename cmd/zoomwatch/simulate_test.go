package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestSimulateFlagErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"--port", "1"}, "flag provided but not defined: -port"},
		{"extra argument", []string{"now"}, `unexpected argument "now"`},
		{"history too long", []string{"--history-days", "181"}, "--history-days 181: want 1 to 180"},
		{"history zero", []string{"--history-days", "0"}, "--history-days 0: want 1 to 180"},
		{"history not a number", []string{"--history-days", "week"}, "invalid value"},
		{"seed zero", []string{"--seed", "0"}, "--seed 0"},
		{"bad listen", []string{"--listen", "9090"}, `--listen "9090": want host:port`},
		{"bad faults", []string{"--faults", "5xx=2"}, `--faults: fault 5xx="2": want a rate between 0 and 1`},
		{"unknown fault", []string{"--faults", "teapot"}, `unknown fault "teapot"`},
		{"bad log level", []string{"--log-level", "loud"}, "--log-level"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), streams{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr}, append([]string{"simulate"}, tc.args...))
			if code != 2 {
				t.Errorf("exit %d, want 2 (usage)", code)
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("stderr %q, want it to contain %q", stderr.String(), tc.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout %q, want nothing", stdout.String())
			}
		})
	}
}

// TestSimulateServesUntilCancelled starts the command on a free port, gets a token and a report
// page from it with the printed settings, and stops it.
func TestSimulateServesUntilCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- runSimulate(ctx, streams{stdout: pw, stderr: io.Discard}, []string{"--listen", "127.0.0.1:0", "--history-days", "3", "--faults", "429=1"})
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	var banner []string
	env := map[string]string{}
	for lines.Scan() {
		line := lines.Text()
		banner = append(banner, line)
		for _, f := range strings.Fields(line) {
			if k, v, ok := strings.Cut(f, "="); ok && strings.HasPrefix(k, "ZOOM_") {
				env[k] = v
			}
		}
		if strings.Contains(line, "zoomwatch run") {
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	for _, k := range []string{"ZOOM_API_BASE", "ZOOM_AUTH_BASE", "ZOOM_ACCOUNT_ID", "ZOOM_CLIENT_ID", "ZOOM_CLIENT_SECRET"} {
		if env[k] == "" {
			t.Fatalf("banner does not set %s:\n%s", k, strings.Join(banner, "\n"))
		}
	}
	if !strings.Contains(strings.Join(banner, "\n"), "faults:     429=1") {
		t.Errorf("banner does not show the faults:\n%s", strings.Join(banner, "\n"))
	}
	req, _ := http.NewRequest(http.MethodPost, env["ZOOM_AUTH_BASE"]+"/oauth/token",
		strings.NewReader(url.Values{"grant_type": {"account_credentials"}, "account_id": {env["ZOOM_ACCOUNT_ID"]}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(env["ZOOM_CLIENT_ID"], env["ZOOM_CLIENT_SECRET"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("token with the printed credentials: %d", resp.StatusCode)
	}
	// The injected 429 shows the faults are live.
	resp, err = http.Get(env["ZOOM_API_BASE"] + "/report/activities")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("report without a token: %d, want 401", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("simulate returned %v after cancel, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("simulate did not stop after cancel")
	}
}
