package pipeline

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/zoomwatch/zoomwatch/internal/event"
	"github.com/zoomwatch/zoomwatch/internal/local"
	"github.com/zoomwatch/zoomwatch/internal/tuning"
	"github.com/zoomwatch/zoomwatch/internal/zoom"
	"github.com/zoomwatch/zoomwatch/internal/zoomsim"
)

// mapSecrets serves credentials from memory (the Secrets Manager adapter has its own
// integration tests against the emulator).
type mapSecrets map[string]zoom.Credentials

func (m mapSecrets) LoadCredentials(_ context.Context, source string) (zoom.Credentials, error) {
	c, ok := m[source]
	if !ok {
		return c, errors.New("no such secret")
	}
	return c, nil
}

func (m mapSecrets) TokenStore(string) zoom.TokenStore { return nil }

type staticTuner map[string]string

func (t staticTuner) Params(context.Context) (map[string]string, error) { return t, nil }

type recordedMetrics struct {
	polled  map[string]int
	failed  map[string]zoom.ErrorKind
	limited map[string]int
}

func (r *recordedMetrics) Polled(source string, lt event.LogType, n int, _ time.Duration) {
	r.polled[source+"/"+string(lt)] += n
}

func (r *recordedMetrics) PollFailed(source string, kind zoom.ErrorKind) { r.failed[source] = kind }

func (r *recordedMetrics) RateLimited(source string, n int) { r.limited[source] += n }

type recordedOps []string

func (o *recordedOps) NotifyOps(_ context.Context, subject, _ string) error {
	*o = append(*o, subject)
	return nil
}

func TestPollerIsolatesFailingSources(t *testing.T) {
	t.Parallel()
	sim, err := zoomsim.New(zoomsim.Config{HistoryDays: 3, PerSecondLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	sc := sim.Config()
	good := zoom.Credentials{AuthType: zoom.AuthS2S, AccountID: sc.AccountID, ClientID: sc.ClientID, ClientSecret: zoom.Secret(sc.ClientSecret)}
	bad := good
	bad.ClientSecret = "wrong-secret"
	cursors, err := local.NewCursors(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	stream := &local.Stream{}
	metrics := &recordedMetrics{polled: map[string]int{}, failed: map[string]zoom.ErrorKind{}, limited: map[string]int{}}
	sim.SetFaults(zoomsim.Faults{Burst429: 1, RetryAfter: zoomsim.RetryAfterSeconds})
	var ops recordedOps
	p := &Poller{
		Sources: []Source{{ID: "broken"}, {ID: "main"}},
		Cursors: cursors,
		Sink:    stream,
		Secrets: mapSecrets{"main": good, "broken": bad},
		// poll/max_rps is invalid and must be ignored; page_size applies.
		Tuner:   staticTuner{tuning.PollMaxRPS: "fast", tuning.PollPageSize: "100", tuning.PollFirstBackfill: "3d"},
		Zoom:    zoom.Config{APIBase: srv.URL + "/v2", AuthBase: srv.URL, MaxRetries: 1, Sleep: func(context.Context, time.Duration) error { return nil }},
		Base:    tuning.Poll{MaxRPS: 1000, PageSize: 300},
		Metrics: metrics,
		Ops:     &ops,
	}
	rep, err := p.Poll(context.Background())
	var se *SourceError
	if !errors.As(err, &se) || len(se.Failed) != 1 || se.Failed["broken"] == nil {
		t.Fatalf("Poll error = %v, want a SourceError for source broken only", err)
	}
	if len(rep.Sources) != 2 || rep.Sources[1].Delivered == 0 {
		t.Fatalf("report %+v: source main should have delivered events after broken failed", rep)
	}
	if rep.Sources[0].ErrorKind != string(zoom.KindAuth) && rep.Sources[0].ErrorKind != string(zoom.KindGrantRejected) {
		t.Errorf("broken source error kind = %q, want auth", rep.Sources[0].ErrorKind)
	}
	if got := len(stream.Drain()); got != rep.Sources[1].Delivered {
		t.Errorf("stream holds %d envelopes, report says %d", got, rep.Sources[1].Delivered)
	}
	if metrics.polled["main/"+string(event.Operation)] == 0 || metrics.failed["broken"] == "" {
		t.Errorf("metrics = %+v", metrics)
	}
	if metrics.limited["main"] == 0 {
		t.Errorf("the 429 burst was not counted: %+v", metrics.limited)
	}
	if len(ops) != 1 {
		t.Errorf("ops notifications = %q, want one for the rejected credentials", ops)
	}
	if p.good.MaxRPS != 1000 || p.good.PageSize != 100 {
		t.Errorf("settings in force = %+v, want max_rps kept at 1000 and page_size 100", p.good)
	}
}
