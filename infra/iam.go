package main

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2/awschatbot"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/jsii-runtime-go"
)

// The exact API calls each function makes. The AWS adapters of internal/ must stay within
// these lists; a call outside them fails with AccessDenied in the deployed stack.

// pollerStateActions are internal/dynamostate's cursor and lease calls: GetItem, Query of the
// dedupe entries, conditional PutItem/UpdateItem, DeleteItem to release a lease, and
// TransactWriteItems of Put and Update entries (authorized as PutItem and UpdateItem).
func pollerStateActions() []string {
	return []string{"dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
}

// detectorStateActions are internal/dynamostate's dedup, threshold and first-seen calls.
func detectorStateActions() []string {
	return []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}
}

// oauthStateActions are internal/onboard/ddbnonce's: one conditional PutItem marks a state used.
func oauthStateActions() []string {
	return []string{"dynamodb:PutItem"}
}

// streamReadActions are what a Lambda Kinesis event source mapping calls with the function's
// role (shared throughput, no enhanced fan-out).
func streamReadActions() []string {
	return []string{"kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards"}
}

func statement(sid string, actions []string, resources ...*string) awsiam.PolicyStatement {
	return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String(sid),
		Actions:   jsii.Strings(actions...),
		Resources: &resources,
	})
}

// keyUse lets a role use the stack's key only through the named services, for the data those
// services encrypt with it; it cannot decrypt anything directly.
func (s *Stack) keyUse(services ...string) awsiam.PolicyStatement {
	via := make([]*string, 0, len(services))
	for _, svc := range services {
		via = append(via, jsii.String(fmt.Sprintf("%s.%s.amazonaws.com", svc, *s.Region())))
	}
	return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("UseKeyThroughServices"),
		Actions:    jsii.Strings("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"),
		Resources:  &[]*string{s.Key.KeyArn()},
		Conditions: &map[string]any{"StringEquals": map[string]any{"kms:ViaService": via}},
	})
}

// paramPathArns are the ARNs GetParametersByPath checks for the stage prefix: the path itself
// and, recursively, the parameters below it.
func (s *Stack) paramPathArns() []*string {
	base := fmt.Sprintf("arn:%s:ssm:%s:%s:parameter/zoomwatch/%s", *s.Partition(), *s.Region(), *s.Account(), s.Config.Stage)
	return []*string{jsii.String(base), jsii.String(base + "/*")}
}

func (s *Stack) grantLeastPrivilege() {
	var sourceArns, oauthSourceArns []*string
	for _, src := range s.Config.Sources {
		arn := s.SourceSecrets[src.ID].SecretArn()
		sourceArns = append(sourceArns, arn)
		if src.AuthType == "oauth" {
			oauthSourceArns = append(oauthSourceArns, arn)
		}
	}
	table := s.Table.TableArn()

	add := func(fn awslambda.Function, sts ...awsiam.PolicyStatement) {
		for _, st := range sts {
			fn.Role().AddToPrincipalPolicy(st)
		}
	}

	add(s.Poller,
		// Read credentials; save a rotated refresh token before using the new access token.
		statement("SourceCredentials", []string{"secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"}, sourceArns...),
		statement("PollState", pollerStateActions(), table),
		statement("PutEvents", []string{"kinesis:PutRecords"}, s.Stream.StreamArn()),
		statement("ReadTuning", []string{"ssm:GetParametersByPath"}, s.paramPathArns()...),
		statement("PublishOps", []string{"sns:Publish"}, s.OpsTopic.TopicArn()),
		s.keyUse("secretsmanager", "dynamodb", "kinesis", "sns"),
	)

	add(s.Detector,
		statement("ReadEvents", streamReadActions(), s.Stream.StreamArn()),
		statement("DetectState", detectorStateActions(), table),
		statement("ReadTuning", []string{"ssm:GetParametersByPath"}, s.paramPathArns()...),
		statement("PublishAlerts", []string{"sns:Publish"}, s.AlertsTopic.TopicArn(), s.OpsTopic.TopicArn()),
		// The event source mapping sends failed batches' positions to the DLQ with this role.
		statement("FailedBatchesToDLQ", []string{"sqs:SendMessage"}, s.DLQ.QueueArn()),
		s.keyUse("kinesis", "dynamodb", "sns", "sqs"),
	)

	oauth := []awsiam.PolicyStatement{
		statement("ReadSetupToken", []string{"secretsmanager:GetSecretValue"}, s.SetupSecret.SecretArn()),
		statement("OAuthState", oauthStateActions(), table),
		s.keyUse("secretsmanager", "dynamodb"),
	}
	if len(oauthSourceArns) > 0 {
		// Client id/secret in, tokens out: only the sources that use the authorization code.
		oauth = append(oauth, statement("StoreSourceTokens", []string{"secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"}, oauthSourceArns...))
	}
	add(s.OAuth, oauth...)
}

// awschatbotSlack subscribes the Slack channel to both topics. Chatbot's role gets no
// policies; guard caps what channel members could do at nothing.
func awschatbotSlack(s *Stack, guard awsiam.IManagedPolicy) {
	awschatbot.NewSlackChannelConfiguration(s.Stack, jsii.String("Slack"), &awschatbot.SlackChannelConfigurationProps{
		SlackChannelConfigurationName: jsii.String("zoomwatch-" + s.Config.Stage),
		SlackWorkspaceId:              jsii.String(s.Config.SlackWorkspaceID),
		SlackChannelId:                jsii.String(s.Config.SlackChannelID),
		NotificationTopics:            &[]awssns.ITopic{s.AlertsTopic, s.OpsTopic},
		GuardrailPolicies:             &[]awsiam.IManagedPolicy{guard},
		LoggingLevel:                  awschatbot.LoggingLevel_ERROR,
	})
}
