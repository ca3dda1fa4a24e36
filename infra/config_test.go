package main

import (
	"errors"
	"strings"
	"testing"
)

func reader(ctx map[string]any) ContextReader {
	return func(key string) any { return ctx[key] }
}

func TestConfigDefaults(t *testing.T) {
	c, err := ConfigFromContext(reader(map[string]any{KeySources: `[{"id":"main","authType":"s2s"}]`}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Stage != "dev" || c.Schedule != "rate(5 minutes)" || c.DropOffHours != 6 || c.StreamMode != StreamOnDemand || c.AssetDir != "../dist" {
		t.Errorf("defaults %+v", c)
	}
	if c.Sources[0].Label != "main" {
		t.Errorf("label defaults to the id, got %q", c.Sources[0].Label)
	}
	if c.ParamPrefix() != "/zoomwatch/dev/" {
		t.Errorf("prefix %q", c.ParamPrefix())
	}
}

// TestConfigErrors checks that each bad value fails with the key named and the way to set it.
func TestConfigErrors(t *testing.T) {
	good := `[{"id":"main","label":"Zoom","authType":"s2s"}]`
	tests := []struct {
		name string
		ctx  map[string]any
		key  string
		says string
	}{
		{"no sources", map[string]any{}, KeySources, "no Zoom source configured"},
		{"empty sources", map[string]any{KeySources: "[]"}, KeySources, "no Zoom source configured"},
		{"sources not JSON", map[string]any{KeySources: "main"}, KeySources, "not a JSON list"},
		{"unknown source field", map[string]any{KeySources: `[{"id":"main","auth_type":"s2s"}]`}, KeySources, "unknown field"},
		{"bad auth type", map[string]any{KeySources: `[{"id":"main","authType":"jwt"}]`}, KeySources, "must be s2s or oauth"},
		{"duplicate source", map[string]any{KeySources: `[{"id":"a","authType":"s2s"},{"id":"a","authType":"oauth"}]`}, KeySources, "appears twice"},
		{"ids differing in punctuation", map[string]any{KeySources: `[{"id":"a-b","authType":"s2s"},{"id":"ab","authType":"oauth"}]`}, KeySources, "appears twice"},
		{"bad source id", map[string]any{KeySources: `[{"id":"Main Account","authType":"s2s"}]`}, KeySources, "lowercase"},
		{"bad stage", map[string]any{KeySources: good, KeyStage: "Prod!"}, KeyStage, "lowercase"},
		{"bad email", map[string]any{KeySources: good, KeyAlertEmail: "security at example"}, KeyAlertEmail, "not an email address"},
		{"workspace without channel", map[string]any{KeySources: good, KeySlackWorkspaceID: "T0123456789"}, KeySlackChannelID, "required"},
		{"channel without workspace", map[string]any{KeySources: good, KeySlackChannelID: "C0123456789"}, KeySlackWorkspaceID, "required"},
		{"bad channel id", map[string]any{KeySources: good, KeySlackWorkspaceID: "T0123456789", KeySlackChannelID: "#security"}, KeySlackChannelID, "not a Slack channel id"},
		{"bad schedule", map[string]any{KeySources: good, KeySchedule: "every 5 minutes"}, KeySchedule, "schedule expression"},
		{"drop-off beyond a day", map[string]any{KeySources: good, KeyDropOffHours: "48"}, KeyDropOffHours, "from 1 to 24"},
		{"drop-off not a number", map[string]any{KeySources: good, KeyDropOffHours: "six"}, KeyDropOffHours, "whole number"},
		{"bad stream mode", map[string]any{KeySources: good, KeyStreamMode: "fast"}, KeyStreamMode, "on-demand or provisioned"},
		{"retention below a day", map[string]any{KeySources: good, KeyStreamRetention: "12"}, KeyStreamRetention, "from 24"},
		{"unsupported log retention", map[string]any{KeySources: good, KeyLogRetentionDays: "100"}, KeyLogRetentionDays, "not a retention"},
		{"bad log level", map[string]any{KeySources: good, KeyLogLevel: "loud"}, KeyLogLevel, "debug, info"},
		{"plain http Zoom", map[string]any{KeySources: good, KeyZoomAPIBase: "http://api.zoom.us/v2"}, KeyZoomAPIBase, "https://"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ConfigFromContext(reader(tc.ctx))
			if err == nil {
				t.Fatal("accepted")
			}
			var ce *ContextError
			if !errors.As(err, &ce) || ce.Key != tc.key {
				t.Fatalf("error %v does not name context key %q", err, tc.key)
			}
			msg := err.Error()
			for _, want := range []string{`context "` + tc.key + `"`, tc.says, "-c " + tc.key + "="} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q lacks %q", msg, want)
				}
			}
		})
	}
}

func TestConfigReportsEveryProblem(t *testing.T) {
	_, err := ConfigFromContext(reader(map[string]any{KeyStage: "X", KeyDropOffHours: "0"}))
	for _, key := range []string{KeyStage, KeySources, KeyDropOffHours} {
		if err == nil || !strings.Contains(err.Error(), `context "`+key+`"`) {
			t.Errorf("error %v does not report %s", err, key)
		}
	}
}

func TestMissingAssetsFailSynthesis(t *testing.T) {
	dir := t.TempDir()
	_, err := synth(t, map[string]any{KeySources: `[{"id":"main","authType":"s2s"}]`, KeyAssetDir: dir})
	if err == nil {
		t.Fatal("synthesized without function binaries")
	}
	for _, fn := range FunctionNames() {
		if !strings.Contains(err.Error(), fn+"/bootstrap not found: run `make build`") {
			t.Errorf("error %q does not name %s/bootstrap and make build", err, fn)
		}
	}
}
