package ssmtuning

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/zoomwatch/zoomwatch/internal/tuning"
)

// MaxTTL is the longest a value is cached: DESIGN.md promises changes apply within a minute.
const MaxTTL = 60 * time.Second

// API is the part of the SSM client the store uses.
type API interface {
	GetParametersByPath(ctx context.Context, in *ssm.GetParametersByPathInput, optFns ...func(*ssm.Options)) (*ssm.GetParametersByPathOutput, error)
}

// Config configures a Store.
type Config struct {
	// Prefix is the stage prefix, starting and ending with "/" ("/zoomwatch/prod/").
	Prefix string
	// TTL is how long parameters are cached; 0 means MaxTTL, more than MaxTTL is invalid.
	TTL time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Check rejects a value; nil means Check (the package function).
	Check func(name, value string) error
	// Log may be nil.
	Log *slog.Logger
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	var errs []error
	if !strings.HasPrefix(c.Prefix, "/") || !strings.HasSuffix(c.Prefix, "/") || len(c.Prefix) < 2 {
		errs = append(errs, fmt.Errorf("ssm tuning: prefix %q must start and end with / and name a path", c.Prefix))
	}
	if c.TTL < 0 || c.TTL > MaxTTL {
		errs = append(errs, fmt.Errorf("ssm tuning: cache TTL %s must be between 0 and %s", c.TTL, MaxTTL))
	}
	return errors.Join(errs...)
}

// Store is the SSM-backed tuning source. It implements the poller's and detector's Tuner
// port (Params). It is safe for concurrent use.
type Store struct {
	api API
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	good    map[string]string // last good value per name
	fetched time.Time         // when good was last refreshed (or a refresh last failed)
	loaded  bool
}

// New returns a Store reading cfg.Prefix through api.
func New(api API, cfg Config) (*Store, error) {
	if api == nil {
		return nil, errors.New("ssm tuning: nil client")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.TTL == 0 {
		cfg.TTL = MaxTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Check == nil {
		cfg.Check = Check
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Store{api: api, cfg: cfg, log: log, good: map[string]string{}}, nil
}

// Params returns the tuning parameters by name relative to the prefix, reading SSM when the
// cache is older than the TTL. The map is the caller's to keep.
//
// When SSM cannot be read, Params returns the last good parameters with a nil error if it
// ever read any (the failure is logged, and retried after the TTL so an outage does not turn
// into a call per invocation); on the very first read it returns the error.
func (s *Store) Params(ctx context.Context) (map[string]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	if s.loaded && now.Sub(s.fetched) < s.cfg.TTL {
		return clone(s.good), nil
	}
	params, err := s.read(ctx)
	if err != nil {
		if !s.loaded {
			return nil, err
		}
		s.fetched = now
		s.log.WarnContext(ctx, "tuning parameters unreadable; keeping the last good ones", "prefix", s.cfg.Prefix, "error", err)
		return clone(s.good), nil
	}
	next := make(map[string]string, len(params))
	for name, p := range params {
		if err := s.cfg.Check(name, p.value); err != nil {
			attrs := []any{"parameter", s.cfg.Prefix + name, "error", err}
			if p.secure {
				// A SecureString's value never reaches a log: report only the name.
				attrs = []any{"parameter", s.cfg.Prefix + name, "error", "invalid value (SecureString, not shown)"}
			}
			if old, ok := s.good[name]; ok {
				next[name] = old
				s.log.ErrorContext(ctx, "invalid tuning parameter ignored; last good value kept", attrs...)
			} else {
				s.log.ErrorContext(ctx, "invalid tuning parameter ignored; default applies", attrs...)
			}
			continue
		}
		next[name] = p.value
	}
	s.good, s.fetched, s.loaded = next, now, true
	return clone(next), nil
}

type param struct {
	value  string
	secure bool
}

// read fetches every parameter under the prefix, following pagination.
func (s *Store) read(ctx context.Context) (map[string]param, error) {
	out := map[string]param{}
	pages := ssm.NewGetParametersByPathPaginator(s.api, &ssm.GetParametersByPathInput{
		Path:           aws.String(strings.TrimSuffix(s.cfg.Prefix, "/")),
		Recursive:      aws.Bool(true),
		WithDecryption: aws.Bool(true),
		MaxResults:     aws.Int32(10), // the service maximum
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("get parameters under %s: %w", s.cfg.Prefix, err)
		}
		for _, p := range page.Parameters {
			name, ok := strings.CutPrefix(aws.ToString(p.Name), s.cfg.Prefix)
			if !ok || name == "" {
				continue
			}
			out[name] = param{value: aws.ToString(p.Value), secure: p.Type == types.ParameterTypeSecureString}
		}
	}
	return out, nil
}

// Check is the default value check: poll/* through tuning.ApplyPoll (the one parser of those
// values), rules/* must be a JSON object. Other names pass; their consumers judge them.
func Check(name, value string) error {
	switch {
	case strings.HasPrefix(name, "poll/"):
		if _, errs := tuning.ApplyPoll(map[string]string{name: value}, tuning.Poll{}); len(errs) > 0 {
			return errs[0]
		}
	case strings.HasPrefix(name, tuning.RulePrefix):
		var obj map[string]json.RawMessage
		if err := json.Unmarshal([]byte(value), &obj); err != nil {
			return &tuning.ParamError{Name: name, Value: value, Reason: "not a JSON object"}
		}
	}
	return nil
}

func clone(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
