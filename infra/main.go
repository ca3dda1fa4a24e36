package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

func main() {
	defer jsii.Close()
	if err := reexecFromRoot(); err != nil {
		fmt.Fprintf(os.Stderr, "zoomwatch: %v\n", err)
		os.Exit(1)
	}
	app := awscdk.NewApp(nil)
	if _, err := Build(app); err != nil {
		fmt.Fprintf(os.Stderr, "zoomwatch: cannot synthesize:\n%v\n", err)
		os.Exit(1)
	}
	CheckWithNag(app)
	app.Synth(nil)
}

// Build reads the app's context, checks it and the function binaries, and adds the stack.
func Build(app awscdk.App) (*Stack, error) {
	cfg, err := ConfigFromContext(func(key string) any { return app.Node().TryGetContext(jsii.String(key)) })
	if err != nil {
		return nil, err
	}
	if err := cfg.CheckAssets(); err != nil {
		return nil, err
	}
	return NewStack(app, "zoomwatch-"+cfg.Stage, cfg, &awscdk.StackProps{
		Description: jsii.String("zoomwatch " + cfg.Stage + ": Zoom audit log monitoring"),
		// Account and region come from the credentials at deploy time, so synthesis is offline.
		Env: &awscdk.Environment{
			Account: optional(os.Getenv("CDK_DEFAULT_ACCOUNT")),
			Region:  optional(os.Getenv("CDK_DEFAULT_REGION")),
		},
	}), nil
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// cliPathVars are the paths the CDK CLI hands the app, relative to the directory of cdk.json.
func cliPathVars() []string {
	return []string{"CDK_OUTDIR", "CDK_ERROR_FILE", "CDK_PERF_COUNTERS_FILE"}
}

// reexecFromRoot makes the CLI's relative paths absolute and restarts the program with them.
// cdk.json runs the app from infra/, one level below the directory those paths are relative
// to, and the CDK's JavaScript side reads them from its environment, which it receives when
// the Go packages initialize — before main could correct them in place. It returns only when
// nothing needed correcting.
func reexecFromRoot() error {
	if _, err := os.Stat(filepath.Join("..", "cdk.json")); err != nil {
		return nil // not started by the CLI from the repository root
	}
	env := os.Environ()
	changed := false
	for i, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if v == "" || filepath.IsAbs(v) || !slices.Contains(cliPathVars(), k) {
			continue
		}
		abs, err := filepath.Abs(filepath.Join("..", v))
		if err != nil {
			return fmt.Errorf("resolve %s=%q: %w", k, v, err)
		}
		env[i] = k + "=" + abs
		changed = true
	}
	if !changed {
		return nil
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own executable: %w", err)
	}
	return syscall.Exec(self, os.Args, env)
}
