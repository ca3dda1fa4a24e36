package ssmtuning_test

import (
	"github.com/zoomwatch/zoomwatch/internal/pipeline"
	"github.com/zoomwatch/zoomwatch/internal/ssmtuning"
)

// The store is the poller's tuning port.
var _ pipeline.Tuner = (*ssmtuning.Store)(nil)
