package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/zoomwatch/zoomwatch/internal/local"
	"github.com/zoomwatch/zoomwatch/internal/zoom"
	"github.com/zoomwatch/zoomwatch/internal/zoomsim"
)

// zoomTarget is the Zoom account a command talks to: the real one from ZOOM_* variables, or
// the simulator started in-process.
type zoomTarget struct {
	cfg       zoom.Config
	creds     zoom.Credentials
	simulated bool
	sim       *zoomsim.Server
	// tokens receives rotated tokens of an OAuth app (nil for Server-to-Server).
	tokens zoom.TokenStore
	close  func()
}

// envCredentials reads credentials from the environment: a Server-to-Server app with
// ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET, or an OAuth app with only the client
// pair, whose tokens `zoomwatch connect` saved in tokens. ok is false when none is set; a
// partial set is an error naming what is missing.
func envCredentials(getenv func(string) string, tokens *local.Tokens) (creds zoom.Credentials, ok bool, err error) {
	c := zoom.Credentials{
		AuthType:     zoom.AuthS2S,
		AccountID:    getenv("ZOOM_ACCOUNT_ID"),
		ClientID:     getenv("ZOOM_CLIENT_ID"),
		ClientSecret: zoom.Secret(getenv("ZOOM_CLIENT_SECRET")),
	}
	if c.AccountID == "" && c.ClientID == "" && c.ClientSecret == "" {
		return c, false, nil
	}
	if c.AccountID == "" && c.ClientID != "" && c.ClientSecret != "" {
		tok, err := tokens.LoadToken(context.Background())
		if err != nil {
			return c, false, err
		}
		if tok == nil {
			return c, false, fmt.Errorf("ZOOM_CLIENT_ID is set without ZOOM_ACCOUNT_ID, so this is an OAuth app, but it is not connected yet: run zoomwatch connect first (or set ZOOM_ACCOUNT_ID for a Server-to-Server app)")
		}
		c.AuthType, c.RefreshToken, c.AccessToken, c.Expiry = zoom.AuthOAuth, zoom.Secret(tok.RefreshToken), zoom.Secret(tok.AccessToken), tok.Expiry
		return c, true, nil
	}
	var missing []string
	for name, v := range map[string]string{"ZOOM_ACCOUNT_ID": c.AccountID, "ZOOM_CLIENT_ID": c.ClientID, "ZOOM_CLIENT_SECRET": string(c.ClientSecret)} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		return c, false, fmt.Errorf("Server-to-Server credentials are incomplete: set %s too (or unset all ZOOM_* to use the simulator)", strings.Join(missing, ", "))
	}
	return c, true, nil
}

// zoomFlags are the flags every command that reaches Zoom shares.
type zoomFlags struct {
	simulate    bool
	simDays     int
	simFaults   string
	maxRPS      float64
	pageSize    int
	requireReal bool
}

func (z *zoomFlags) register(fs *flag.FlagSet, requireReal bool) {
	z.requireReal = requireReal
	if requireReal {
		fs.BoolVar(&z.simulate, "simulate", false, "poll the built-in simulated Zoom account instead of real Zoom")
	}
	fs.IntVar(&z.simDays, "sim-days", zoomsim.DefaultHistoryDays, "days of history in the simulated account")
	fs.StringVar(&z.simFaults, "sim-faults", "", "faults the simulator injects (see zoomwatch simulate -h)")
	fs.Float64Var(&z.maxRPS, "max-rps", 8, "Zoom requests per second this process may send")
	fs.IntVar(&z.pageSize, "page-size", 300, "records per report page (1-300)")
}

// open resolves the target: real Zoom when ZOOM_* is set, else the simulator (unless the
// command needs real Zoom and --simulate was not given).
func (z *zoomFlags) open(ctx context.Context, getenv func(string) string, logs io.Writer, stateDir, source string) (*zoomTarget, error) {
	cfg := zoom.Config{
		APIBase:  getenv("ZOOM_API_BASE"),
		AuthBase: getenv("ZOOM_AUTH_BASE"),
		MaxRPS:   z.maxRPS,
		PageSize: z.pageSize,
		Logger:   newLogger(logs, slog.LevelWarn).With("component", "zoom"),
	}
	tokens := local.NewTokens(filepath.Join(stateDir, "tokens"), source)
	creds, real, err := envCredentials(getenv, tokens)
	if err != nil {
		return nil, &usageError{err.Error()}
	}
	if real && !z.simulate {
		t := &zoomTarget{cfg: cfg, creds: creds, close: func() {}}
		if creds.AuthType == zoom.AuthOAuth {
			t.tokens = tokens
		}
		return t, nil
	}
	if z.requireReal && !z.simulate {
		return nil, &usageError{"no Zoom credentials: set ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET (a Server-to-Server OAuth app), or pass --simulate"}
	}
	faults, err := zoomsim.ParseFaults(z.simFaults)
	if err != nil {
		return nil, &usageError{fmt.Sprintf("--sim-faults: %v", err)}
	}
	// Anchored at the start of the UTC day, so runs on the same day see the same account and
	// a restarted run polls only what is new.
	sim, err := zoomsim.New(zoomsim.Config{HistoryDays: z.simDays, Epoch: time.Now().UTC().Truncate(24 * time.Hour), FutureDays: 2})
	if err != nil {
		return nil, &usageError{fmt.Sprintf("simulator: %v", err)}
	}
	sim.SetFaults(faults)
	base, stop, err := serveLoopback(ctx, sim)
	if err != nil {
		return nil, err
	}
	cfg.APIBase, cfg.AuthBase = base+"/v2", base
	sc := sim.Config()
	return &zoomTarget{
		cfg:       cfg,
		creds:     zoom.Credentials{AuthType: zoom.AuthS2S, AccountID: sc.AccountID, ClientID: sc.ClientID, ClientSecret: zoom.Secret(sc.ClientSecret)},
		simulated: true,
		sim:       sim,
		close:     stop,
	}, nil
}

// serveLoopback serves h on a free loopback port until stop is called.
func serveLoopback(ctx context.Context, h http.Handler) (base string, stop func(), err error) {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("listen on loopback: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(os.Stderr, "zoomwatch: simulator stopped: %v\n", err)
		}
	}()
	return "http://" + ln.Addr().String(), func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}, nil
}
