package snsalert_test

import (
	"github.com/zoomwatch/zoomwatch/internal/pipeline"
	"github.com/zoomwatch/zoomwatch/internal/snsalert"
)

// The publisher is the poller's ops notifier.
var _ pipeline.OpsNotifier = (*snsalert.Publisher)(nil)
