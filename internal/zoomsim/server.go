package zoomsim

import (
	"encoding/json"
	"fmt"
	"html/template"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Server is the simulated Zoom: an http.Handler serving /oauth/* and /v2/report/*. It is safe
// for concurrent use.
type Server struct {
	cfg  Config
	mux  *http.ServeMux
	tmpl *template.Template
	t0   time.Time
	ops  recordSet
	acts recordSet
	// incidents are the planted scenarios, oldest first.
	incidents []Incident

	mu sync.Mutex
	// faults and what they have consumed.
	faults        Faults
	burstLeft     int
	expiredWindow map[string]bool
	faultRand     *rand.Rand
	// OAuth state.
	accessTokens  map[string]*accessToken
	refreshTokens map[string]*refreshToken
	codes         map[string]*authCode
	consents      map[string]*consentRequest
	// Paging state.
	pages     map[string]*pageState
	pageCount uint64
	// Rate limits.
	limiter  *rate.Limiter
	dayStart time.Time
	dayCount int
	stats    Stats
}

// Stats counts what the simulator served, for tests and benchmarks to assert on.
type Stats struct {
	// ReportRequests counts every request to a report endpoint.
	ReportRequests int
	// ReportPages counts report requests answered 200 with a complete page.
	ReportPages int
	// RecordsServed counts records in those pages.
	RecordsServed int
	// PerSecond429 and Daily429 count 429 answers by kind (injected ones included).
	PerSecond429, Daily429 int
	// Injected429 counts the 429s that faults caused (a subset of the two above).
	Injected429 int
	// ServerErrors counts 5xx answers (JSON, empty or HTML).
	ServerErrors int
	// Truncated and Slowed count responses the faults cut short or delayed.
	Truncated, Slowed int
	// Unauthorized counts report requests refused with 401 (code 124).
	Unauthorized int
	// Forbidden counts report requests refused for a missing scope (4700) or permission (200).
	Forbidden int
	// ValidationErrors counts report requests refused with code 300, page tokens included.
	ValidationErrors int
	// PageTokensRejected counts next_page_token values refused (expired, unknown, mismatched).
	PageTokensRejected int
	// TokensIssued counts access tokens minted by /oauth/token (all grants).
	TokensIssued int
	// Refreshes counts successful refresh_token grants.
	Refreshes int
	// RejectedRefreshTokens counts refresh_token grants refused with invalid_grant.
	RejectedRefreshTokens int
	// CodesIssued and CodesRedeemed count authorization codes.
	CodesIssued, CodesRedeemed int
	// InvalidClient counts token and revoke requests with bad client credentials.
	InvalidClient int
}

// New builds a simulator from cfg, generating its history at cfg.Now().
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("zoom simulator config: %w", err)
	}
	cfg = cfg.withDefaults()
	t0 := cfg.Now().UTC().Truncate(time.Second)
	if !cfg.Epoch.IsZero() {
		t0 = cfg.Epoch.UTC().Truncate(time.Second)
	}
	start := t0.Add(-time.Duration(cfg.HistoryDays) * 24 * time.Hour)
	end := t0
	if cfg.FutureDays > 0 {
		end = t0.Add(time.Duration(cfg.FutureDays) * 24 * time.Hour)
	}
	s := &Server{
		cfg:           cfg,
		tmpl:          parsePages(),
		t0:            t0,
		expiredWindow: map[string]bool{},
		faultRand:     rand.New(rand.NewPCG(uint64(cfg.Seed), 0x6661756c7473)),
		accessTokens:  map[string]*accessToken{},
		refreshTokens: map[string]*refreshToken{},
		codes:         map[string]*authCode{},
		consents:      map[string]*consentRequest{},
		pages:         map[string]*pageState{},
	}
	incidents, ops, acts, quietOps, quietActs, seq := plant(t0, start, end, cfg.LateDelay)
	hOps, hActs := generateHistory(cfg.Seed, start, end, cfg.LateDelay, quietOps, quietActs, seq, cfg.ExtraUsers)
	s.incidents = incidents
	s.ops = append(ops, hOps...)
	s.acts = append(acts, hActs...)
	s.ops.sort()
	s.acts.sort()
	if cfg.PerSecondLimit > 0 {
		s.limiter = rate.NewLimiter(rate.Limit(cfg.PerSecondLimit), cfg.PerSecondLimit)
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("POST /oauth/token", s.handleToken)
	s.mux.HandleFunc("GET /oauth/authorize", s.handleAuthorizePage)
	s.mux.HandleFunc("POST /oauth/authorize", s.handleAuthorizeDecision)
	s.mux.HandleFunc("POST /oauth/revoke", s.handleRevoke)
	s.mux.HandleFunc("GET /v2/report/operationlogs", func(w http.ResponseWriter, r *http.Request) {
		s.handleReport(w, r, operationReport)
	})
	s.mux.HandleFunc("GET /v2/report/activities", func(w http.ResponseWriter, r *http.Request) {
		s.handleReport(w, r, activityReport)
	})
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeZoomError(w, http.StatusNotFound, 404, "Not Found", nil)
	})
	return s, nil
}

// ServeHTTP answers one request as Zoom would.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Logger == nil {
		s.mux.ServeHTTP(w, r)
		return
	}
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	started := time.Now()
	s.mux.ServeHTTP(rec, r)
	// The path only: query strings carry page tokens and OAuth codes.
	s.cfg.Logger.LogAttrs(r.Context(), slog.LevelInfo, "zoom request",
		slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.Int("status", rec.status), slog.Duration("elapsed", time.Since(started)))
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Config returns the effective configuration, defaults filled in.
func (s *Server) Config() Config { return s.cfg }

// Start is the clock at New: history lies before it, future records after it.
func (s *Server) Start() time.Time { return s.t0 }

// SetFaults replaces the injected faults. ExpireAccessTokens takes effect at once on every
// token issued so far; ExpirePageTokens starts a fresh round of one rejection per window.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
	s.burstLeft = f.Burst429
	s.expiredWindow = map[string]bool{}
	if f.ExpireAccessTokens {
		for _, t := range s.accessTokens {
			t.revoked = true
		}
	}
}

// Records returns every record of log type lt ("Zoom.Operation" or "Zoom.Activity") visible
// at clock time at, newest first, as the exact bytes the reports serve.
func (s *Server) Records(lt string, at time.Time) []json.RawMessage {
	switch lt {
	case LogTypeOperation:
		return s.ops.visibleAt(at)
	case LogTypeActivity:
		return s.acts.visibleAt(at)
	}
	return nil
}

// Incidents returns the planted scenarios that fall within the generated range, oldest first.
func (s *Server) Incidents() []Incident {
	out := make([]Incident, len(s.incidents))
	for i, inc := range s.incidents {
		inc.Records = slices.Clone(inc.Records)
		out[i] = inc
	}
	return out
}

// Stats returns the counters so far.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

func (s *Server) now() time.Time { return s.cfg.Now().UTC() }
