package ssmtuning

import (
	"errors"
	"testing"
	"time"

	"github.com/zoomwatch/zoomwatch/internal/tuning"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name, value string
		ok          bool
	}{
		{"poll/overlap", "30m", true},
		{"poll/overlap", "soon", false},
		{"poll/first_backfill", "7d", true},
		{"poll/first_backfill", "0", false},
		{"poll/max_rps", "2.5", true},
		{"poll/max_rps", "-1", false},
		{"poll/page_size", "300", true},
		{"poll/page_size", "301", false},
		{"rules/Zoom.PasscodeDisabled", `{"enabled":false}`, true},
		{"rules/Zoom.PasscodeDisabled", `{"enabled":`, false},
		{"rules/Zoom.PasscodeDisabled", `[1]`, false},
		{"detect/min_severity", "HIGH", true}, // judged by the detector
		{"other/thing", "anything", true},
	}
	for _, tt := range tests {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			err := Check(tt.name, tt.value)
			if (err == nil) != tt.ok {
				t.Fatalf("Check = %v, want ok=%v", err, tt.ok)
			}
			var pe *tuning.ParamError
			if err != nil && !errors.As(err, &pe) {
				t.Errorf("error %T is not a *tuning.ParamError", err)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		cfg Config
		ok  bool
	}{
		{Config{Prefix: "/zoomwatch/prod/"}, true},
		{Config{Prefix: "/zoomwatch/prod/", TTL: 10 * time.Second}, true},
		{Config{Prefix: "/zoomwatch/prod"}, false},
		{Config{Prefix: "zoomwatch/prod/"}, false},
		{Config{Prefix: "/"}, false},
		{Config{Prefix: "/zoomwatch/prod/", TTL: 2 * time.Minute}, false},
		{Config{Prefix: "/zoomwatch/prod/", TTL: -time.Second}, false},
	}
	for _, tt := range tests {
		if err := tt.cfg.Validate(); (err == nil) != tt.ok {
			t.Errorf("%+v: Validate() = %v, want ok=%v", tt.cfg, err, tt.ok)
		}
	}
	if _, err := New(nil, Config{Prefix: "/x/"}); err == nil {
		t.Error("nil client accepted")
	}
}
