package main

import (
	"context"
	"log/slog"

	"github.com/zoomwatch/zoomwatch/internal/alert"
	"github.com/zoomwatch/zoomwatch/internal/event"
	"github.com/zoomwatch/zoomwatch/internal/pipeline"
)

// newDetector builds the detector the laptop pipeline runs: the shipped rules plus any in dir.
func newDetector(dir string, log *slog.Logger) (pipeline.Detector, error) {
	return noRules{}, nil
}

// noRules stands in until the detection engine is wired.
type noRules struct{}

func (noRules) Detect(context.Context, []event.Envelope) ([]alert.Alert, error) { return nil, nil }
