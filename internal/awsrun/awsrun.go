// Package awsrun assembles the deployed functions from their environment: it builds the AWS
// service clients once per container and wires the adapters (DynamoDB state, Secrets Manager
// tokens, Kinesis, SNS, SSM tuning, EMF metrics) into the handlers of internal/pipeline. The
// functions' main packages and the end-to-end test share it, so what is tested is what runs.
package awsrun

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/zoomwatch/zoomwatch/internal/detect"
	"github.com/zoomwatch/zoomwatch/internal/dynamostate"
	"github.com/zoomwatch/zoomwatch/internal/kinesissink"
	"github.com/zoomwatch/zoomwatch/internal/metrics"
	"github.com/zoomwatch/zoomwatch/internal/pipeline"
	"github.com/zoomwatch/zoomwatch/internal/rules"
	"github.com/zoomwatch/zoomwatch/internal/secretstore"
	"github.com/zoomwatch/zoomwatch/internal/snsalert"
	"github.com/zoomwatch/zoomwatch/internal/ssmtuning"
	"github.com/zoomwatch/zoomwatch/internal/tuning"
	"github.com/zoomwatch/zoomwatch/internal/zoom"
)

// Clients are the service clients of one container.
type Clients struct {
	DynamoDB       *dynamodb.Client
	SecretsManager *secretsmanager.Client
	Kinesis        *kinesis.Client
	SNS            *sns.Client
	SSM            *ssm.Client
}

// NewClients builds every client from cfg; dynamoOpts adjust the DynamoDB client (an emulator
// sends no response checksum).
func NewClients(cfg aws.Config, dynamoOpts ...func(*dynamodb.Options)) Clients {
	return Clients{
		DynamoDB:       dynamodb.NewFromConfig(cfg, dynamoOpts...),
		SecretsManager: secretsmanager.NewFromConfig(cfg),
		Kinesis:        kinesis.NewFromConfig(cfg),
		SNS:            sns.NewFromConfig(cfg),
		SSM:            ssm.NewFromConfig(cfg),
	}
}

// Deps are what every function shares: environment, clients, logs and the metrics stream
// (EMF lines, which CloudWatch Logs turns into metrics).
type Deps struct {
	Env     pipeline.Env
	Clients Clients
	Log     *slog.Logger
	Metrics io.Writer
	// Zoom overrides client settings for tests (HTTP client, clock); base URLs come from Env.
	Zoom zoom.Config
}

func (d Deps) recorder() (*metrics.Recorder, error) {
	return metrics.New(d.Metrics, metrics.Config{Namespace: d.Env.MetricsNamespace, Stage: d.Env.Stage})
}

func (d Deps) tuner() (*ssmtuning.Store, error) {
	return ssmtuning.New(d.Clients.SSM, ssmtuning.Config{Prefix: d.Env.SSMPrefix, Log: d.Log})
}

func (d Deps) table() (*dynamostate.Table, error) {
	return dynamostate.New(d.Clients.DynamoDB, dynamostate.Config{Name: d.Env.StateTable})
}

func (d Deps) publisher() (*snsalert.Publisher, error) {
	return snsalert.New(d.Clients.SNS, snsalert.Config{
		AlertsTopicARN: d.Env.AlertsTopicARN, OpsTopicARN: d.Env.OpsTopicARN,
		// AWS Chatbot is the only HTTPS subscriber the stack creates; it renders its own format.
		ChatbotHTTPS: true, Log: d.Log,
	})
}

// Secrets returns the source-addressed Secrets Manager store for the configured sources.
func (d Deps) Secrets() (*secretstore.Sources, error) {
	store, err := secretstore.New(d.Clients.SecretsManager, secretstore.Config{})
	if err != nil {
		return nil, err
	}
	ids := map[string]string{}
	for _, s := range d.Env.Sources {
		ids[s.ID] = s.SecretID
	}
	return store.Sources(ids), nil
}

// NewPoller builds the poller function's handler core.
func NewPoller(d Deps) (*pipeline.Poller, error) {
	if err := d.Env.Require("SOURCES", "STREAM_NAME", "OPS_TOPIC_ARN"); err != nil {
		return nil, err
	}
	table, err := d.table()
	if err != nil {
		return nil, err
	}
	rec, err := d.recorder()
	if err != nil {
		return nil, err
	}
	sink, err := kinesissink.New(d.Clients.Kinesis, kinesissink.Config{Stream: d.Env.StreamName, Observer: rec, Log: d.Log})
	if err != nil {
		return nil, err
	}
	secrets, err := d.Secrets()
	if err != nil {
		return nil, err
	}
	tuner, err := d.tuner()
	if err != nil {
		return nil, err
	}
	ops, err := snsalert.New(d.Clients.SNS, snsalert.Config{OpsTopicARN: d.Env.OpsTopicARN, Log: d.Log})
	if err != nil {
		return nil, err
	}
	zcfg := d.Zoom
	zcfg.APIBase, zcfg.AuthBase, zcfg.Logger = d.Env.ZoomAPIBase, d.Env.ZoomAuthBase, d.Log
	return &pipeline.Poller{
		Sources: d.Env.Sources,
		Cursors: table,
		Leases:  table,
		Sink:    sink,
		Secrets: secrets,
		Tuner:   tuner,
		Zoom:    zcfg,
		Base:    tuning.Poll{MaxRPS: 8, PageSize: 300},
		Metrics: rec,
		Ops:     ops,
		Log:     d.Log,
	}, nil
}

// NewDetector builds the detector function's handler core over the shipped rules.
func NewDetector(d Deps) (*pipeline.DetectorFunction, error) {
	if err := d.Env.Require("ALERTS_TOPIC_ARN"); err != nil {
		return nil, err
	}
	base, err := detect.LoadFS(rules.FS(), ".")
	if err != nil {
		return nil, fmt.Errorf("shipped rules: %w", err)
	}
	table, err := d.table()
	if err != nil {
		return nil, err
	}
	rec, err := d.recorder()
	if err != nil {
		return nil, err
	}
	pub, err := d.publisher()
	if err != nil {
		return nil, err
	}
	tuner, err := d.tuner()
	if err != nil {
		return nil, err
	}
	engine := detect.NewEngine(base, table, detect.Options{Logger: d.Log})
	return &pipeline.DetectorFunction{
		Detector:  engine,
		Publisher: pub,
		Retuner:   &pipeline.RuleTuning{Engine: engine, Base: base, Tuner: tuner, Log: d.Log},
		Metrics:   rec,
		Log:       d.Log,
	}, nil
}
