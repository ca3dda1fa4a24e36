package faults

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
)

// Service IDs as the SDK clients name themselves, and the name this suite gives Zoom.
const (
	svcKinesis  = "Kinesis"
	svcDynamoDB = "DynamoDB"
	svcSecrets  = "Secrets Manager"
	svcSNS      = "SNS"
	svcZoom     = "Zoom"
)

// errCrashed is what a dead container's requests fail with: the process is gone.
var errCrashed = errors.New("container crashed")

// chaos answers a fraction of the AWS requests of the handlers' clients with throttling or a
// server error instead of sending them, as a service under load does. The SDK retryers must
// absorb most; the rest surface as handler errors a later invocation recovers from.
type chaos struct {
	mu       sync.Mutex
	rng      *rand.Rand
	rates    map[string]rates
	on       bool
	injected map[string]int // by "service kind"
	// faultedBodies keeps the bodies of DynamoDB requests that were refused, so a repeated
	// alert can be traced to an acknowledgement that never landed.
	faultedBodies []string
}

// rates are one service's fault rates per request.
type rates struct {
	throttle float64 // fraction answered 400 with the service's throttling error
	fail     float64 // fraction answered 500 or 503
}

func newChaos(seed uint64, perService map[string]rates) *chaos {
	return &chaos{rng: rand.New(rand.NewPCG(seed, 0xc4a05)), rates: perService, injected: map[string]int{}}
}

func (c *chaos) set(on bool) {
	c.mu.Lock()
	c.on = on
	c.mu.Unlock()
}

// inject returns the fault answer for req, or nil to send it.
func (c *chaos) inject(req *http.Request, svc string, body []byte) *http.Response {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.injected[svc+" requests"]++
	rt, ok := c.rates[svc]
	if !c.on || !ok {
		return nil
	}
	// The random draw, except that each service's 2nd request is throttled and its 4th fails,
	// so every run meets both faults on every service however few calls it makes.
	r := c.rng.Float64()
	switch c.injected[svc+" requests"] {
	case 2:
		r = 0
	case 4:
		r = rt.throttle
	}
	var status int
	var code, kind string
	switch {
	case r < rt.throttle:
		status, kind = http.StatusBadRequest, "throttle"
		switch svc {
		case svcKinesis:
			code = "ProvisionedThroughputExceededException"
		case svcDynamoDB:
			code = []string{"ThrottlingException", "ProvisionedThroughputExceededException"}[c.rng.IntN(2)]
		case svcSecrets:
			code = "ThrottlingException"
		case svcSNS:
			code = "Throttling"
		}
	case r < rt.throttle+rt.fail:
		kind = "5xx"
		if c.rng.IntN(2) == 0 {
			status, code = http.StatusInternalServerError, "InternalFailure"
			if svc == svcSNS {
				code = "InternalError"
			}
		} else {
			status, code = http.StatusServiceUnavailable, "ServiceUnavailable"
		}
	default:
		return nil
	}
	c.injected[svc+" "+kind]++
	if svc == svcDynamoDB {
		c.faultedBodies = append(c.faultedBodies, string(body))
	}
	return awsError(req, svc, status, code)
}

// faultedMentioning reports whether a refused DynamoDB request mentioned s.
func (c *chaos) faultedMentioning(s string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, b := range c.faultedBodies {
		if strings.Contains(b, s) {
			return true
		}
	}
	return false
}

func (c *chaos) total() (n int, byKind map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	byKind = map[string]int{}
	for k, v := range c.injected {
		byKind[k] = v
		n += v
	}
	return n, byKind
}

// awsError is an error answer in the service's protocol: JSON for Kinesis, DynamoDB and
// Secrets Manager, the query protocol's XML for SNS.
func awsError(req *http.Request, svc string, status int, code string) *http.Response {
	h := http.Header{}
	var body string
	if svc == svcSNS {
		typ := "Sender"
		if status >= 500 {
			typ = "Receiver"
		}
		h.Set("Content-Type", "text/xml")
		body = fmt.Sprintf(`<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>%s</Type><Code>%s</Code><Message>injected fault</Message></Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>`, typ, code)
	} else {
		ct := "application/x-amz-json-1.1"
		if svc == svcDynamoDB {
			ct = "application/x-amz-json-1.0"
		}
		h.Set("Content-Type", ct)
		h.Set("X-Amzn-Errortype", code)
		body = fmt.Sprintf(`{"__type":%q,"message":"injected fault"}`, code)
	}
	h.Set("X-Amzn-Requestid", "00000000-0000-0000-0000-000000000000")
	return &http.Response{
		StatusCode: status, Status: fmt.Sprintf("%d %s", status, http.StatusText(status)),
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Request: req,
	}
}

// crashPoint is where a container dies: at the nth request matching service, one of ops
// (empty: any) and whose body contains contains (empty: any).
type crashPoint struct {
	name     string
	service  string
	ops      []string // AWS operation names; for Zoom "token" or "report"
	contains string
	// after lets the request reach the service first: the work is done, the answer is lost.
	after bool
	nth   int
	// refresh makes the invocation start with every access token expired, so the container
	// refreshes (and so rotates and saves) the refresh token.
	refresh bool
	// dup marks the one crash that may leave duplicates in the stream: PutRecords landed and
	// the checkpoint was never written.
	dup bool
}

func (cp *crashPoint) matches(svc, op string, body []byte) bool {
	if cp.service != svc {
		return false
	}
	if len(cp.ops) > 0 {
		ok := false
		for _, o := range cp.ops {
			ok = ok || o == op
		}
		if !ok {
			return false
		}
	}
	return cp.contains == "" || bytes.Contains(body, []byte(cp.contains))
}

// transport is a container's HTTP layer: it refuses everything once the container is dead,
// crashes it at its armed crash point, and lets chaos answer for AWS.
type transport struct {
	c    *container
	zoom bool
	base http.RoundTripper
}

func (tr *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	c := tr.c
	if c.isDead() {
		return nil, errCrashed
	}
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
		req.Body = io.NopCloser(bytes.NewReader(b))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	svc, op := svcZoom, "report"
	if tr.zoom {
		if strings.HasPrefix(req.URL.Path, "/oauth/") {
			op = "token"
		}
	} else {
		svc, op = awsmiddleware.GetServiceID(req.Context()), awsmiddleware.GetOperationName(req.Context())
	}
	if cp := c.hit(svc, op, body); cp != nil {
		if !cp.after {
			c.h.crashed(cp, svc, op, body)
			c.die()
			return nil, errCrashed
		}
		resp, err := tr.base.RoundTrip(req)
		if err == nil {
			// Read the whole answer: the service finished its work before the process died.
			b, rerr := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			resp.Body = io.NopCloser(bytes.NewReader(b))
			err = rerr
		}
		c.h.crashed(cp, svc, op, body)
		c.die()
		if tr.zoom && op == "report" && err == nil {
			return resp, nil // the page is in memory; nothing after it leaves the process
		}
		return nil, errCrashed
	}
	if !tr.zoom {
		if resp := c.h.chaos.inject(req, svc, body); resp != nil {
			return resp, nil
		}
	}
	resp, err := tr.base.RoundTrip(req)
	if err == nil && resp.StatusCode == http.StatusOK && svc == svcSNS && op == "Publish" {
		c.h.published(body)
	}
	return resp, err
}

// publishedAlert reads the alert ID and rule out of an SNS Publish request body (the message
// is the alert JSON, or a per-protocol JSON map holding it).
func publishedAlert(body []byte) (id, rule string) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return "", ""
	}
	msg := form.Get("Message")
	if id, rule := alertOf(msg); id != "" || rule != "" {
		return id, rule
	}
	var perProtocol map[string]string
	if json.Unmarshal([]byte(msg), &perProtocol) == nil {
		for _, m := range perProtocol {
			if id, rule := alertOf(m); id != "" || rule != "" {
				return id, rule
			}
		}
	}
	return "", ""
}

func alertOf(msg string) (id, rule string) {
	var a struct {
		ID     string `json:"id"`
		RuleID string `json:"rule_id"`
	}
	if json.Unmarshal([]byte(msg), &a) != nil {
		return "", ""
	}
	return a.ID, a.RuleID
}
