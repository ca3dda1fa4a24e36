package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/zoomwatch/zoomwatch/internal/zoomsim"
)

// simulateFaultsHelp lists the --faults items zoomsim.ParseFaults reads.
const simulateFaultsHelp = "faults to inject into report requests, comma-separated: " +
	"5xx=RATE, 429=COUNT, retry-after=seconds|timestamp|none, daily-limit, slow=RATE:DURATION, " +
	"truncate=RATE, html=RATE, expire-page-tokens, expire-access-tokens (e.g. 5xx=0.1,429=3,slow=0.05:3s)"

// runSimulate is `zoomwatch simulate`: the Zoom simulator as a standalone server, for pointing
// zoomwatch (or anything else) at a simulated account until interrupted.
func runSimulate(ctx context.Context, s streams, args []string) error {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(s.stderr)
	listen := fs.String("listen", "127.0.0.1:9090", "address to serve the simulator on (host:port; port 0 picks a free one)")
	faults := fs.String("faults", "", simulateFaultsHelp)
	seed := fs.Int64("seed", zoomsim.DefaultSeed, "seed of the simulated account's history (same seed, same day: same records)")
	days := fs.Int("history-days", zoomsim.DefaultHistoryDays, fmt.Sprintf("days of history before today (1-%d)", zoomsim.MaxHistoryDays))
	logLevel := fs.String("log-level", "warn", "request log level on stderr: debug, info (one line per request), warn, error")
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	if fs.NArg() > 0 {
		return &usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	if *days < 1 || *days > zoomsim.MaxHistoryDays {
		return &usageError{fmt.Sprintf("--history-days %d: want 1 to %d", *days, zoomsim.MaxHistoryDays)}
	}
	if *seed == 0 {
		return &usageError{"--seed 0: want a non-zero seed (0 would mean the default, 1)"}
	}
	if _, _, err := net.SplitHostPort(*listen); err != nil {
		return &usageError{fmt.Sprintf("--listen %q: want host:port, e.g. 127.0.0.1:9090", *listen)}
	}
	f, err := zoomsim.ParseFaults(*faults)
	if err != nil {
		return &usageError{fmt.Sprintf("--faults: %v", err)}
	}
	level, err := parseLevel(*logLevel)
	if err != nil {
		return err
	}

	// Anchored at the start of the UTC day, like `zoomwatch run`'s in-process simulator, so a
	// restarted simulator serves the same account and a poller resumes without duplicates.
	sim, err := zoomsim.New(zoomsim.Config{
		Seed:        *seed,
		HistoryDays: *days,
		Epoch:       time.Now().UTC().Truncate(24 * time.Hour),
		FutureDays:  2,
		Logger:      newLogger(s.stderr, level).With("component", "zoomsim"),
	})
	if err != nil {
		return fmt.Errorf("simulator: %w", err)
	}
	sim.SetFaults(f)
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *listen, err)
	}
	base := "http://" + ln.Addr().String()
	printSimulateBanner(s, sim.Config(), base, f)

	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("simulator server: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("stop simulator: %w", err)
	}
	fmt.Fprintln(s.stdout, "zoom simulator stopped")
	return nil
}

// printSimulateBanner tells the user where the simulator is and how to use it. The
// credentials are the simulator's own fixed demo values, not secrets.
func printSimulateBanner(s streams, c zoomsim.Config, base string, f zoomsim.Faults) {
	w := s.stdout
	fmt.Fprintf(w, "zoom simulator listening on %s (Ctrl-C stops it)\n", base)
	fmt.Fprintf(w, "  API base:   %s/v2   (GET /report/operationlogs, /report/activities)\n", base)
	fmt.Fprintf(w, "  Auth base:  %s      (POST /oauth/token, GET /oauth/authorize, POST /oauth/revoke)\n", base)
	fmt.Fprintf(w, "  history:    %d days, seed %d\n", c.HistoryDays, c.Seed)
	if spec := f.String(); spec != "" {
		fmt.Fprintf(w, "  faults:     %s\n", spec)
	} else {
		fmt.Fprintln(w, "  faults:     none")
	}
	fmt.Fprintln(w, "Server-to-Server app (demo credentials of the simulator):")
	fmt.Fprintf(w, "  account id %s, client id %s, client secret %s\n", c.AccountID, c.ClientID, c.ClientSecret)
	fmt.Fprintln(w, "Authorization-code app (demo credentials of the simulator):")
	fmt.Fprintf(w, "  client id %s, client secret %s\n", c.OAuthClientID, c.OAuthClientSecret)
	fmt.Fprintln(w, "Point zoomwatch at it from another terminal:")
	fmt.Fprintf(w, "  ZOOM_API_BASE=%s/v2 ZOOM_AUTH_BASE=%s \\\n", base, base)
	fmt.Fprintf(w, "  ZOOM_ACCOUNT_ID=%s ZOOM_CLIENT_ID=%s ZOOM_CLIENT_SECRET=%s \\\n", c.AccountID, c.ClientID, c.ClientSecret)
	fmt.Fprintln(w, "  zoomwatch run --once")
}
