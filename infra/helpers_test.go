package main

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

// placeholderAssets makes an asset directory with a stand-in bootstrap per function, so the
// tests need no `make build`.
func placeholderAssets(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	for _, fn := range FunctionNames() {
		if err := os.MkdirAll(filepath.Join(dir, fn), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fn, "bootstrap"), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// fullContext configures every optional feature: two sources (one per auth type), email and Slack.
func fullContext(assets string) map[string]any {
	return map[string]any{
		KeyStage:            "prod",
		KeySources:          `[{"id":"main","label":"Main account","authType":"s2s"},{"id":"sub-1","label":"Subsidiary","authType":"oauth"}]`,
		KeyAlertEmail:       "security@example.com",
		KeySlackWorkspaceID: "T0123456789",
		KeySlackChannelID:   "C0123456789",
		KeyAssetDir:         assets,
	}
}

type synthesized struct {
	stack    *Stack
	template assertions.Template
	json     map[string]any
}

// synth builds the app with ctx into a temporary output directory.
func synth(t testing.TB, ctx map[string]any) (synthesized, error) {
	t.Helper()
	app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx, Outdir: jsii.String(t.TempDir())})
	s, err := Build(app)
	if err != nil {
		return synthesized{}, err
	}
	tpl := assertions.Template_FromStack(s.Stack, nil)
	return synthesized{stack: s, template: tpl, json: *tpl.ToJSON()}, nil
}

var (
	fullOnce sync.Once
	fullSyn  synthesized
	fullErr  error
)

// full is the fully configured stack, synthesized once for all the tests that only read it.
func full(t *testing.T) synthesized {
	t.Helper()
	fullOnce.Do(func() {
		dir, err := os.MkdirTemp("", "zoomwatch-assets-")
		if err != nil {
			fullErr = err
			return
		}
		// Removed by TestMain after all tests ran.
		sharedAssets = dir
		for _, fn := range FunctionNames() {
			_ = os.MkdirAll(filepath.Join(dir, fn), 0o755)
			_ = os.WriteFile(filepath.Join(dir, fn, "bootstrap"), []byte("#!/bin/sh\n"), 0o755)
		}
		fullSyn, fullErr = synth(t, fullContext(dir))
	})
	if fullErr != nil {
		t.Fatalf("synthesize the full stack: %v", fullErr)
	}
	return fullSyn
}

var sharedAssets string

func TestMain(m *testing.M) {
	// The tests run on whatever Node.js the machine has; its support notice is not a test result.
	// The value lists the Node.js major versions whose notice is silenced.
	os.Setenv("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "18,20")
	os.Setenv("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
	code := m.Run()
	if sharedAssets != "" {
		os.RemoveAll(sharedAssets)
	}
	jsii.Close()
	os.Exit(code)
}
