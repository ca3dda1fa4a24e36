package funcurl_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/zoomwatch/zoomwatch/internal/onboard"
	"github.com/zoomwatch/zoomwatch/internal/onboard/funcurl"
	"github.com/zoomwatch/zoomwatch/internal/zoom"
	"github.com/zoomwatch/zoomwatch/internal/zoomsim"
)

func TestRequest(t *testing.T) {
	t.Parallel()
	ev := sampleEvent(t)
	ev.Cookies = []string{"a=1", "b=2"}
	ev.Headers["x-test"] = "v1, v2"
	req, err := funcurl.Request(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if req.Method != "GET" || req.URL.Path != "/start" || req.URL.Query().Get("source") != "main" {
		t.Errorf("request %s %s", req.Method, req.URL)
	}
	if req.Host != ev.RequestContext.DomainName {
		t.Errorf("Host %q, want the Function URL domain", req.Host)
	}
	if c, err := req.Cookie("b"); err != nil || c.Value != "2" {
		t.Errorf("cookie b: %v %v", c, err)
	}
	if req.Header.Get("X-Test") != "v1, v2" || req.RemoteAddr != "203.0.113.7" {
		t.Errorf("headers %v remote %q", req.Header, req.RemoteAddr)
	}

	ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString([]byte("a=b")), true
	ev.RequestContext.HTTP.Method = "POST"
	req, err = funcurl.Request(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(req.Body); string(b) != "a=b" {
		t.Errorf("body %q", b)
	}

	for name, mutate := range map[string]func(*events.LambdaFunctionURLRequest){
		"no method":  func(e *events.LambdaFunctionURLRequest) { e.RequestContext.HTTP.Method = "" },
		"bad base64": func(e *events.LambdaFunctionURLRequest) { e.Body, e.IsBase64Encoded = "!!", true },
		"huge body":  func(e *events.LambdaFunctionURLRequest) { e.Body = strings.Repeat("x", funcurl.MaxBody+1) },
		"bad query":  func(e *events.LambdaFunctionURLRequest) { e.RawQueryString = "a=%zz" },
	} {
		e := sampleEvent(t)
		mutate(&e)
		if _, err := funcurl.Request(context.Background(), e); err == nil {
			t.Errorf("%s: no error", name)
		}
		resp, err := funcurl.Handler(http.NotFoundHandler())(context.Background(), e)
		if err != nil || resp.StatusCode != 400 {
			t.Errorf("%s: handler answered %d, %v; want 400, nil", name, resp.StatusCode, err)
		}
	}
}

func TestResponse(t *testing.T) {
	t.Parallel()
	h := http.Header{}
	h.Add("Set-Cookie", "a=1; Path=/")
	h.Add("Set-Cookie", "b=2; Path=/")
	h.Add("Vary", "Accept")
	h.Add("Vary", "Cookie")
	r := funcurl.Response(302, h, []byte("<p>hi</p>"))
	if r.StatusCode != 302 || r.Body != "<p>hi</p>" || r.IsBase64Encoded {
		t.Errorf("response %+v", r)
	}
	if len(r.Cookies) != 2 || r.Headers["Set-Cookie"] != "" || r.Headers["Vary"] != "Accept, Cookie" {
		t.Errorf("cookies %v headers %v", r.Cookies, r.Headers)
	}
	bin := funcurl.Response(200, http.Header{}, []byte{0xff, 0xfe})
	if !bin.IsBase64Encoded || bin.Body != "//4=" {
		t.Errorf("binary body %+v", bin)
	}
}

// TestOnboardingThroughFunctionURL runs the whole authorization through the adapter, as the
// Lambda serves it: /start, the simulator's consent page, /callback with the cookie from the
// first response.
func TestOnboardingThroughFunctionURL(t *testing.T) {
	t.Parallel()
	sim, err := zoomsim.New(zoomsim.Config{PerSecondLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	simSrv := httptest.NewServer(sim)
	t.Cleanup(simSrv.Close)
	store := &secretStore{creds: zoom.Credentials{AuthType: zoom.AuthOAuth, ClientID: zoomsim.DefaultOAuthClientID, ClientSecret: zoomsim.DefaultOAuthClientSecret}}
	const setup = "SETUP-0123456789abcdef"
	h, err := onboard.New(onboard.Config{
		Zoom:        zoom.Config{AuthBase: simSrv.URL, APIBase: simSrv.URL + "/v2", MaxRPS: math.Inf(1)},
		Sources:     []string{"main"},
		Credentials: store,
		Nonces:      &onboard.MemoryNonces{},
		SetupToken:  setup,
		Key:         onboard.DeriveKey(setup),
	})
	if err != nil {
		t.Fatal(err)
	}
	invoke := funcurl.Handler(h)
	ctx := context.Background()

	ev := sampleEvent(t)
	ev.RawQueryString = url.Values{"source": {"main"}, "setup": {setup}}.Encode()
	start, err := invoke(ctx, ev)
	if err != nil || start.StatusCode != http.StatusFound {
		t.Fatalf("/start: %d %v: %s", start.StatusCode, err, start.Body)
	}
	if len(start.Cookies) != 1 || !strings.HasPrefix(start.Cookies[0], "__Host-zoomwatch-oauth=") || !strings.Contains(start.Cookies[0], "Secure") {
		t.Fatalf("cookies %v: want one __Host- Secure cookie on https", start.Cookies)
	}
	authorize, err := url.Parse(start.Headers["Location"])
	if err != nil {
		t.Fatal(err)
	}
	wantRedirect := "https://" + ev.RequestContext.DomainName + "/callback"
	if got := authorize.Query().Get("redirect_uri"); got != wantRedirect {
		t.Fatalf("redirect_uri %q, want %q", got, wantRedirect)
	}

	// The admin's browser at Zoom.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	consent := get(t, noFollow, authorize.String())
	m := regexp.MustCompile(`name="request_id" value="([^"]+)"`).FindStringSubmatch(consent)
	if m == nil {
		t.Fatalf("consent page:\n%s", consent)
	}
	resp, err := noFollow.PostForm(simSrv.URL+"/oauth/authorize", url.Values{"request_id": {m[1]}, "decision": {"allow"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cb, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || cb.Path != "/callback" {
		t.Fatalf("Zoom redirected to %v (%v)", cb, err)
	}

	ev = sampleEvent(t)
	ev.RawPath, ev.RequestContext.HTTP.Path, ev.RawQueryString = "/callback", "/callback", cb.RawQuery
	ev.Cookies = []string{strings.SplitN(start.Cookies[0], ";", 2)[0]}
	done, err := invoke(ctx, ev)
	if err != nil || done.StatusCode != http.StatusOK || !strings.Contains(done.Body, "Zoom is connected") {
		t.Fatalf("/callback: %d %v:\n%s", done.StatusCode, err, done.Body)
	}
	if done.Headers["Content-Security-Policy"] == "" || done.Headers["Content-Type"] != "text/html; charset=utf-8" {
		t.Errorf("headers %v", done.Headers)
	}
	if store.saved.RefreshToken.IsZero() {
		t.Error("refresh token not saved")
	}
}

type secretStore struct {
	mu    sync.Mutex
	creds zoom.Credentials
	saved zoom.Credentials
}

func (s *secretStore) Credentials(context.Context, string) (zoom.Credentials, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.creds, nil
}

func (s *secretStore) SaveCredentials(_ context.Context, _ string, c zoom.Credentials) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.creds, s.saved = c, c
	return nil
}

func sampleEvent(t *testing.T) events.LambdaFunctionURLRequest {
	t.Helper()
	b, err := os.ReadFile("testdata/start.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.LambdaFunctionURLRequest
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

func get(t *testing.T, c *http.Client, u string) string {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
