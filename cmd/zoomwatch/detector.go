package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"

	"github.com/zoomwatch/zoomwatch/internal/detect"
	"github.com/zoomwatch/zoomwatch/internal/local"
	"github.com/zoomwatch/zoomwatch/internal/rules"
)

// newDetector builds the detector the laptop pipeline runs: the shipped rules plus any in dir,
// tuned by params (the names and values of the SSM parameters, DESIGN.md "Tuning"), over
// state.
func newDetector(dir string, params map[string]string, state detect.State, log *slog.Logger) (*detect.Engine, error) {
	rs, err := detect.LoadFS(rules.FS(), ".")
	if err != nil {
		return nil, fmt.Errorf("shipped rules: %w", err)
	}
	if dir != "" {
		extra, err := detect.LoadDir(dir)
		if err != nil {
			return nil, err
		}
		if rs, err = rs.Merge(extra); err != nil {
			return nil, err
		}
	}
	tuned, errs := detect.Tune(rs, nil, detect.TuningFrom(params))
	if len(errs) > 0 {
		return nil, &usageError{fmt.Sprintf("tuning: %v", errors.Join(errs...))}
	}
	return detect.NewEngine(tuned, state, detect.Options{Logger: log.With("component", "detect")}), nil
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
