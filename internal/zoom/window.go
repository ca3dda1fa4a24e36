package zoom

import "time"

// MaxWindowDays is the most whole days (inclusive) one report request covers. Zoom documents
// "one month" and may clamp longer ranges silently, so stay under the shortest month.
const MaxWindowDays = 28

const dayLen = 24 * time.Hour

// Window is one report request range: the whole UTC days From through To, inclusive, both at
// UTC midnight.
type Window struct {
	From, To time.Time
}

// Days is the number of days the window covers (From and To included).
func (w Window) Days() int { return int(dateOf(w.To).Sub(dateOf(w.From))/dayLen) + 1 }

// SplitWindows splits the days from through to (inclusive, UTC) into consecutive windows of at
// most maxDays (clamped to 1..MaxWindowDays), oldest first, without gaps or overlaps. It
// returns nil if from is after to.
func SplitWindows(from, to time.Time, maxDays int) []Window {
	maxDays = min(max(maxDays, 1), MaxWindowDays)
	from, to = dateOf(from), dateOf(to)
	var ws []Window
	for start := from; !start.After(to); {
		end := start.AddDate(0, 0, maxDays-1)
		if end.After(to) {
			end = to
		}
		ws = append(ws, Window{From: start, To: end})
		start = end.AddDate(0, 0, 1)
	}
	return ws
}

// dateOf is t's UTC day at midnight: the date Zoom's from/to parameters name.
func dateOf(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

func checkWindow(from, to time.Time) (Window, error) {
	w := Window{From: dateOf(from), To: dateOf(to)}
	if d := w.Days(); d < 1 || d > MaxWindowDays {
		return w, &WindowError{From: w.From, To: w.To, Days: d}
	}
	return w, nil
}
