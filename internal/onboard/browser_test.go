package onboard

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/zoomwatch/zoomwatch/internal/zoom"
	"github.com/zoomwatch/zoomwatch/internal/zoomsim"
)

// findBrowser returns a Chromium-family browser, or "" if there is none ($CHROME overrides).
func findBrowser() string {
	if p := os.Getenv("CHROME"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// TestBrowserOnboarding drives the real pages in headless Chromium: open the setup link, press
// Allow on the simulator's consent page, land on /callback and read the result. Screenshots of
// the result pages go to the test's artifact directory (go test -artifacts keeps them).
func TestBrowserOnboarding(t *testing.T) {
	exe := findBrowser()
	if exe == "" {
		t.Skip("SKIPPED: no Chromium found (install Debian's chromium, or run make browser); the onboarding pages were not tested in a browser")
	}
	tests := []struct {
		name     string
		opt      envOption
		button   string
		wantH1   string
		wantText []string
	}{
		{"allow", nil, "button.allow", "Zoom is connected", []string{"Operation logs", "Sign-in/sign-out activity", "Readable", "report:read:admin"}},
		{"decline", nil, "button.decline", "Access was not allowed", []string{"Nothing was stored"}},
		{"missing-scope", func(s *zoomsim.Config, _ *Config, _ *memCreds) { s.Scopes = []string{zoom.ScopeOperationLogsRead} },
			"button.allow", "The Zoom app is missing a scope", []string{"Readable", "Not readable", "report:read:admin"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []envOption
			if tt.opt != nil {
				opts = append(opts, tt.opt)
			}
			e := newEnvOrigin(t, true, opts...)
			ctx := newChrome(t, exe)
			err := chromedp.Do(ctx,
				chromedp.Navigate(e.startURL("main")),
				chromedp.WaitVisible(chromedp.CSS(tt.button)),
				chromedp.Click(chromedp.CSS(tt.button)),
				chromedp.WaitVisible(chromedp.CSS("footer")),
			)
			if err != nil {
				t.Fatalf("browser: %v", err)
			}
			h1, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))
			if err != nil {
				t.Fatalf("read h1: %v", err)
			}
			body, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
			if err != nil {
				t.Fatalf("read page text: %v", err)
			}
			shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatalf("screenshot: %v", err)
			}
			path := filepath.Join(t.ArtifactDir(), "onboarding-"+tt.name+".png")
			if err := os.WriteFile(path, shot, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("screenshot: %s", path)
			if strings.TrimSpace(h1) != tt.wantH1 {
				t.Errorf("h1 %q, want %q; page text:\n%s", h1, tt.wantH1, body)
			}
			for _, s := range tt.wantText {
				if !strings.Contains(body, s) {
					t.Errorf("page text lacks %q:\n%s", s, body)
				}
			}
			o := e.outcome(t)
			if tt.name == "allow" && !o.OK() {
				t.Errorf("outcome %q (%v)", o.Kind, o.Err)
			}
		})
	}
}

// newChrome starts a headless browser for one test.
func newChrome(t *testing.T, exe string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		// Containers run tests as root, where Chromium's sandbox cannot start.
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.WindowSize(1024, 900),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
	})
	// Start the browser on the long-lived context: the first action's context owns it.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", exe, err)
	}
	ctx, cancelTimeout := context.WithTimeout(ctx, 30*time.Second)
	t.Cleanup(cancelTimeout)
	return ctx
}
