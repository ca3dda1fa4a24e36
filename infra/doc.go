// Command infra is the CDK app that deploys zoomwatch into an AWS account: the schedule and the
// poller, the event stream and the detector, the state table, the per-source secrets, the alert
// and ops topics (email, Slack through AWS Chatbot), the tunables in SSM, the OAuth setup
// function behind a Function URL, and the alarms and dashboard that say whether it all works.
//
// `cdk synth` and `cdk deploy` run it from the repository root (cdk.json); every setting is a
// CDK context value (config.go), checked before anything is built. The functions are the
// binaries `make build` leaves in dist/, so synthesis needs neither Docker nor network.
// docs/deploy.md is the deployment guide; DESIGN.md describes the architecture.
package main
