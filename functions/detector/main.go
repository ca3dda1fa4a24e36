// Command detector is the Kinesis-triggered Lambda function that evaluates the detection rules
// over envelopes and publishes alerts to SNS. Configuration comes from the environment (see
// internal/pipeline.ReadEnv); the work is done by internal/pipeline.DetectorFunction.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/zoomwatch/zoomwatch/internal/awsrun"
	"github.com/zoomwatch/zoomwatch/internal/pipeline"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("function", "detector")
	env, err := pipeline.ReadEnv(os.Getenv)
	if err != nil {
		log.Error("invalid configuration", "error", err)
		os.Exit(1)
	}
	log = slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: env.LogLevel})).With("function", "detector", "stage", env.Stage)
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Error("load AWS configuration", "error", err)
		os.Exit(1)
	}
	detector, err := awsrun.NewDetector(awsrun.Deps{Env: env, Clients: awsrun.NewClients(cfg), Log: log, Metrics: os.Stdout})
	if err != nil {
		log.Error("build detector", "error", err)
		os.Exit(1)
	}
	lambda.Start(detector.Handle)
}
