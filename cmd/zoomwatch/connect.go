package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/oauth2"

	"github.com/zoomwatch/zoomwatch/internal/local"
	"github.com/zoomwatch/zoomwatch/internal/onboard"
	"github.com/zoomwatch/zoomwatch/internal/zoom"
	"github.com/zoomwatch/zoomwatch/internal/zoomsim"
)

// runConnect is `zoomwatch connect`: the browser onboarding of functions/oauth, served on
// localhost. It prints the setup link, waits until an authorization connects the account (a
// declined consent or a missing scope leaves it waiting for another try), stores the tokens in
// local state and exits.
func runConnect(ctx context.Context, s streams, args []string) error {
	return connect(ctx, s, args, os.Getenv)
}

func connect(ctx context.Context, s streams, args []string, getenv func(string) string) error {
	fs := flag.NewFlagSet("connect", flag.ContinueOnError)
	fs.SetOutput(s.stderr)
	source := fs.String("source", "main", "source id the tokens are stored for")
	listen := fs.String("listen", "127.0.0.1:8976", "loopback address to serve the pages on; the Zoom app's Redirect URL is http://ADDRESS/callback")
	state := fs.String("state", defaultStateDir, "directory for local state; tokens go to STATE/tokens/SOURCE.token.json")
	timeout := fs.Duration("timeout", 15*time.Minute, "give up if no authorization completes within this time")
	logLevel := fs.String("log-level", "warn", "diagnostics level on stderr: debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	if fs.NArg() > 0 {
		return &usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	if *timeout <= 0 {
		return &usageError{"--timeout must be positive"}
	}
	host, _, err := net.SplitHostPort(*listen)
	if err != nil {
		return &usageError{fmt.Sprintf("--listen %q: want HOST:PORT", *listen)}
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		// The pages carry a setup token and end in a token exchange: never on a shared interface.
		return &usageError{fmt.Sprintf("--listen %q: must be a loopback address such as 127.0.0.1:8976", *listen)}
	}
	level, err := parseLevel(*logLevel)
	if err != nil {
		return err
	}
	log := newLogger(s.stderr, level)

	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *listen, err)
	}
	defer ln.Close()
	base := "http://" + ln.Addr().String()
	redirect := base + "/callback"
	mux := http.NewServeMux()

	zcfg := zoom.Config{
		APIBase:  getenv("ZOOM_API_BASE"),
		AuthBase: getenv("ZOOM_AUTH_BASE"),
		Logger:   log.With("component", "zoom"),
	}
	app := zoom.Credentials{AuthType: zoom.AuthOAuth, ClientID: getenv("ZOOM_CLIENT_ID"), ClientSecret: zoom.Secret(getenv("ZOOM_CLIENT_SECRET"))}
	simulated := app.ClientID == "" && app.ClientSecret.IsZero()
	switch {
	case simulated:
		sim, err := zoomsim.New(zoomsim.Config{
			Epoch:        time.Now().UTC().Truncate(24 * time.Hour),
			RedirectURLs: []string{redirect},
		})
		if err != nil {
			return fmt.Errorf("simulator: %w", err)
		}
		// The simulated Zoom shares the pages' origin: its consent form may only post (and
		// redirect) to its own origin, as its Content-Security-Policy says.
		mux.Handle("/oauth/", sim)
		mux.Handle("/v2/", sim)
		zcfg.AuthBase, zcfg.APIBase, zcfg.MaxRPS = base, base+"/v2", math.Inf(1)
		sc := sim.Config()
		app.ClientID, app.ClientSecret = sc.OAuthClientID, zoom.Secret(sc.OAuthClientSecret)
	case app.ClientID == "" || app.ClientSecret.IsZero():
		return &usageError{"set both ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET (the OAuth app's credentials), or neither to use the simulator"}
	}

	// The browser flow ends with a token to save: find out now, not after it, that it can be.
	tokenDir := filepath.Join(*state, "tokens")
	if err := os.MkdirAll(tokenDir, 0o700); err != nil {
		return fmt.Errorf("create token directory: %w", err)
	}
	tokens := local.NewTokens(tokenDir, *source)
	setup, key := randomToken(), make([]byte, onboard.MinKeyLen)
	_, _ = rand.Read(key)
	outcomes := make(chan onboard.Outcome, 1)
	h, err := onboard.New(onboard.Config{
		Zoom:        zcfg,
		Sources:     []string{*source},
		Credentials: &localCredentials{app: app, tokens: tokens},
		Nonces:      &onboard.MemoryNonces{},
		SetupToken:  setup,
		Key:         key,
		RedirectURL: redirect,
		Logger:      log.With("component", "onboard"),
		OnOutcome: func(_ context.Context, o onboard.Outcome) {
			select {
			case outcomes <- o:
			default: // one outcome at a time is plenty; the page shows the rest
			}
		},
	})
	if err != nil {
		return &usageError{err.Error()}
	}
	mux.Handle("/", h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()

	if simulated {
		fmt.Fprintln(s.stderr, "zoomwatch connect: no ZOOM_CLIENT_ID/ZOOM_CLIENT_SECRET set: connecting the simulated Zoom account")
	} else {
		fmt.Fprintf(s.stderr, "zoomwatch connect: the Zoom app's Redirect URL must be %s\n", redirect)
	}
	fmt.Fprintf(s.stdout, "Open this link in your browser to connect Zoom (source %q):\n\n  %s\n\n", *source, onboard.StartURL(base, *source, setup))
	fmt.Fprintf(s.stderr, "zoomwatch connect: waiting up to %s (Ctrl-C to stop)\n", *timeout)

	deadline := time.NewTimer(*timeout)
	defer deadline.Stop()
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("connect: stopped before Zoom was connected: %w", ctx.Err())
		case <-deadline.C:
			return fmt.Errorf("connect: no authorization completed within %s; run zoomwatch connect again", *timeout)
		case err := <-served:
			return fmt.Errorf("connect: serving %s: %w", base, err)
		case o := <-outcomes:
			switch o.Kind {
			case onboard.Connected:
				printOutcome(s, o, tokens.Path())
				return nil
			case onboard.ConnectedUnverified:
				printOutcome(s, o, tokens.Path())
				return fmt.Errorf("connect: tokens saved to %s, but the reports could not be read yet: run zoomwatch run to try them", tokens.Path())
			}
			// The page told the admin what to fix (a scope, report rights, a declined consent…);
			// the setup link stays valid while this command runs, so they can try again.
			fmt.Fprintf(s.stderr, "zoomwatch connect: %s; fix it as the page says and open the link again (waiting)\n", o.Kind)
		}
	}
}

// printOutcome writes what a stored connection found, one line per report.
func printOutcome(s streams, o onboard.Outcome, path string) {
	fmt.Fprintf(s.stdout, "%s: source %s, tokens saved to %s\n", o.Kind, o.Source, path)
	for _, c := range o.Verify.Checks {
		if c.OK {
			more := ""
			if c.More {
				more = "+"
			}
			fmt.Fprintf(s.stdout, "  %-15s readable  %d%s records since yesterday (UTC)\n", c.LogType, c.Records, more)
		} else {
			fmt.Fprintf(s.stdout, "  %-15s FAILED    %s\n", c.LogType, c.Error)
		}
	}
}

// localCredentials is the onboarding CredentialStore of the laptop: the app's client id and
// secret come from the environment (or the simulator), the tokens go to the local token file.
type localCredentials struct {
	app    zoom.Credentials
	tokens *local.Tokens
}

func (l *localCredentials) Credentials(context.Context, string) (zoom.Credentials, error) {
	return l.app, nil
}

func (l *localCredentials) SaveCredentials(ctx context.Context, _ string, c zoom.Credentials) error {
	return l.tokens.SaveToken(ctx, &oauth2.Token{
		AccessToken:  c.AccessToken.Reveal(),
		TokenType:    "Bearer",
		RefreshToken: c.RefreshToken.Reveal(),
		Expiry:       c.Expiry,
	})
}

// randomToken returns a one-time setup token (256 bits).
func randomToken() zoom.Secret {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+).
	return zoom.Secret(base64.RawURLEncoding.EncodeToString(b))
}
