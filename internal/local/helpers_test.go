package local

import (
	"time"

	"github.com/zoomwatch/zoomwatch/internal/event"
	"github.com/zoomwatch/zoomwatch/internal/poll"
)

func keyOf(source string, lt event.LogType) poll.Key { return poll.Key{Source: source, LogType: lt} }

func checkpoint(wm time.Time, added map[string]time.Time, forget time.Time) poll.Checkpoint {
	return poll.Checkpoint{Watermark: wm, Added: added, Forget: forget}
}
