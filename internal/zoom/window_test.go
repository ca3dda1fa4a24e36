package zoom

import (
	"testing"
	"time"
)

func TestSplitWindows(t *testing.T) {
	t.Parallel()
	d := func(y int, m time.Month, day int) time.Time { return time.Date(y, m, day, 0, 0, 0, 0, time.UTC) }
	tests := []struct {
		name     string
		from, to time.Time
		want     []Window
	}{
		{"one day", d(2026, 1, 15), d(2026, 1, 15), []Window{{d(2026, 1, 15), d(2026, 1, 15)}}},
		{"exactly the limit", d(2026, 2, 1), d(2026, 2, 28), []Window{{d(2026, 2, 1), d(2026, 2, 28)}}},
		{"a day over", d(2026, 2, 1), d(2026, 3, 1), []Window{{d(2026, 2, 1), d(2026, 2, 28)}, {d(2026, 3, 1), d(2026, 3, 1)}}},
		{"six months", d(2025, 7, 20), d(2026, 1, 15), nil}, // checked by properties below
		{"times inside days", time.Date(2026, 1, 1, 23, 59, 0, 0, time.UTC), time.Date(2026, 1, 2, 0, 1, 0, 0, time.UTC),
			[]Window{{d(2026, 1, 1), d(2026, 1, 2)}}},
		{"other zone", time.Date(2026, 1, 2, 1, 0, 0, 0, time.FixedZone("CET", 3600)), d(2026, 1, 2), []Window{{d(2026, 1, 2), d(2026, 1, 2)}}},
		{"backwards", d(2026, 1, 2), d(2026, 1, 1), nil},
		{"across a leap day", d(2028, 2, 1), d(2028, 3, 1), []Window{{d(2028, 2, 1), d(2028, 2, 28)}, {d(2028, 2, 29), d(2028, 3, 1)}}},
	}
	for _, tc := range tests {
		got := SplitWindows(tc.from, tc.to, MaxWindowDays)
		if tc.want != nil {
			if len(got) != len(tc.want) {
				t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
				continue
			}
			for i := range got {
				if !got[i].From.Equal(tc.want[i].From) || !got[i].To.Equal(tc.want[i].To) {
					t.Errorf("%s: window %d = %v, want %v", tc.name, i, got[i], tc.want[i])
				}
			}
		}
		if tc.from.After(tc.to) && dateOf(tc.from).After(dateOf(tc.to)) {
			if len(got) != 0 {
				t.Errorf("%s: %v, want none", tc.name, got)
			}
			continue
		}
		// Properties: consecutive, gapless, within the limit, covering from..to.
		if len(got) == 0 || !got[0].From.Equal(dateOf(tc.from)) || !got[len(got)-1].To.Equal(dateOf(tc.to)) {
			t.Errorf("%s: %v does not cover %v..%v", tc.name, got, tc.from, tc.to)
			continue
		}
		total := 0
		for i, w := range got {
			if w.Days() < 1 || w.Days() > MaxWindowDays {
				t.Errorf("%s: window %v has %d days", tc.name, w, w.Days())
			}
			if _, err := checkWindow(w.From, w.To); err != nil {
				t.Errorf("%s: window %v refused: %v", tc.name, w, err)
			}
			if i > 0 && !w.From.Equal(got[i-1].To.AddDate(0, 0, 1)) {
				t.Errorf("%s: gap or overlap between %v and %v", tc.name, got[i-1], w)
			}
			total += w.Days()
		}
		if want := int(dateOf(tc.to).Sub(dateOf(tc.from))/(24*time.Hour)) + 1; total != want {
			t.Errorf("%s: windows cover %d days, want %d", tc.name, total, want)
		}
	}
}

func TestSplitWindowsOfDays(t *testing.T) {
	t.Parallel()
	from, to := time.Date(2026, 11, 20, 5, 0, 0, 0, time.UTC), time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct{ maxDays, want int }{{1, 6}, {0, 6}, {2, 3}, {28, 1}, {90, 1}} {
		if got := SplitWindows(from, to, tc.maxDays); len(got) != tc.want {
			t.Errorf("maxDays %d: %d windows, want %d: %v", tc.maxDays, len(got), tc.want, got)
		}
	}
}
