package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

// resourcesOf returns the template's resources of one type, by logical id.
func resourcesOf(tpl map[string]any, typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range tpl["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] == typ {
			out[id] = res
		}
	}
	return out
}

func props(r map[string]any) map[string]any {
	p, _ := r["Properties"].(map[string]any)
	return p
}

// logicalID finds the one resource of typ whose properties match.
func logicalID(t *testing.T, s synthesized, typ string, match map[string]any) string {
	t.Helper()
	return *s.template.GetResourceId(jsii.String(typ), map[string]any{"Properties": assertions.Match_ObjectLike(&match)})
}

func ref(id string) map[string]any    { return map[string]any{"Ref": id} }
func getArn(id string) map[string]any { return map[string]any{"Fn::GetAtt": []any{id, "Arn"}} }

func TestEveryResource(t *testing.T) {
	s := full(t)
	for typ, n := range map[string]float64{
		"AWS::KMS::Key":                           1,
		"AWS::DynamoDB::Table":                    1,
		"AWS::SecretsManager::Secret":             3, // two sources and the setup token
		"AWS::Kinesis::Stream":                    1,
		"AWS::SQS::Queue":                         1,
		"AWS::SNS::Topic":                         2,
		"AWS::SNS::Subscription":                  2, // email on alerts and ops
		"AWS::Chatbot::SlackChannelConfiguration": 1,
		"AWS::SSM::Parameter":                     5,
		"AWS::Lambda::Function":                   3,
		"AWS::Lambda::Url":                        1,
		"AWS::Lambda::EventSourceMapping":         1,
		"AWS::Events::Rule":                       1,
		"AWS::Logs::LogGroup":                     3,
		"AWS::CloudWatch::Alarm":                  6,
		"AWS::CloudWatch::Dashboard":              1,
	} {
		s.template.ResourceCountIs(jsii.String(typ), jsii.Number(n))
	}
}

func TestFunctions(t *testing.T) {
	s := full(t)
	common := []string{"LOG_LEVEL", "METRICS_NAMESPACE", "SOURCES", "SSM_PREFIX", "STATE_TABLE", "ZOOMWATCH_STAGE", "ZOOM_API_BASE", "ZOOM_AUTH_BASE"}
	tests := []struct {
		desc     string
		reserved any
		env      []string
	}{
		{"Polls Zoom's audit reports into the event stream", float64(1), append([]string{"OPS_TOPIC_ARN", "STREAM_NAME"}, common...)},
		{"Runs the detection rules over the event stream and publishes alerts", nil, append([]string{"ALERTS_TOPIC_ARN", "OPS_TOPIC_ARN"}, common...)},
		{"Connects a Zoom account: /start and /callback of the OAuth setup", nil, append([]string{"SETUP_SECRET_ID"}, common...)},
	}
	fns := resourcesOf(s.json, "AWS::Lambda::Function")
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			var fn map[string]any
			for _, r := range fns {
				if props(r)["Description"] == tc.desc {
					fn = props(r)
				}
			}
			if fn == nil {
				t.Fatalf("no function described %q", tc.desc)
			}
			if fn["Runtime"] != "provided.al2023" || fn["Handler"] != "bootstrap" || fmt.Sprint(fn["Architectures"]) != "[arm64]" {
				t.Errorf("runtime %v handler %v architectures %v, want provided.al2023, bootstrap, [arm64]", fn["Runtime"], fn["Handler"], fn["Architectures"])
			}
			if fn["ReservedConcurrentExecutions"] != tc.reserved {
				t.Errorf("reserved concurrency %v, want %v", fn["ReservedConcurrentExecutions"], tc.reserved)
			}
			vars := fn["Environment"].(map[string]any)["Variables"].(map[string]any)
			var got []string
			for k := range vars {
				got = append(got, k)
			}
			sort.Strings(got)
			want := append([]string(nil), tc.env...)
			sort.Strings(want)
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("environment %v, want %v", got, want)
			}
			if vars["SSM_PREFIX"] != "/zoomwatch/prod/" || vars["ZOOMWATCH_STAGE"] != "prod" || vars["METRICS_NAMESPACE"] != "zoomwatch" {
				t.Errorf("stage variables %v", vars)
			}
			lc := fn["LoggingConfig"].(map[string]any)
			if _, ok := lc["LogGroup"].(map[string]any)["Ref"]; !ok {
				t.Errorf("function does not log to its own log group: %v", lc)
			}
		})
	}
	// SOURCES carries each source's secret ARN, joined in at deploy time.
	src, _ := json.Marshal(fns[logicalID(t, s, "AWS::Lambda::Function", map[string]any{"Description": tests[0].desc})])
	for _, want := range []string{`\"id\":\"main\"`, `\"auth_type\":\"s2s\"`, `\"id\":\"sub-1\"`, `\"auth_type\":\"oauth\"`, `\"secret_id\":\"",{"Ref":"SourceSecretmain`} {
		if !strings.Contains(string(src), want) {
			t.Errorf("SOURCES lacks %s: %s", want, src)
		}
	}

	s.template.HasResourceProperties(jsii.String("AWS::Events::Rule"), map[string]any{
		"ScheduleExpression": "rate(5 minutes)",
		"Targets": []any{map[string]any{
			"Arn":         getArn(logicalID(t, s, "AWS::Lambda::Function", map[string]any{"Description": tests[0].desc})),
			"RetryPolicy": map[string]any{"MaximumRetryAttempts": 0},
		}},
	})
	s.template.HasResourceProperties(jsii.String("AWS::Lambda::Url"), map[string]any{"AuthType": "NONE"})
	s.template.AllResourcesProperties(jsii.String("AWS::Logs::LogGroup"), map[string]any{
		"RetentionInDays": 90, "KmsKeyId": getArn(keyID(t, s)),
		"LogGroupName": assertions.Match_StringLikeRegexp(jsii.String("^/zoomwatch/prod/(poller|detector|oauth)$")),
	})
}

func keyID(t *testing.T, s synthesized) string {
	t.Helper()
	return logicalID(t, s, "AWS::KMS::Key", map[string]any{"EnableKeyRotation": true})
}

func TestEncryptionAtRest(t *testing.T) {
	s := full(t)
	key := getArn(keyID(t, s))
	s.template.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), map[string]any{
		"KeySchema":                        []any{map[string]any{"AttributeName": "pk", "KeyType": "HASH"}, map[string]any{"AttributeName": "sk", "KeyType": "RANGE"}},
		"AttributeDefinitions":             []any{map[string]any{"AttributeName": "pk", "AttributeType": "S"}, map[string]any{"AttributeName": "sk", "AttributeType": "S"}},
		"BillingMode":                      "PAY_PER_REQUEST",
		"TimeToLiveSpecification":          map[string]any{"AttributeName": "ttl", "Enabled": true},
		"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
		"SSESpecification":                 map[string]any{"SSEEnabled": true, "SSEType": "KMS", "KMSMasterKeyId": key},
	})
	s.template.HasResourceProperties(jsii.String("AWS::Kinesis::Stream"), map[string]any{
		"StreamEncryption":     map[string]any{"EncryptionType": "KMS", "KeyId": key},
		"StreamModeDetails":    map[string]any{"StreamMode": "ON_DEMAND"},
		"RetentionPeriodHours": 24,
	})
	s.template.AllResourcesProperties(jsii.String("AWS::SNS::Topic"), map[string]any{"KmsMasterKeyId": key})
	s.template.AllResourcesProperties(jsii.String("AWS::SQS::Queue"), map[string]any{"KmsMasterKeyId": key})
	s.template.AllResourcesProperties(jsii.String("AWS::SecretsManager::Secret"), map[string]any{"KmsKeyId": key})
	s.template.HasResourceProperties(jsii.String("AWS::KMS::Key"), map[string]any{"EnableKeyRotation": true})
	// Transport: both topics and the queue refuse plain HTTP.
	for _, typ := range []string{"AWS::SNS::TopicPolicy", "AWS::SQS::QueuePolicy"} {
		for id, r := range resourcesOf(s.json, typ) {
			doc, _ := json.Marshal(props(r))
			if !strings.Contains(string(doc), `"aws:SecureTransport":"false"`) {
				t.Errorf("%s %s does not deny insecure transport: %s", typ, id, doc)
			}
		}
	}
}

func TestSecretsHoldNoValues(t *testing.T) {
	s := full(t)
	raw, _ := json.Marshal(s.json)
	if strings.Contains(string(raw), `"SecretString":`) {
		t.Errorf("template contains a SecretString")
	}
	for _, name := range []string{"zoomwatch/prod/source/main", "zoomwatch/prod/source/sub-1"} {
		id := logicalID(t, s, "AWS::SecretsManager::Secret", map[string]any{"Name": name})
		if g, ok := props(resourcesOf(s.json, "AWS::SecretsManager::Secret")[id])["GenerateSecretString"]; ok {
			t.Errorf("source secret %s generates a value %v; it must be created empty", name, g)
		}
	}
	s.template.HasResourceProperties(jsii.String("AWS::SecretsManager::Secret"), map[string]any{
		"Name":                 "zoomwatch/prod/oauth-setup",
		"GenerateSecretString": map[string]any{"PasswordLength": 48, "ExcludePunctuation": true},
	})
}

func TestDetectorEventSourceFailureHandling(t *testing.T) {
	s := full(t)
	s.template.HasResourceProperties(jsii.String("AWS::Lambda::EventSourceMapping"), map[string]any{
		"EventSourceArn":                 getArn(logicalID(t, s, "AWS::Kinesis::Stream", map[string]any{"Name": "zoomwatch-prod-events"})),
		"StartingPosition":               "TRIM_HORIZON",
		"BatchSize":                      100,
		"MaximumBatchingWindowInSeconds": 5,
		"BisectBatchOnFunctionError":     true,
		"MaximumRetryAttempts":           detectorRetryAttempts,
		"MaximumRecordAgeInSeconds":      detectorMaxRecordAgeHr * 3600,
		"FunctionResponseTypes":          []any{"ReportBatchItemFailures"},
		"DestinationConfig": map[string]any{"OnFailure": map[string]any{
			"Destination": getArn(logicalID(t, s, "AWS::SQS::Queue", map[string]any{"QueueName": "zoomwatch-prod-detector-dlq"})),
		}},
	})
	if detectorMaxRecordAgeHr > DefaultConfig().StreamRetentionHours {
		t.Errorf("records expire from the stream (%d h) before the mapping gives up (%d h); the DLQ could not be replayed", DefaultConfig().StreamRetentionHours, detectorMaxRecordAgeHr)
	}
}

func TestAlertDestinations(t *testing.T) {
	s := full(t)
	alerts := ref(logicalID(t, s, "AWS::SNS::Topic", map[string]any{"TopicName": "zoomwatch-prod-alerts"}))
	ops := ref(logicalID(t, s, "AWS::SNS::Topic", map[string]any{"TopicName": "zoomwatch-prod-ops"}))
	for _, topic := range []any{alerts, ops} {
		s.template.HasResourceProperties(jsii.String("AWS::SNS::Subscription"), map[string]any{
			"Protocol": "email", "Endpoint": "security@example.com", "TopicArn": topic,
		})
	}
	s.template.HasResourceProperties(jsii.String("AWS::Chatbot::SlackChannelConfiguration"), map[string]any{
		"SlackWorkspaceId": "T0123456789", "SlackChannelId": "C0123456789",
		"SnsTopicArns": []any{alerts, ops}, "LoggingLevel": "ERROR",
	})
	s.template.HasOutput(jsii.String("OAuthRedirectURL"), map[string]any{
		"Value": map[string]any{"Fn::Join": []any{"", []any{
			map[string]any{"Fn::GetAtt": []any{logicalID(t, s, "AWS::Lambda::Url", map[string]any{"AuthType": "NONE"}), "FunctionUrl"}}, "callback",
		}}},
	})
	s.template.HasOutput(jsii.String("OAuthStartURLSub1"), map[string]any{})
	if outs := *s.template.FindOutputs(jsii.String("OAuthStartURLMain"), map[string]any{}); len(outs) != 0 {
		t.Errorf("an s2s source has a start URL: %v", outs)
	}
}

func TestTunablesHaveDefaults(t *testing.T) {
	s := full(t)
	for name, value := range TunableDefaults() {
		s.template.HasResourceProperties(jsii.String("AWS::SSM::Parameter"), map[string]any{
			"Name": "/zoomwatch/prod/" + name, "Value": value, "Type": "String",
		})
	}
	want := map[string]string{"poll/overlap": "6h", "poll/first_backfill": "168h", "poll/max_rps": "8", "poll/page_size": "300", "detect/min_severity": "INFO"}
	if fmt.Sprint(TunableDefaults()) != fmt.Sprint(want) {
		t.Errorf("tunable defaults %v, want %v", TunableDefaults(), want)
	}
}

func TestAlarms(t *testing.T) {
	s := full(t)
	ops := []any{ref(logicalID(t, s, "AWS::SNS::Topic", map[string]any{"TopicName": "zoomwatch-prod-ops"}))}
	for _, a := range []map[string]any{
		{"AlarmName": "zoomwatch-prod-LogDropOff", "Namespace": "zoomwatch", "MetricName": "EventsPolled",
			"Dimensions": []any{map[string]any{"Name": "Stage", "Value": "prod"}}, "Statistic": "Sum", "Period": 6 * 3600,
			"ComparisonOperator": "LessThanThreshold", "Threshold": 1, "TreatMissingData": "breaching"},
		{"AlarmName": "zoomwatch-prod-AuthFailures", "Namespace": "zoomwatch", "MetricName": "AuthFailures",
			"Dimensions": []any{map[string]any{"Name": "Stage", "Value": "prod"}}, "Statistic": "Sum",
			"ComparisonOperator": "GreaterThanOrEqualToThreshold", "Threshold": 1},
		{"AlarmName": "zoomwatch-prod-TokenSaveFailures", "Namespace": "zoomwatch", "MetricName": "TokenSaveFailures",
			"Dimensions": []any{map[string]any{"Name": "Stage", "Value": "prod"}}, "Statistic": "Sum",
			"ComparisonOperator": "GreaterThanOrEqualToThreshold", "Threshold": 1},
		{"AlarmName": "zoomwatch-prod-PollerErrors", "Namespace": "AWS/Lambda", "MetricName": "Errors",
			"ComparisonOperator": "GreaterThanOrEqualToThreshold", "Threshold": 1},
		{"AlarmName": "zoomwatch-prod-DetectorIteratorAge", "Namespace": "AWS/Lambda", "MetricName": "IteratorAge",
			"Statistic": "Maximum", "ComparisonOperator": "GreaterThanThreshold", "Threshold": 15 * 60 * 1000},
		{"AlarmName": "zoomwatch-prod-DetectorDLQ", "Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible",
			"ComparisonOperator": "GreaterThanThreshold", "Threshold": 0},
	} {
		a["AlarmActions"] = ops
		a["OKActions"] = ops
		a["EvaluationPeriods"] = 1
		s.template.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), a)
	}
	body, _ := json.Marshal(resourcesOf(s.json, "AWS::CloudWatch::Dashboard"))
	for _, m := range []string{MetricEventsPolled, MetricAuthFailures, MetricPollLag, MetricRateLimited, MetricEventsEvaluated, MetricAlerts, MetricRuleErrors, MetricTokenSaveFailures, MetricPoisonRecords, MetricSightingsLearned, "IteratorAge"} {
		if !strings.Contains(string(body), `\"`+m+`\"`) {
			t.Errorf("dashboard lacks metric %s", m)
		}
	}
}

// TestMinimalVariant covers the other branches: provisioned stream, no email or Slack, s2s only.
func TestMinimalVariant(t *testing.T) {
	s, err := synth(t, map[string]any{
		KeySources: []any{map[string]any{"id": "main", "authType": "s2s"}}, KeyAssetDir: placeholderAssets(t),
		KeyStreamMode: "provisioned", KeyShardCount: "2", KeyStreamRetention: "48", KeyDropOffHours: "12",
		KeySchedule: "rate(10 minutes)", KeyBatchSize: "50", KeyLogRetentionDays: "30",
	})
	if err != nil {
		t.Fatal(err)
	}
	s.template.HasResourceProperties(jsii.String("AWS::Kinesis::Stream"), map[string]any{
		"ShardCount": 2, "StreamModeDetails": map[string]any{"StreamMode": "PROVISIONED"}, "RetentionPeriodHours": 48,
	})
	s.template.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), map[string]any{"AlarmName": "zoomwatch-dev-LogDropOff", "Period": 12 * 3600})
	s.template.HasResourceProperties(jsii.String("AWS::Events::Rule"), map[string]any{"ScheduleExpression": "rate(10 minutes)"})
	s.template.HasResourceProperties(jsii.String("AWS::Lambda::EventSourceMapping"), map[string]any{"BatchSize": 50})
	s.template.AllResourcesProperties(jsii.String("AWS::Logs::LogGroup"), map[string]any{"RetentionInDays": 30})
	for typ, n := range map[string]float64{"AWS::SNS::Subscription": 0, "AWS::Chatbot::SlackChannelConfiguration": 0, "AWS::SecretsManager::Secret": 2} {
		s.template.ResourceCountIs(jsii.String(typ), jsii.Number(n))
	}
	assertions.Annotations_FromStack(s.stack.Stack).HasWarning(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("no alert destination.*")))
	checkLeastPrivilege(t, s)
}
