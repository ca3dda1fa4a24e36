package onboard

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/zoomwatch/zoomwatch/internal/event"
	"github.com/zoomwatch/zoomwatch/internal/zoom"
)

// goldenOutcomes is one outcome of every kind, with the details its page shows.
func goldenOutcomes() []Outcome {
	readable := zoom.VerifyResult{Checks: []zoom.EndpointCheck{
		{LogType: event.Operation, Path: "/report/operationlogs", OK: true, Kind: zoom.KindOK, Records: 42},
		{LogType: event.Activity, Path: "/report/activities", OK: true, Kind: zoom.KindOK, Records: 300, More: true},
	}}
	failing := func(err error, kind zoom.ErrorKind) zoom.VerifyResult {
		return zoom.VerifyResult{Checks: []zoom.EndpointCheck{
			{LogType: event.Operation, Path: "/report/operationlogs", Kind: kind, Err: err, Error: err.Error()},
			{LogType: event.Activity, Path: "/report/activities", Kind: kind, Err: err, Error: err.Error()},
		}}
	}
	scopes := []string{zoom.ScopeReportRead}
	return []Outcome{
		{Kind: Connected, Source: "main", Scopes: scopes, Verify: readable},
		{Kind: ConnectedUnverified, Source: "main", Scopes: scopes, Verify: failing(&zoom.RateLimitError{Endpoint: "/report/activities"}, zoom.KindRateLimit)},
		{Kind: MissingScopes, Source: "main", Verify: failing(&zoom.PermissionError{Code: 4700, MissingScopes: true}, zoom.KindPermission)},
		{Kind: NoReportPermission, Source: "main", Scopes: scopes, Verify: failing(&zoom.PermissionError{Code: 200}, zoom.KindPermission)},
		{Kind: AccessDenied, Source: "main"},
		{Kind: ZoomRefused, Source: "main", ZoomError: "server_error"},
		{Kind: BadState},
		{Kind: ExpiredState, Source: "main"},
		{Kind: ReplayedState, Source: "main"},
		{Kind: OtherBrowser, Source: "main"},
		{Kind: CodeRejected, Source: "main", Err: &zoom.GrantRejectedError{Grant: "authorization_code"}},
		{Kind: BadClient, Source: "main"},
		{Kind: ZoomUnavailable, Source: "main", Err: &zoom.TokenEndpointError{Grant: "authorization_code", Status: 503}},
		{Kind: StoreFailed, Source: "main", Err: errors.New("AccessDeniedException")},
		{Kind: NotConfigured, Source: "main"},
		{Kind: BadSetupToken},
		{Kind: UnknownSource, Source: "nope"},
		{Kind: BadRequest},
		{Kind: NotFound},
	}
}

// TestPagesGolden renders every page and compares it with testdata/pages/<kind>.html
// (UPDATE_GOLDEN=1 rewrites them). The stylesheet is left out of the golden files so a style
// change does not touch every one of them.
func TestPagesGolden(t *testing.T) {
	p, err := loadPages()
	if err != nil {
		t.Fatal(err)
	}
	pc := pageContext{RedirectURL: "https://abc.lambda-url.eu-west-1.on.aws/callback", Sources: []string{"main", "emea"}, TTLMinutes: 10}
	seen := map[OutcomeKind]bool{}
	pgs := map[string]page{"index": indexPage(pc)}
	for _, o := range goldenOutcomes() {
		pgs[string(o.Kind)] = pageFor(o, pc)
		seen[o.Kind] = true
	}
	for name, pg := range pgs {
		t.Run(name, func(t *testing.T) {
			w := httptest.NewRecorder()
			p.render(w, pg)
			if w.Code != pg.Status || w.Code == 0 {
				t.Errorf("status %d, page says %d", w.Code, pg.Status)
			}
			body := w.Body.String()
			checkAccessible(t, body)
			got := strings.Replace(body, string(p.style), "/* style.css */", 1)
			golden(t, filepath.Join("testdata", "pages", name+".html"), got)
		})
	}
	if len(seen) != len(goldenOutcomes()) {
		t.Errorf("duplicate kinds in goldenOutcomes")
	}
}

// TestStyleHash checks that the CSP admits the page's stylesheet and nothing else inline.
func TestStyleHash(t *testing.T) {
	p, err := loadPages()
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	p.render(w, indexPage(pageContext{RedirectURL: "https://x.example/callback"}))
	m := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindAllStringSubmatch(w.Body.String(), -1)
	if len(m) != 1 {
		t.Fatalf("%d <style> elements, want 1", len(m))
	}
	sum := sha256.Sum256([]byte(m[0][1]))
	want := "style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, want) {
		t.Errorf("CSP %q lacks %q: the browser would drop the stylesheet", csp, want)
	}
	for _, banned := range []string{"<script", "<img", "<link", "<iframe", "http://", "style=\""} {
		if strings.Contains(w.Body.String(), banned) {
			t.Errorf("page contains %q", banned)
		}
	}
}

// checkAccessible asserts the basics a screen reader relies on.
func checkAccessible(t *testing.T, body string) {
	t.Helper()
	for _, want := range []string{`<html lang="en">`, "<title>", "<main", "<h1>", `name="viewport"`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if strings.Count(body, "<h1>") != 1 {
		t.Error("page must have exactly one h1")
	}
	if !regexp.MustCompile(`role="(status|alert)"`).MatchString(body) {
		t.Error("the outcome is not announced (role=status or alert)")
	}
	if strings.Contains(body, "<table>") && !strings.Contains(body, "<caption>") {
		t.Error("table without caption")
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if os.Getenv("UPDATE_GOLDEN") != "" {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with UPDATE_GOLDEN=1 to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the rendered page (UPDATE_GOLDEN=1 rewrites it); got:\n%s", path, got)
	}
}
