package main

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawscloudwatch"
	"github.com/aws/jsii-runtime-go"
)

// Product metric names, as internal/metrics writes them in Embedded Metric Format under
// MetricsNamespace, each with a dimension set of exactly [Stage] besides the finer ones, so the
// alarms and the dashboard see one series per stage.
const (
	MetricEventsPolled      = "EventsPolled"
	MetricAuthFailures      = "AuthFailures"
	MetricTokenSaveFailures = "TokenSaveFailures"
	MetricPollLag           = "PollLagSeconds"
	MetricRateLimited       = "RateLimited"
	MetricEventsEvaluated   = "EventsEvaluated"
	MetricAlerts            = "Alerts"
	MetricRuleErrors        = "RuleErrors"
	MetricPoisonRecords     = "PoisonRecords"
	MetricSightingsLearned  = "SightingsLearned"
)

// iteratorAgeLimit is how far the detector may fall behind the stream before ops hear of it.
const iteratorAgeLimitMinutes = 15

// addDetectorEventSource wires the stream to the detector. It is the L1 resource because the
// L2 event source grants its own, broader permissions (kms:GenerateDataKey*, sqs:Get*); the
// detector's role already holds exactly what the mapping needs.
func (s *Stack) addDetectorEventSource() {
	esm := awslambda.NewCfnEventSourceMapping(s.Stack, jsii.String("DetectorEventSource"), &awslambda.CfnEventSourceMappingProps{
		FunctionName:     s.Detector.FunctionName(),
		EventSourceArn:   s.Stream.StreamArn(),
		StartingPosition: jsii.String("TRIM_HORIZON"),
		BatchSize:        jsii.Number(float64(s.Config.BatchSize)),
		// Waits for fuller batches, trading a few seconds of latency for fewer invocations.
		MaximumBatchingWindowInSeconds: jsii.Number(float64(s.Config.BatchWindowSeconds)),
		// The detector reports the records it could not process; the mapping retries from the
		// first of them and splits a failing batch, so one poison record cannot hold a shard.
		FunctionResponseTypes:      jsii.Strings("ReportBatchItemFailures"),
		BisectBatchOnFunctionError: jsii.Bool(true),
		MaximumRetryAttempts:       jsii.Number(detectorRetryAttempts),
		// Within the stream's retention, so a batch sent to the DLQ can still be replayed.
		MaximumRecordAgeInSeconds: jsii.Number(detectorMaxRecordAgeHr * 3600),
		DestinationConfig: &awslambda.CfnEventSourceMapping_DestinationConfigProperty{
			OnFailure: &awslambda.CfnEventSourceMapping_OnFailureProperty{Destination: s.DLQ.QueueArn()},
		},
	})
	// The mapping checks the role's permissions when it is created.
	esm.Node().AddDependency(s.Detector.Role())
}

func (s *Stack) productMetric(name, statistic string, period awscdk.Duration) awscloudwatch.Metric {
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:     jsii.String(MetricsNamespace),
		MetricName:    jsii.String(name),
		DimensionsMap: &map[string]*string{"Stage": jsii.String(s.Config.Stage)},
		Statistic:     jsii.String(statistic),
		Period:        period,
	})
}

func (s *Stack) addAlarmsAndDashboard() {
	cfg := s.Config
	five := awscdk.Duration_Minutes(jsii.Number(5))
	action := awscloudwatchactions.NewSnsAction(s.OpsTopic)
	var alarms []interfacesawscloudwatch.IAlarmRef
	alarm := func(id, desc string, metric awscloudwatch.IMetric, op awscloudwatch.ComparisonOperator, threshold float64, missing awscloudwatch.TreatMissingData) {
		a := awscloudwatch.NewAlarm(s.Stack, jsii.String(id+"Alarm"), &awscloudwatch.AlarmProps{
			AlarmName:          jsii.String(fmt.Sprintf("zoomwatch-%s-%s", cfg.Stage, id)),
			AlarmDescription:   jsii.String(desc),
			Metric:             metric,
			ComparisonOperator: op,
			Threshold:          jsii.Number(threshold),
			EvaluationPeriods:  jsii.Number(1),
			TreatMissingData:   missing,
		})
		a.AddAlarmAction(action)
		a.AddOkAction(action)
		alarms = append(alarms, a)
	}

	alarm("LogDropOff",
		fmt.Sprintf("No Zoom event polled in %d h: credentials, scopes, Zoom or the poller may be broken. Quiet accounts: raise dropOffHours.", cfg.DropOffHours),
		s.productMetric(MetricEventsPolled, "Sum", awscdk.Duration_Hours(jsii.Number(float64(cfg.DropOffHours)))),
		awscloudwatch.ComparisonOperator_LESS_THAN_THRESHOLD, 1,
		// No data means the poller wrote nothing at all: that is the drop-off itself.
		awscloudwatch.TreatMissingData_BREACHING)
	alarm("AuthFailures",
		"Zoom rejected credentials or a token refresh: reconnect the source (docs/deploy.md)",
		s.productMetric(MetricAuthFailures, "Sum", five),
		awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD, 1,
		awscloudwatch.TreatMissingData_NOT_BREACHING)
	alarm("TokenSaveFailures",
		"A rotated Zoom refresh token could not be saved to Secrets Manager: the source may need reconnecting",
		s.productMetric(MetricTokenSaveFailures, "Sum", five),
		awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD, 1,
		awscloudwatch.TreatMissingData_NOT_BREACHING)
	alarm("PollerErrors",
		"The poller function failed; see its log group",
		s.Poller.MetricErrors(&awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: awscdk.Duration_Minutes(jsii.Number(15))}),
		awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD, 1,
		awscloudwatch.TreatMissingData_NOT_BREACHING)
	alarm("DetectorIteratorAge",
		fmt.Sprintf("The detector is more than %d minutes behind the event stream", iteratorAgeLimitMinutes),
		s.Detector.Metric(jsii.String("IteratorAge"), &awscloudwatch.MetricOptions{Statistic: jsii.String("Maximum"), Period: five}),
		awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, iteratorAgeLimitMinutes*60*1000,
		awscloudwatch.TreatMissingData_NOT_BREACHING)
	alarm("DetectorDLQ",
		"Event batches the detector gave up on; replay them from the stream (docs/deploy.md)",
		s.DLQ.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Statistic: jsii.String("Maximum"), Period: five}),
		awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, 0,
		awscloudwatch.TreatMissingData_NOT_BREACHING)

	hour := awscdk.Duration_Hours(jsii.Number(1))
	graph := func(title string, metrics ...awscloudwatch.IMetric) awscloudwatch.IWidget {
		return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{Title: jsii.String(title), Left: &metrics, Width: jsii.Number(8), Height: jsii.Number(6)})
	}
	fnMetric := func(fn awslambda.Function, name, stat string) awscloudwatch.IMetric {
		return fn.Metric(jsii.String(name), &awscloudwatch.MetricOptions{Statistic: jsii.String(stat), Period: five, Label: jsii.String(*fn.Node().Id() + " " + name)})
	}
	awscloudwatch.NewDashboard(s.Stack, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DashboardName: jsii.String("zoomwatch-" + cfg.Stage),
		Widgets: &[]*[]awscloudwatch.IWidget{
			{
				graph("Zoom events polled per hour", s.productMetric(MetricEventsPolled, "Sum", hour)),
				graph("Poll lag (seconds behind Zoom)", s.productMetric(MetricPollLag, "Maximum", five)),
				graph("Zoom auth failures and rate limiting", s.productMetric(MetricAuthFailures, "Sum", five),
					s.productMetric(MetricTokenSaveFailures, "Sum", five), s.productMetric(MetricRateLimited, "Sum", five)),
			},
			{
				graph("Events evaluated per hour", s.productMetric(MetricEventsEvaluated, "Sum", hour)),
				graph("Alerts published, and first sightings learned without one, per hour", s.productMetric(MetricAlerts, "Sum", hour), s.productMetric(MetricSightingsLearned, "Sum", hour)),
				graph("Rule errors and undecodable records", s.productMetric(MetricRuleErrors, "Sum", five), s.productMetric(MetricPoisonRecords, "Sum", five)),
			},
			{
				graph("Function errors", fnMetric(s.Poller, "Errors", "Sum"), fnMetric(s.Detector, "Errors", "Sum"), fnMetric(s.OAuth, "Errors", "Sum")),
				graph("Detector iterator age (ms)", fnMetric(s.Detector, "IteratorAge", "Maximum")),
				graph("Detector DLQ depth", s.DLQ.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Statistic: jsii.String("Maximum"), Period: five})),
			},
			{
				awscloudwatch.NewAlarmStatusWidget(&awscloudwatch.AlarmStatusWidgetProps{Title: jsii.String("Health alarms"), Alarms: &alarms, Width: jsii.Number(24), Height: jsii.Number(4)}),
			},
		},
	})
}
