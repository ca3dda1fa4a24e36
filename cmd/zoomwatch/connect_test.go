package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe to read while the command writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var setupLink = regexp.MustCompile(`http://127\.0\.0\.1:\d+/start\?\S+`)

// startConnect runs `zoomwatch connect` against the in-process simulator and returns the setup
// link it printed and a channel with its result.
func startConnect(t *testing.T, state string, extra ...string) (link string, stdout *syncBuffer, done <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	ch := make(chan error, 1)
	args := append([]string{"--listen", "127.0.0.1:0", "--state", state}, extra...)
	go func() {
		ch <- connect(ctx, streams{stdin: strings.NewReader(""), stdout: stdout, stderr: stderr}, args, func(string) string { return "" })
	}()
	for i := 0; i < 200; i++ {
		if m := setupLink.FindString(stdout.String()); m != "" {
			return m, stdout, ch
		}
		select {
		case err := <-ch:
			t.Fatalf("connect ended early: %v\nstderr:\n%s", err, stderr.String())
		case <-time.After(25 * time.Millisecond):
		}
	}
	t.Fatalf("no setup link printed; stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	return "", nil, nil
}

// consent follows the link as a browser would and answers the consent page with decision.
func consent(t *testing.T, link, decision string) *http.Response {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := c.Get(link) // → /start → 302 → the simulator's consent page
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="request_id" value="([^"]+)"`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("no consent page at %s:\n%s", resp.Request.URL, body)
	}
	u, _ := url.Parse(link)
	resp, err = c.PostForm("http://"+u.Host+"/oauth/authorize", url.Values{"request_id": {string(m[1])}, "decision": {decision}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestConnectSimulated(t *testing.T) {
	t.Parallel()
	state := t.TempDir()
	link, stdout, done := startConnect(t, state, "--source", "emea")
	if !strings.Contains(link, "source=emea") || !strings.Contains(link, "setup=") {
		t.Errorf("link %q", link)
	}

	// A declined consent keeps the command waiting; the link stays usable.
	if resp := consent(t, link, "decline"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("decline: status %d", resp.StatusCode)
	}
	select {
	case err := <-done:
		t.Fatalf("connect ended after a decline: %v", err)
	case <-time.After(100 * time.Millisecond):
	}

	resp := consent(t, link, "allow")
	page, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !bytes.Contains(page, []byte("Zoom is connected")) {
		t.Fatalf("callback page %d:\n%s", resp.StatusCode, page)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("connect: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("connect did not exit after the connection")
	}
	out := stdout.String()
	for _, want := range []string{"connected: source emea", "Zoom.Operation", "Zoom.Activity", "readable"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	path := filepath.Join(state, "tokens", "emea.token.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal(b, &tok); err != nil || tok.RefreshToken == "" || tok.AccessToken == "" {
		t.Fatalf("token file %s: %v %s", path, err, b)
	}
	if bytes.Contains(page, []byte(tok.RefreshToken)) || strings.Contains(out, tok.RefreshToken) {
		t.Error("the refresh token was shown")
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, %v", fi.Mode(), err)
	}
}

func TestConnectTimeout(t *testing.T) {
	t.Parallel()
	_, _, done := startConnect(t, t.TempDir(), "--timeout", "200ms")
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "no authorization completed") {
			t.Fatalf("err %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("connect ignored --timeout")
	}
}

func TestConnectFlagErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--listen", "0.0.0.0:8976"}, nil, "loopback"},
		{[]string{"--listen", "nonsense"}, nil, "HOST:PORT"},
		{[]string{"--timeout", "0s"}, nil, "--timeout"},
		{[]string{"extra"}, nil, "unexpected argument"},
		{[]string{"--source", "a/b", "--listen", "127.0.0.1:0"}, nil, "source id"},
		{[]string{"--listen", "127.0.0.1:0"}, map[string]string{"ZOOM_CLIENT_ID": "id"}, "ZOOM_CLIENT_SECRET"},
	}
	for _, tt := range tests {
		getenv := func(k string) string { return tt.env[k] }
		err := connect(context.Background(), streams{stdout: io.Discard, stderr: io.Discard}, append(tt.args, "--state", t.TempDir()), getenv)
		var ue *usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: %v, want a usage error with %q", tt.args, err, tt.want)
		}
	}
}
