package tuning

import (
	"errors"
	"testing"
	"time"
)

func TestApplyPoll(t *testing.T) {
	t.Parallel()
	base := Poll{MaxRPS: 8, PageSize: 300}
	base.Poll.Overlap = 6 * time.Hour
	same := func(p Poll) bool {
		return p.MaxRPS == base.MaxRPS && p.PageSize == base.PageSize && p.Poll.Overlap == base.Poll.Overlap && p.Poll.FirstBackfill == base.Poll.FirstBackfill
	}
	tests := []struct {
		name    string
		params  map[string]string
		check   func(Poll) bool
		wantErr int
	}{
		{"none", nil, same, 0},
		{"all valid", map[string]string{PollOverlap: "12h", PollFirstBackfill: "30d", PollMaxRPS: "2.5", PollPageSize: "100"},
			func(p Poll) bool {
				return p.Poll.Overlap == 12*time.Hour && p.Poll.FirstBackfill == 30*24*time.Hour && p.MaxRPS == 2.5 && p.PageSize == 100
			}, 0},
		{"invalid keep last good", map[string]string{PollOverlap: "soon", PollMaxRPS: "-1", PollPageSize: "301", PollFirstBackfill: "400d"},
			same, 4},
		{"one bad one good", map[string]string{PollOverlap: "2h", PollPageSize: "x"},
			func(p Poll) bool { return p.Poll.Overlap == 2*time.Hour && p.PageSize == 300 }, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, errs := ApplyPoll(tt.params, base)
			if len(errs) != tt.wantErr {
				t.Errorf("got %d errors %v, want %d", len(errs), errs, tt.wantErr)
			}
			for _, err := range errs {
				var pe *ParamError
				if !errors.As(err, &pe) || pe.Name == "" {
					t.Errorf("error %v is not a named *ParamError", err)
				}
			}
			if !tt.check(got) {
				t.Errorf("unexpected settings %+v", got)
			}
		})
	}
}

func TestRuleOverrides(t *testing.T) {
	t.Parallel()
	got := RuleOverrides(map[string]string{"rules/Zoom.UserGrantedAdmin": `{"enabled":false}`, "poll/overlap": "1h", "rules/": "x"})
	if len(got) != 1 || got["Zoom.UserGrantedAdmin"] != `{"enabled":false}` {
		t.Errorf("RuleOverrides = %v", got)
	}
}
