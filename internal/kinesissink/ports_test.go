package kinesissink_test

import (
	"github.com/zoomwatch/zoomwatch/internal/kinesissink"
	"github.com/zoomwatch/zoomwatch/internal/metrics"
	"github.com/zoomwatch/zoomwatch/internal/poll"
)

// The sink is the poller's Sink, and the metrics recorder observes it.
var (
	_ poll.Sink            = (*kinesissink.Sink)(nil)
	_ kinesissink.Observer = (*metrics.Recorder)(nil)
)
