// Command oauth is the onboarding Lambda behind a Function URL: GET /start sends an admin to
// Zoom's consent page, GET /callback stores the tokens in the source's secret and verifies
// access (package onboard; DESIGN.md "functions/oauth"). This file only reads configuration and
// wires clients.
//
// Environment (pipeline.ReadEnv): SETUP_SECRET_ID (the deployment's setup token), SOURCES (the
// auth_type "oauth" sources can be connected), STATE_TABLE (single-use states), ZOOM_AUTH_BASE
// and ZOOM_API_BASE (optional), LOG_LEVEL; OAUTH_REDIRECT_URL optionally fixes the Redirect URL
// (by default it is https://<function URL domain>/callback).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/zoomwatch/zoomwatch/internal/onboard"
	"github.com/zoomwatch/zoomwatch/internal/onboard/ddbnonce"
	"github.com/zoomwatch/zoomwatch/internal/onboard/funcurl"
	"github.com/zoomwatch/zoomwatch/internal/pipeline"
	"github.com/zoomwatch/zoomwatch/internal/secretstore"
	"github.com/zoomwatch/zoomwatch/internal/zoom"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := run(context.Background(), log); err != nil {
		log.Error("oauth function cannot start", "error", err.Error())
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger) error {
	env, err := pipeline.ReadEnv(os.Getenv)
	if err != nil {
		return err
	}
	if err := env.Require("SETUP_SECRET_ID", "SOURCES"); err != nil {
		return err
	}
	log = slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: env.LogLevel})).With("function", "oauth", "stage", env.Stage)

	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("load AWS configuration: %w", err)
	}
	sm := secretsmanager.NewFromConfig(awsCfg)
	out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(env.SetupSecretID)})
	if err != nil {
		return fmt.Errorf("read setup secret %s: %w", env.SetupSecretID, err)
	}
	setup, err := onboard.ParseSetupToken(aws.ToString(out.SecretString))
	if err != nil {
		return fmt.Errorf("setup secret %s: %w", env.SetupSecretID, err)
	}
	store, err := secretstore.New(sm, secretstore.Config{})
	if err != nil {
		return err
	}
	secrets := map[string]string{}
	var sources []string
	for _, s := range env.Sources {
		if s.AuthType == string(zoom.AuthOAuth) {
			secrets[s.ID] = s.SecretID
			sources = append(sources, s.ID)
		}
	}
	nonces, err := ddbnonce.New(dynamodb.NewFromConfig(awsCfg), env.StateTable)
	if err != nil {
		return err
	}
	creds := store.Sources(secrets)
	h, err := onboard.New(onboard.Config{
		Zoom:        zoom.Config{AuthBase: env.ZoomAuthBase, APIBase: env.ZoomAPIBase, Logger: log.With("component", "zoom")},
		Sources:     sources,
		Credentials: creds,
		Nonces:      nonces,
		SetupToken:  setup,
		Key:         onboard.DeriveKey(setup.Reveal()),
		RedirectURL: os.Getenv("OAUTH_REDIRECT_URL"),
		Logger:      log,
	})
	if err != nil {
		return err
	}
	lambda.StartWithOptions(funcurl.Handler(h), lambda.WithContext(ctx))
	return nil
}
