package metrics_test

import (
	"github.com/zoomwatch/zoomwatch/internal/metrics"
	"github.com/zoomwatch/zoomwatch/internal/pipeline"
)

// The recorder is the poller's metrics port.
var _ pipeline.PollMetrics = (*metrics.Recorder)(nil)
