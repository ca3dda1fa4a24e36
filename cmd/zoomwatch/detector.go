package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/zoomwatch/zoomwatch/internal/detect"
	"github.com/zoomwatch/zoomwatch/internal/local"
	"github.com/zoomwatch/zoomwatch/internal/tuning"
)

// newDetector builds the detector the laptop pipeline runs: the shipped rules plus any in dir,
// tuned by params, over state.
func newDetector(dir string, params map[string]string, state detect.State, log *slog.Logger) (*detect.Engine, error) {
	rs, err := tunedRuleSet(dir, params)
	if err != nil {
		return nil, err
	}
	return detect.NewEngine(rs, state, detect.Options{Logger: log.With("component", "detect")}), nil
}

// tunedRuleSet loads the shipped rules plus those in dir and applies params (the names and
// values of the SSM parameters, DESIGN.md "Tuning"). A rejected value fails: on a laptop it
// is a typo to fix, not a running detector's last good setting to keep.
func tunedRuleSet(dir string, params map[string]string) (*detect.RuleSet, error) {
	rs, err := loadRuleSet(dir)
	if err != nil {
		return nil, err
	}
	tuned, errs := detect.Tune(rs, nil, detect.TuningFrom(params))
	if len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, err := range errs {
			// The detector's wording ("… ignored") describes a deployed detector keeping its
			// last good value; here the run stops, so say which parameter and why.
			msgs[i] = err.Error()
			if oe := (*detect.OverrideError)(nil); errors.As(err, &oe) {
				msgs[i] = oe.Param() + ": " + oe.Reason
			}
		}
		return nil, &usageError{"tuning rejected: " + strings.Join(msgs, "; ")}
	}
	return tuned, nil
}

// readTuning reads a JSON object of tuning parameters ({"rules/Zoom.PasscodeDisabled":
// "{\"enabled\":false}", "poll/overlap": "6h"}), the laptop's stand-in for SSM.
func readTuning(path string) (map[string]string, error) {
	if path == "" {
		return map[string]string{}, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, &usageError{fmt.Sprintf("--tuning: %v", err)}
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, &usageError{fmt.Sprintf("--tuning %s: not a JSON object of parameter names to values: %v", path, err)}
	}
	params := make(map[string]string, len(raw))
	for k, v := range raw {
		switch v := v.(type) {
		case string:
			params[k] = v
		default:
			// Rule overrides may be written as JSON objects instead of JSON-in-a-string.
			b, _ := json.Marshal(v)
			params[k] = string(b)
		}
	}
	return params, nil
}

// detectorState is the laptop's detector state: a file under the state directory, loaded at
// start and saved after each cycle.
type detectorState struct {
	path  string
	state *detect.MemState
}

func openDetectorState(path string) (*detectorState, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &detectorState{path: path, state: detect.NewMemState()}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open detector state: %w", err)
	}
	defer f.Close()
	st, err := detect.LoadMemState(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (delete it to start the detector afresh)", path, err)
	}
	return &detectorState{path: path, state: st}, nil
}

// save replaces the file atomically.
func (d *detectorState) save() error {
	var buf bytes.Buffer
	if err := d.state.Save(&buf); err != nil {
		return err
	}
	return local.WriteFileAtomic(d.path, buf.Bytes(), 0o600)
}

// noteLearning tells the user, on w, which rules stayed silent about first sightings because
// they were learning since before (Engine.Learned at the last call, nil at the first), so an
// empty result is not mistaken for a clean account. It returns the counts to pass next time.
func noteLearning(w io.Writer, cmd string, eng *detect.Engine, before map[string]int64) map[string]int64 {
	now := eng.Learned()
	ids := make([]string, 0, len(now))
	for id := range now {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		n := now[id] - before[id]
		if n <= 0 {
			continue
		}
		period := "its learning period"
		if r, ok := eng.Rules().Rule(id); ok {
			period = fmt.Sprintf("the first %s of events it saw", durationText(r.FirstSeenLearn))
		}
		fmt.Fprintf(w, "%s: %s learned %d first sighting(s) silently during %s; tune %s%s with {\"learn_days\": 0} to alert from the start\n",
			cmd, id, n, period, tuning.RulePrefix, id)
	}
	return now
}

// durationText writes whole days as "7 days", anything else as Go does.
func durationText(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d == day:
		return "day"
	case d > 0 && d%day == 0:
		return fmt.Sprintf("%d days", d/day)
	}
	return d.String()
}
