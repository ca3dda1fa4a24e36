package funcurl

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// MaxBody bounds the request body read into memory. The onboarding pages are GETs; anything
// larger is refused before the handler sees it.
const MaxBody = 64 << 10

// Handler adapts h to the Function URL event. Errors are answers, not failures: a request that
// cannot be turned into an *http.Request gets a 400 response, so the Lambda invocation itself
// only fails when the runtime does.
func Handler(h http.Handler) func(ctx context.Context, ev events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
	return func(ctx context.Context, ev events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
		req, err := Request(ctx, ev)
		if err != nil {
			return events.LambdaFunctionURLResponse{
				StatusCode: http.StatusBadRequest,
				Headers:    map[string]string{"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"},
				Body:       "bad request\n",
			}, nil
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return Response(w.Result().StatusCode, w.Header(), w.Body.Bytes()), nil
	}
}

// Request builds the *http.Request of a Function URL event. The Host is the Function URL's
// domain as AWS reports it (requestContext.domainName), not a client-supplied header, so a
// handler may build absolute URLs from it.
func Request(ctx context.Context, ev events.LambdaFunctionURLRequest) (*http.Request, error) {
	method := ev.RequestContext.HTTP.Method
	if method == "" {
		return nil, fmt.Errorf("function URL event has no HTTP method")
	}
	path := ev.RawPath
	if path == "" {
		path = "/"
	}
	u := &url.URL{Path: path, RawQuery: ev.RawQueryString}
	if _, err := url.ParseQuery(ev.RawQueryString); err != nil {
		return nil, fmt.Errorf("function URL event query: %w", err)
	}
	var body []byte
	if ev.Body != "" {
		if ev.IsBase64Encoded {
			b, err := base64.StdEncoding.DecodeString(ev.Body)
			if err != nil {
				return nil, fmt.Errorf("function URL event body: %w", err)
			}
			body = b
		} else {
			body = []byte(ev.Body)
		}
	}
	if len(body) > MaxBody {
		return nil, fmt.Errorf("function URL event body is %d bytes, more than %d", len(body), MaxBody)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("function URL event: %w", err)
	}
	for k, v := range ev.Headers {
		// Function URLs join repeated headers with commas, which is how HTTP reads them too.
		req.Header.Set(k, v)
	}
	if len(ev.Cookies) > 0 {
		// Cookies arrive in their own field (payload 2.0), not in the headers.
		req.Header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	req.Host = ev.RequestContext.DomainName
	if req.Host == "" {
		req.Host = req.Header.Get("Host")
	}
	req.RemoteAddr = ev.RequestContext.HTTP.SourceIP
	req.RequestURI = u.RequestURI()
	return req, nil
}

// Response builds the Function URL response event. Set-Cookie headers go to the cookies field
// (one per cookie, as payload 2.0 wants); other repeated headers are joined with commas.
func Response(status int, h http.Header, body []byte) events.LambdaFunctionURLResponse {
	resp := events.LambdaFunctionURLResponse{StatusCode: status, Headers: map[string]string{}}
	for k, vs := range h {
		if http.CanonicalHeaderKey(k) == "Set-Cookie" {
			resp.Cookies = append(resp.Cookies, vs...)
			continue
		}
		resp.Headers[k] = strings.Join(vs, ", ")
	}
	if utf8.Valid(body) {
		resp.Body = string(body)
	} else {
		resp.Body, resp.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
	}
	return resp
}
