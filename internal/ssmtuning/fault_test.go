package ssmtuning_test

import (
	"errors"
	"net/http"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// brokenClient fails every request while *broken is true, like an SSM endpoint that stopped
// answering; otherwise it passes requests to the SDK's own client.
type brokenClient struct {
	next   ssm.HTTPClient
	mu     *sync.Mutex
	broken *bool
}

func (c brokenClient) Do(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	b := *c.broken
	c.mu.Unlock()
	if b {
		return nil, errors.New("connection refused (injected)")
	}
	return c.next.Do(r)
}

// breakable wraps next in a brokenClient.
func breakable(next ssm.HTTPClient, mu *sync.Mutex, broken *bool) ssm.HTTPClient {
	if next == nil {
		next = http.DefaultClient
	}
	return brokenClient{next: next, mu: mu, broken: broken}
}
