package main

import (
	"fmt"
	"log/slog"

	"github.com/zoomwatch/zoomwatch/internal/detect"
	"github.com/zoomwatch/zoomwatch/internal/pipeline"
	"github.com/zoomwatch/zoomwatch/internal/rules"
)

// newDetector builds the detector the laptop pipeline runs: the shipped rules plus any in dir.
func newDetector(dir string, log *slog.Logger) (pipeline.Detector, error) {
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
	return detect.NewEngine(rs, detect.NewMemState(), detect.Options{Logger: log.With("component", "detect")}), nil
}
