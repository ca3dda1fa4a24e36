// Package funcurl serves an http.Handler behind a Lambda Function URL: it turns the Function
// URL's request event (payload format 2.0) into an *http.Request, runs the handler, and turns
// what the handler wrote into the response event. It is how functions/oauth serves package
// onboard's pages without any logic of its own in main.
package funcurl
