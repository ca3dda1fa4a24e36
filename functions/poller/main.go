// Command poller is the scheduled Lambda function that polls every configured Zoom source and
// writes envelopes to Kinesis. Configuration comes from the environment (see
// internal/pipeline.ReadEnv); the work is done by internal/pipeline.Poller.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/zoomwatch/zoomwatch/internal/awsrun"
	"github.com/zoomwatch/zoomwatch/internal/pipeline"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("function", "poller")
	env, err := pipeline.ReadEnv(os.Getenv)
	if err != nil {
		log.Error("invalid configuration", "error", err)
		os.Exit(1)
	}
	log = slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: env.LogLevel})).With("function", "poller", "stage", env.Stage)
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Error("load AWS configuration", "error", err)
		os.Exit(1)
	}
	poller, err := awsrun.NewPoller(awsrun.Deps{Env: env, Clients: awsrun.NewClients(cfg), Log: log, Metrics: os.Stdout})
	if err != nil {
		log.Error("build poller", "error", err)
		os.Exit(1)
	}
	lambda.Start(func(ctx context.Context, _ events.EventBridgeEvent) (pipeline.PollReport, error) {
		return poller.Poll(ctx)
	})
}
