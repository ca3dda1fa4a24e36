// Package awstest connects integration tests to the local AWS emulator that `make test`
// starts (tools/with-kumo.sh), through the real AWS SDK for Go v2 (DESIGN.md "Tests").
//
// Config returns an aws.Config pointed at AWS_ENDPOINT_URL. Without an emulator (a plain
// `go test`), integration tests skip with a message saying how to run them; when
// ZOOMWATCH_EMULATOR=1 says one was started but it cannot be reached, they fail, so CI never
// passes by skipping. The client constructors apply the settings the emulator needs (no
// response checksums from DynamoDB), and the resource helpers create a uniquely named table,
// secret, stream, topic or queue per test and delete it when the test ends, so tests can run
// in parallel against one emulator.
package awstest
