package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskinesis"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsssm"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// MetricsNamespace is the CloudWatch namespace the functions write their EMF metrics to.
const MetricsNamespace = "zoomwatch"

// Detector event source mapping failure handling: a failing batch is split until the bad
// record is alone, retried a bounded number of times, then its position goes to the DLQ.
const (
	detectorRetryAttempts  = 3
	detectorMaxRecordAgeHr = 6
)

// TunableDefaults are the SSM parameters created under /zoomwatch/<stage>/, with the values
// the functions would use anyway; operators change them without a redeploy.
func TunableDefaults() map[string]string {
	return map[string]string{
		"poll/overlap":        "6h",
		"poll/first_backfill": "168h",
		"poll/max_rps":        "8",
		"poll/page_size":      "300",
		"detect/min_severity": "INFO",
	}
}

// Stack is the deployed zoomwatch: the stack and the parts tests and alarms refer to.
type Stack struct {
	awscdk.Stack
	Config        Config
	Key           awskms.Key
	Table         awsdynamodb.Table
	Stream        awskinesis.Stream
	DLQ           awssqs.Queue
	AlertsTopic   awssns.Topic
	OpsTopic      awssns.Topic
	SourceSecrets map[string]awssecretsmanager.Secret
	SetupSecret   awssecretsmanager.Secret
	Poller        awslambda.Function
	Detector      awslambda.Function
	OAuth         awslambda.Function
	OAuthURL      awslambda.FunctionUrl
}

// NewStack builds the whole deployment of one stage. cfg must have passed ConfigFromContext.
func NewStack(scope constructs.Construct, id string, cfg Config, props *awscdk.StackProps) *Stack {
	stack := awscdk.NewStack(scope, jsii.String(id), props)
	s := &Stack{Stack: stack, Config: cfg, SourceSecrets: map[string]awssecretsmanager.Secret{}}
	awscdk.Tags_Of(stack).Add(jsii.String("zoomwatch:stage"), jsii.String(cfg.Stage), nil)

	s.Key = awskms.NewKey(stack, jsii.String("Key"), &awskms.KeyProps{
		Alias:             jsii.String("alias/zoomwatch/" + cfg.Stage),
		Description:       jsii.String("zoomwatch " + cfg.Stage + ": state, secrets, stream, queues, topics and logs"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
	})
	s.allowServicesToUseKey()

	s.Table = awsdynamodb.NewTable(stack, jsii.String("StateTable"), &awsdynamodb.TableProps{
		PartitionKey:        &awsdynamodb.Attribute{Name: jsii.String("pk"), Type: awsdynamodb.AttributeType_STRING},
		SortKey:             &awsdynamodb.Attribute{Name: jsii.String("sk"), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:         awsdynamodb.BillingMode_PAY_PER_REQUEST,
		TimeToLiveAttribute: jsii.String("ttl"),
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		Encryption:    awsdynamodb.TableEncryption_CUSTOMER_MANAGED,
		EncryptionKey: s.Key,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})

	for _, src := range cfg.Sources {
		sec := awssecretsmanager.NewSecret(stack, jsii.String("SourceSecret-"+src.ID), &awssecretsmanager.SecretProps{
			SecretName:    jsii.String(fmt.Sprintf("zoomwatch/%s/source/%s", cfg.Stage, src.ID)),
			Description:   jsii.String(fmt.Sprintf("Zoom credentials and tokens of source %s (%s, %s); filled by the OAuth setup or put-secret-value", src.ID, src.Label, src.AuthType)),
			EncryptionKey: s.Key,
			RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
		})
		// The L2 construct generates a random value when given none. A source secret starts
		// empty: the operator or the OAuth callback writes it, so no value ever passes
		// through the template.
		cfn := sec.Node().DefaultChild().(awssecretsmanager.CfnSecret)
		cfn.AddPropertyDeletionOverride(jsii.String("GenerateSecretString"))
		s.SourceSecrets[src.ID] = sec
	}
	s.SetupSecret = awssecretsmanager.NewSecret(stack, jsii.String("OAuthSetupSecret"), &awssecretsmanager.SecretProps{
		SecretName:    jsii.String(fmt.Sprintf("zoomwatch/%s/oauth-setup", cfg.Stage)),
		Description:   jsii.String("Setup token that /start requires before it connects a Zoom account"),
		EncryptionKey: s.Key,
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			PasswordLength:     jsii.Number(48),
			ExcludePunctuation: jsii.Bool(true),
			IncludeSpace:       jsii.Bool(false),
		},
	})

	streamProps := &awskinesis.StreamProps{
		StreamName:      jsii.String("zoomwatch-" + cfg.Stage + "-events"),
		Encryption:      awskinesis.StreamEncryption_KMS,
		EncryptionKey:   s.Key,
		RetentionPeriod: awscdk.Duration_Hours(jsii.Number(float64(cfg.StreamRetentionHours))),
		StreamMode:      awskinesis.StreamMode_ON_DEMAND,
	}
	if cfg.StreamMode == StreamProvisioned {
		streamProps.StreamMode = awskinesis.StreamMode_PROVISIONED
		streamProps.ShardCount = jsii.Number(float64(cfg.ShardCount))
	}
	s.Stream = awskinesis.NewStream(stack, jsii.String("EventStream"), streamProps)

	s.DLQ = awssqs.NewQueue(stack, jsii.String("DetectorDLQ"), &awssqs.QueueProps{
		QueueName:           jsii.String("zoomwatch-" + cfg.Stage + "-detector-dlq"),
		Encryption:          awssqs.QueueEncryption_KMS,
		EncryptionMasterKey: s.Key,
		EnforceSSL:          jsii.Bool(true),
		RetentionPeriod:     awscdk.Duration_Days(jsii.Number(14)),
	})

	s.AlertsTopic = awssns.NewTopic(stack, jsii.String("AlertsTopic"), &awssns.TopicProps{
		TopicName:   jsii.String("zoomwatch-" + cfg.Stage + "-alerts"),
		DisplayName: jsii.String("zoomwatch alerts"),
		MasterKey:   s.Key,
		EnforceSSL:  jsii.Bool(true),
	})
	s.OpsTopic = awssns.NewTopic(stack, jsii.String("OpsTopic"), &awssns.TopicProps{
		TopicName:   jsii.String("zoomwatch-" + cfg.Stage + "-ops"),
		DisplayName: jsii.String("zoomwatch health"),
		MasterKey:   s.Key,
		EnforceSSL:  jsii.Bool(true),
	})
	if cfg.AlertEmail != "" {
		s.AlertsTopic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(cfg.AlertEmail), nil))
		s.OpsTopic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(cfg.AlertEmail), nil))
	} else if cfg.SlackChannelID == "" {
		awscdk.Annotations_Of(stack).AddWarningV2(jsii.String("zoomwatch:no-destination"),
			jsii.String("no alert destination: set -c alertEmail=you@example.com or -c slackWorkspaceId=T… -c slackChannelId=C…, or subscribe to the alerts topic yourself"), nil)
	}
	if cfg.SlackChannelID != "" {
		s.addSlack()
	}

	for name, value := range TunableDefaults() {
		awsssm.NewStringParameter(stack, jsii.String("Param-"+name), &awsssm.StringParameterProps{
			ParameterName: jsii.String(cfg.ParamPrefix() + name),
			StringValue:   jsii.String(value),
			Description:   jsii.String("zoomwatch tunable " + name + " (default " + value + "); read within a minute of a change"),
			Tier:          awsssm.ParameterTier_STANDARD,
		})
	}

	s.addFunctions()
	s.grantLeastPrivilege()
	s.addDetectorEventSource()
	s.addAlarmsAndDashboard()
	s.addOutputs()
	s.addNagSuppressions()
	return s
}

// allowServicesToUseKey lets CloudWatch (alarm actions to the encrypted topics) and CloudWatch
// Logs (encrypted log groups) use the key, and nothing else of this account or others.
func (s *Stack) allowServicesToUseKey() {
	acct := s.Account()
	s.Key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchAlarmsPublishToEncryptedTopics"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey"),
		Resources:  jsii.Strings("*"), // in a key policy, "*" is this key
		Conditions: &map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": acct}},
	}), jsii.Bool(false))
	s.Key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchLogsEncryptZoomwatchLogGroups"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String(fmt.Sprintf("logs.%s.amazonaws.com", *s.Region())), nil)},
		Actions: jsii.Strings("kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo",
			"kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey"),
		Resources: jsii.Strings("*"),
		Conditions: &map[string]any{"ArnLike": map[string]any{
			"kms:EncryptionContext:aws:logs:arn": fmt.Sprintf("arn:%s:logs:%s:%s:log-group:/zoomwatch/%s/*", *s.Partition(), *s.Region(), *acct, s.Config.Stage),
		}},
	}), jsii.Bool(false))
}

// addSlack connects both topics to the Slack channel through AWS Chatbot. The channel role
// has no permissions and the guardrail denies everything: the channel receives notifications
// and cannot run commands in the account.
func (s *Stack) addSlack() {
	guard := awsiam.NewManagedPolicy(s.Stack, jsii.String("ChatbotGuardrail"), &awsiam.ManagedPolicyProps{
		Description: jsii.String("zoomwatch Slack channel: notifications only, no actions"),
		Statements: &[]awsiam.PolicyStatement{awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Effect:    awsiam.Effect_DENY,
			Actions:   jsii.Strings("*"),
			Resources: jsii.Strings("*"),
		})},
	})
	awschatbotSlack(s, guard)
}

// functionEnv is what every function reads (internal/pipeline.ReadEnv).
func (s *Stack) functionEnv() map[string]*string {
	type source struct {
		ID       string `json:"id"`
		Label    string `json:"label"`
		AuthType string `json:"auth_type"`
		SecretID string `json:"secret_id"`
	}
	srcs := make([]source, 0, len(s.Config.Sources))
	for _, c := range s.Config.Sources {
		// The ARN is a token here; CloudFormation joins it into the JSON at deploy time.
		srcs = append(srcs, source{c.ID, c.Label, c.AuthType, *s.SourceSecrets[c.ID].SecretArn()})
	}
	raw, err := json.Marshal(srcs)
	if err != nil {
		panic(fmt.Sprintf("encode SOURCES: %v", err)) // a slice of plain strings always encodes
	}
	return map[string]*string{
		"ZOOMWATCH_STAGE":   jsii.String(s.Config.Stage),
		"STATE_TABLE":       s.Table.TableName(),
		"SSM_PREFIX":        jsii.String(s.Config.ParamPrefix()),
		"METRICS_NAMESPACE": jsii.String(MetricsNamespace),
		"STREAM_NAME":       s.Stream.StreamName(),
		"ALERTS_TOPIC_ARN":  s.AlertsTopic.TopicArn(),
		"OPS_TOPIC_ARN":     s.OpsTopic.TopicArn(),
		"SETUP_SECRET_ID":   s.SetupSecret.SecretArn(),
		"SOURCES":           jsii.String(string(raw)),
		"ZOOM_AUTH_BASE":    jsii.String(s.Config.ZoomAuthBase),
		"ZOOM_API_BASE":     jsii.String(s.Config.ZoomAPIBase),
		"LOG_LEVEL":         jsii.String(s.Config.LogLevel),
	}
}

type functionSpec struct {
	name        string
	description string
	timeout     awscdk.Duration
	memoryMB    float64
	reserved    *float64
	env         []string
}

func (s *Stack) addFunctions() {
	all := s.functionEnv()
	common := []string{"ZOOMWATCH_STAGE", "STATE_TABLE", "SSM_PREFIX", "METRICS_NAMESPACE", "SOURCES", "ZOOM_AUTH_BASE", "ZOOM_API_BASE", "LOG_LEVEL"}
	specs := []functionSpec{
		{
			name: "poller", description: "Polls Zoom's audit reports into the event stream",
			// Shorter than the schedule, so one run ends before the next one starts.
			timeout: awscdk.Duration_Seconds(jsii.Number(240)), memoryMB: 256,
			// One poll at a time per stage; the DynamoDB lease guards each source as well.
			reserved: jsii.Number(1),
			env:      append(common, "STREAM_NAME", "OPS_TOPIC_ARN"),
		},
		{
			name: "detector", description: "Runs the detection rules over the event stream and publishes alerts",
			timeout: awscdk.Duration_Seconds(jsii.Number(60)), memoryMB: 256,
			env: append(common, "ALERTS_TOPIC_ARN", "OPS_TOPIC_ARN"),
		},
		{
			name: "oauth", description: "Connects a Zoom account: /start and /callback of the OAuth setup",
			timeout: awscdk.Duration_Seconds(jsii.Number(30)), memoryMB: 256,
			env: append(common, "SETUP_SECRET_ID"),
		},
	}
	for _, spec := range specs {
		env := map[string]*string{}
		for _, k := range spec.env {
			env[k] = all[k]
		}
		fn := s.newFunction(spec, env)
		switch spec.name {
		case "poller":
			s.Poller = fn
		case "detector":
			s.Detector = fn
		case "oauth":
			s.OAuth = fn
		}
	}

	awsevents.NewRule(s.Stack, jsii.String("PollSchedule"), &awsevents.RuleProps{
		Description: jsii.String("Starts a zoomwatch poll cycle"),
		Schedule:    awsevents.Schedule_Expression(jsii.String(s.Config.Schedule)),
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(s.Poller, &awseventstargets.LambdaFunctionProps{
			// A missed cycle is caught up by the next one: the cursor remembers where it was.
			RetryAttempts: jsii.Number(0),
			MaxEventAge:   awscdk.Duration_Minutes(jsii.Number(5)),
		})},
	})

	s.OAuthURL = s.OAuth.AddFunctionUrl(&awslambda.FunctionUrlOptions{
		// The function authenticates every request itself: /start needs the setup token from
		// Secrets Manager, /callback a single-use state bound to a source. Zoom's browser
		// redirect cannot carry AWS signatures.
		AuthType: awslambda.FunctionUrlAuthType_NONE,
	})
}

func (s *Stack) newFunction(spec functionSpec, env map[string]*string) awslambda.Function {
	id := titleCase(spec.name)
	logs := awslogs.NewLogGroup(s.Stack, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
		LogGroupName:  jsii.String(fmt.Sprintf("/zoomwatch/%s/%s", s.Config.Stage, spec.name)),
		Retention:     logRetentions()[s.Config.LogRetentionDays],
		EncryptionKey: s.Key,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	role := awsiam.NewRole(s.Stack, jsii.String(id+"Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("zoomwatch " + spec.name + " function"),
	})
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("WriteOwnLogs"),
		Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
		Resources: &[]*string{jsii.String(*logs.LogGroupArn())},
	}))
	fn := awslambda.NewFunction(s.Stack, jsii.String(id), &awslambda.FunctionProps{
		Description:  jsii.String(spec.description),
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String("bootstrap"),
		// Built by `make build`; no bundling, so synthesis needs neither Docker nor network.
		Code:                         awslambda.Code_FromAsset(jsii.String(filepath.Join(s.Config.AssetDir, spec.name)), nil),
		Timeout:                      spec.timeout,
		MemorySize:                   jsii.Number(spec.memoryMB),
		ReservedConcurrentExecutions: spec.reserved,
		Role:                         role,
		LogGroup:                     logs,
		LoggingFormat:                awslambda.LoggingFormat_JSON,
		Environment:                  &env,
	})
	return fn
}

func (s *Stack) addOutputs() {
	out := func(id, desc string, value *string) {
		awscdk.NewCfnOutput(s.Stack, jsii.String(id), &awscdk.CfnOutputProps{Description: jsii.String(desc), Value: value})
	}
	out("OAuthRedirectURL", "Paste into the Zoom app's OAuth Redirect URL and allow list",
		awscdk.Fn_Join(jsii.String(""), jsii.Strings(*s.OAuthURL.Url(), "callback")))
	for _, src := range s.Config.Sources {
		if src.AuthType != "oauth" {
			continue
		}
		out("OAuthStartURL"+titleCase(alnum(src.ID)), "Open with &setup=<token from the setup secret> to connect source "+src.ID,
			awscdk.Fn_Join(jsii.String(""), jsii.Strings(*s.OAuthURL.Url(), "start?source="+src.ID)))
	}
	out("SetupTokenSecret", "Secret holding the OAuth setup token", jsii.String(fmt.Sprintf("zoomwatch/%s/oauth-setup", s.Config.Stage)))
	for _, src := range s.Config.Sources {
		out("SourceSecret"+titleCase(alnum(src.ID)), "Secret of Zoom source "+src.ID, jsii.String(fmt.Sprintf("zoomwatch/%s/source/%s", s.Config.Stage, src.ID)))
	}
	out("AlertsTopicArn", "Subscribe here for alerts", s.AlertsTopic.TopicArn())
	out("OpsTopicArn", "Subscribe here for health alarms", s.OpsTopic.TopicArn())
	out("StateTableName", "DynamoDB state table", s.Table.TableName())
	out("DashboardURL", "CloudWatch dashboard",
		jsii.String(fmt.Sprintf("https://console.aws.amazon.com/cloudwatch/home?region=%s#dashboards:name=zoomwatch-%s", *s.Region(), s.Config.Stage)))
}

func titleCase(s string) string {
	if s == "" {
		return s
	}
	b := []byte(s)
	if b[0] >= 'a' && b[0] <= 'z' {
		b[0] -= 'a' - 'A'
	}
	return string(b)
}

// alnum keeps the letters and digits of s, for CloudFormation logical ids.
func alnum(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') {
			b = append(b, c)
		}
	}
	return string(b)
}
