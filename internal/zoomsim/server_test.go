package zoomsim

import (
	"bytes"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// lockedBuffer is a bytes.Buffer safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestRequestLogHasNoCredentials: the request log names method, path and status, and never a
// token, page token or client secret.
func TestRequestLogHasNoCredentials(t *testing.T) {
	t.Parallel()
	var logs lockedBuffer
	s := newSim(t, Config{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	tok := s.s2sToken(t)
	r := s.get(t, tok, "/v2/report/operationlogs", dateQuery(testStart.AddDate(0, 0, -3), testStart, "page_size", "5"))
	var p page
	r.json(t, &p)
	q := dateQuery(testStart.AddDate(0, 0, -3), testStart, "page_size", "5", "next_page_token", p.NextPageToken)
	s.get(t, tok, "/v2/report/operationlogs", q)
	s.postToken(t, s.Config().ClientID, "wrong-secret", url.Values{"grant_type": {"account_credentials"}})
	out := logs.String()
	if strings.Count(out, `"msg":"zoom request"`) != 4 || !strings.Contains(out, `"path":"/v2/report/operationlogs"`) || !strings.Contains(out, `"status":401`) {
		t.Errorf("request log lacks the requests:\n%s", out)
	}
	for _, secret := range []string{tok, p.NextPageToken, s.Config().ClientSecret, "wrong-secret", "next_page_token"} {
		if secret != "" && strings.Contains(out, secret) {
			t.Errorf("request log contains %q:\n%s", secret, out)
		}
	}
}
