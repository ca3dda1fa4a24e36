package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/zoomwatch/zoomwatch/internal/awsrun"
	"github.com/zoomwatch/zoomwatch/internal/pipeline"
)

// runInvoke is `zoomwatch invoke poller|detector [EVENT]`: one invocation of a function's
// handler on this machine, against the Zoom simulator (or ZOOM_*) and a local AWS emulator,
// with the stack's resources provisioned there first.
func runInvoke(ctx context.Context, s streams, args []string) error {
	fs := flag.NewFlagSet("invoke", flag.ContinueOnError)
	fs.SetOutput(s.stderr)
	stage := fs.String("stage", "local", "stage whose resources are used (created if missing)")
	source := fs.String("source", "main", "source id")
	logLevel := fs.String("log-level", "info", "diagnostics level on stderr")
	var zf zoomFlags
	zf.register(fs, false)
	fs.Usage = func() {
		fmt.Fprintln(s.stderr, "usage: zoomwatch invoke poller|detector [EVENT.json]   (needs AWS_ENDPOINT_URL: run via make invoke-poller)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	if fs.NArg() < 1 || fs.NArg() > 2 {
		return &usageError{"want poller or detector, and optionally an event file"}
	}
	fn, eventFile := fs.Arg(0), fs.Arg(1)
	if fn != "poller" && fn != "detector" {
		return &usageError{fmt.Sprintf("unknown function %q (want poller or detector)", fn)}
	}
	if os.Getenv("AWS_ENDPOINT_URL") == "" {
		return &usageError{"AWS_ENDPOINT_URL is not set: invoke runs against a local AWS emulator (make invoke-poller, or tools/with-kumo.sh zoomwatch invoke …)"}
	}
	level, err := parseLevel(*logLevel)
	if err != nil {
		return err
	}
	log := newLogger(s.stderr, level).With("function", fn)

	target, err := zf.open(ctx, os.Getenv, s.stderr, defaultStateDir, *source)
	if err != nil {
		return err
	}
	defer target.close()
	secret, err := json.Marshal(map[string]string{
		"auth_type": string(target.creds.AuthType), "account_id": target.creds.AccountID,
		"client_id": target.creds.ClientID, "client_secret": target.creds.ClientSecret.Reveal(),
		"refresh_token": target.creds.RefreshToken.Reveal(),
	})
	if err != nil {
		return err
	}
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("AWS configuration: %w", err)
	}
	// Emulators send no DynamoDB response checksum.
	clients := awsrun.NewClients(awsCfg, func(o *dynamodb.Options) { o.DisableValidateResponseChecksum = true })
	env, err := awsrun.Provision(ctx, clients, *stage, pipeline.Source{ID: *source, AuthType: string(target.creds.AuthType)}, string(secret))
	if err != nil {
		return err
	}
	env.ZoomAPIBase, env.ZoomAuthBase = target.cfg.APIBase, target.cfg.AuthBase
	deps := awsrun.Deps{Env: env, Clients: clients, Log: log, Metrics: s.stderr}

	var out any
	switch fn {
	case "poller":
		var ev events.EventBridgeEvent
		if err := readEvent(eventFile, &ev); err != nil {
			return err
		}
		p, err := awsrun.NewPoller(deps)
		if err != nil {
			return err
		}
		rep, err := p.Poll(ctx)
		if err != nil {
			return err
		}
		out = rep
	case "detector":
		var ev events.KinesisEvent
		if err := readEvent(eventFile, &ev); err != nil {
			return err
		}
		if len(ev.Records) == 0 {
			return &usageError{"the detector needs a Kinesis event with records (e.g. events/kinesis.json)"}
		}
		d, err := awsrun.NewDetector(deps)
		if err != nil {
			return err
		}
		resp, err := d.Handle(ctx, ev)
		if err != nil {
			return err
		}
		out = resp
	}
	enc := json.NewEncoder(s.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// readEvent decodes a sample Lambda event; no file means the zero event.
func readEvent(path string, v any) error {
	if path == "" {
		return nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return &usageError{err.Error()}
	}
	if err := json.Unmarshal(b, v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return &usageError{fmt.Sprintf("%s: not JSON at byte %d: %v", path, se.Offset, err)}
		}
		return &usageError{fmt.Sprintf("%s: %v", path, err)}
	}
	return nil
}
