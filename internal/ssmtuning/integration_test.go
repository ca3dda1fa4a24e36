package ssmtuning_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/zoomwatch/zoomwatch/internal/awstest"
	"github.com/zoomwatch/zoomwatch/internal/ssmtuning"
	"github.com/zoomwatch/zoomwatch/internal/tuning"
)

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// stage returns a unique stage prefix for the test and deletes its parameters when it ends.
func stage(t *testing.T, client *ssm.Client) string {
	t.Helper()
	prefix := "/zoomwatch/" + awstest.Name(t, "stage") + "/"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		pages := ssm.NewGetParametersByPathPaginator(client, &ssm.GetParametersByPathInput{
			Path: aws.String(strings.TrimSuffix(prefix, "/")), Recursive: aws.Bool(true),
		})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				t.Errorf("list parameters to delete: %v", err)
				return
			}
			for _, p := range page.Parameters {
				if _, err := client.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: p.Name}); err != nil {
					t.Errorf("delete %s: %v", aws.ToString(p.Name), err)
				}
			}
		}
	})
	return prefix
}

func put(t *testing.T, client *ssm.Client, name, value string, typ types.ParameterType) {
	t.Helper()
	_, err := client.PutParameter(t.Context(), &ssm.PutParameterInput{
		Name: aws.String(name), Value: aws.String(value), Type: typ, Overwrite: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("put %s: %v", name, err)
	}
}

func newStore(t *testing.T, client *ssm.Client, prefix string, clk *clock, log *bytes.Buffer) *ssmtuning.Store {
	t.Helper()
	s, err := ssmtuning.New(client, ssmtuning.Config{
		Prefix: prefix, Now: clk.Now, Log: slog.New(slog.NewJSONHandler(log, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestParamsCachedAndRefreshed(t *testing.T) {
	t.Parallel()
	client := awstest.SSM(t)
	prefix := stage(t, client)
	other := stage(t, client) // a neighbouring stage must not leak in
	put(t, client, prefix+"poll/overlap", "30m", types.ParameterTypeString)
	put(t, client, prefix+"poll/page_size", "100", types.ParameterTypeString)
	put(t, client, prefix+"detect/min_severity", "MEDIUM", types.ParameterTypeString)
	put(t, client, prefix+"rules/Zoom.PasscodeDisabled", `{"enabled":false}`, types.ParameterTypeSecureString)
	put(t, client, strings.TrimSuffix(prefix, "/")+"x/poll/overlap", "1h", types.ParameterTypeString)
	put(t, client, other+"poll/overlap", "2h", types.ParameterTypeString)
	// More than one page (the service returns at most 10 per call).
	for i := range 12 {
		put(t, client, fmt.Sprintf("%srules/Custom.Rule%02d", prefix, i), `{"threshold":2}`, types.ParameterTypeString)
	}

	clk := &clock{now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	var log bytes.Buffer
	s := newStore(t, client, prefix, clk, &log)
	got, err := s.Params(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"poll/overlap": "30m", "poll/page_size": "100", "detect/min_severity": "MEDIUM",
		"rules/Zoom.PasscodeDisabled": `{"enabled":false}`,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want)+12 {
		t.Errorf("%d parameters, want %d: %v", len(got), len(want)+12, got)
	}
	if ov := tuning.RuleOverrides(got); ov["Zoom.PasscodeDisabled"] != `{"enabled":false}` || len(ov) != 13 {
		t.Errorf("rule overrides %v", ov)
	}

	// A change is not seen while the cache is fresh…
	put(t, client, prefix+"poll/overlap", "45m", types.ParameterTypeString)
	clk.Advance(59 * time.Second)
	if got, _ := s.Params(t.Context()); got["poll/overlap"] != "30m" {
		t.Errorf("within the TTL: overlap %q, want the cached 30m", got["poll/overlap"])
	}
	// …and is seen once it expires: within a minute of the change.
	clk.Advance(time.Second)
	if got, _ := s.Params(t.Context()); got["poll/overlap"] != "45m" {
		t.Errorf("after the TTL: overlap %q, want 45m", got["poll/overlap"])
	}
	// A deleted parameter goes away (its default applies again).
	if _, err := client.DeleteParameter(t.Context(), &ssm.DeleteParameterInput{Name: aws.String(prefix + "poll/page_size")}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	if got, _ := s.Params(t.Context()); got["poll/page_size"] != "" {
		t.Errorf("deleted page_size still %q", got["poll/page_size"])
	}
}

func TestInvalidValueKeepsLastGood(t *testing.T) {
	t.Parallel()
	client := awstest.SSM(t)
	prefix := stage(t, client)
	put(t, client, prefix+"poll/max_rps", "4", types.ParameterTypeString)
	put(t, client, prefix+"rules/Zoom.UserGrantedAdmin", `{"severity":"CRITICAL"}`, types.ParameterTypeString)

	clk := &clock{now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	var log bytes.Buffer
	s := newStore(t, client, prefix, clk, &log)
	if got, err := s.Params(t.Context()); err != nil || got["poll/max_rps"] != "4" {
		t.Fatalf("first read %v %v", got, err)
	}

	put(t, client, prefix+"poll/max_rps", "fast", types.ParameterTypeString)
	put(t, client, prefix+"rules/Zoom.UserGrantedAdmin", `{"severity":`, types.ParameterTypeString)
	put(t, client, prefix+"poll/page_size", "9000", types.ParameterTypeSecureString) // invalid, never good
	clk.Advance(time.Minute)
	got, err := s.Params(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got["poll/max_rps"] != "4" || got["rules/Zoom.UserGrantedAdmin"] != `{"severity":"CRITICAL"}` {
		t.Errorf("invalid values replaced the last good ones: %v", got)
	}
	if _, ok := got["poll/page_size"]; ok {
		t.Errorf("invalid page_size without a good value passed: %q", got["poll/page_size"])
	}
	// The poller applies what it gets to its settings; nothing invalid reaches it.
	settings, errs := tuning.ApplyPoll(got, tuning.Poll{MaxRPS: 1, PageSize: 300})
	if len(errs) != 0 || settings.MaxRPS != 4 || settings.PageSize != 300 {
		t.Errorf("applied settings %+v, errors %v", settings, errs)
	}
	logs := log.String()
	for _, want := range []string{prefix + "poll/max_rps", "last good value kept", prefix + "poll/page_size", "default applies"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "9000") {
		t.Errorf("a SecureString value reached the log:\n%s", logs)
	}

	// Fixing the value takes effect at the next refresh.
	put(t, client, prefix+"poll/max_rps", "8", types.ParameterTypeString)
	clk.Advance(time.Minute)
	if got, _ := s.Params(t.Context()); got["poll/max_rps"] != "8" {
		t.Errorf("fixed max_rps %q, want 8", got["poll/max_rps"])
	}
}

func TestUnreadableSSMKeepsLastGood(t *testing.T) {
	t.Parallel()
	cfg := awstest.Config(t)
	client := ssm.NewFromConfig(cfg)
	prefix := stage(t, client)
	put(t, client, prefix+"poll/overlap", "20m", types.ParameterTypeString)

	// The same store reading through a client whose endpoint stops answering.
	var broken bool
	var mu sync.Mutex
	flaky := ssm.NewFromConfig(cfg, func(o *ssm.Options) {
		o.RetryMaxAttempts = 1
		o.HTTPClient = breakable(o.HTTPClient, &mu, &broken)
	})
	clk := &clock{now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	var log bytes.Buffer
	s := newStore(t, flaky, prefix, clk, &log)
	if got, err := s.Params(t.Context()); err != nil || got["poll/overlap"] != "20m" {
		t.Fatalf("first read %v %v", got, err)
	}
	mu.Lock()
	broken = true
	mu.Unlock()
	clk.Advance(time.Minute)
	got, err := s.Params(t.Context())
	if err != nil || got["poll/overlap"] != "20m" {
		t.Errorf("during an outage: %v %v, want the last good parameters", got, err)
	}
	if !strings.Contains(log.String(), "keeping the last good ones") {
		t.Errorf("outage not logged:\n%s", log.String())
	}

	// A store that never read anything reports the error.
	fresh := newStore(t, flaky, prefix, clk, &bytes.Buffer{})
	if _, err := fresh.Params(t.Context()); err == nil {
		t.Error("first read during an outage succeeded")
	}
}
