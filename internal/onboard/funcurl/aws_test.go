package funcurl_test

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/zoomwatch/zoomwatch/internal/awstest"
	"github.com/zoomwatch/zoomwatch/internal/onboard"
	"github.com/zoomwatch/zoomwatch/internal/onboard/ddbnonce"
	"github.com/zoomwatch/zoomwatch/internal/onboard/funcurl"
	"github.com/zoomwatch/zoomwatch/internal/secretstore"
	"github.com/zoomwatch/zoomwatch/internal/zoom"
	"github.com/zoomwatch/zoomwatch/internal/zoomsim"
)

type (
	eventRequest  = events.LambdaFunctionURLRequest
	eventResponse = events.LambdaFunctionURLResponse
)

// TestLambdaWiringAgainstEmulator wires the handler as functions/oauth does (the source's
// secret in Secrets Manager through secretstore, single-use states in the DynamoDB state table)
// and connects a source whose secret holds only the app's client id and secret, as an admin
// leaves it before connecting. Both Lambda "instances" share the stores, so a callback replayed
// on the second one is refused.
func TestLambdaWiringAgainstEmulator(t *testing.T) {
	sm := awstest.SecretsManager(t)
	db := awstest.DynamoDB(t)
	secretARN := awstest.Secret(t, sm, `{"auth_type":"oauth","client_id":"`+zoomsim.DefaultOAuthClientID+`","client_secret":"`+zoomsim.DefaultOAuthClientSecret+`"}`)
	table := awstest.StateTable(t, db)

	sim, err := zoomsim.New(zoomsim.Config{PerSecondLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	simSrv := httptest.NewServer(sim)
	t.Cleanup(simSrv.Close)

	const setup = "SETUP-0123456789abcdef-emulator"
	instance := func() func(context.Context, eventRequest) (eventResponse, error) {
		store, err := secretstore.New(sm, secretstore.Config{})
		if err != nil {
			t.Fatal(err)
		}
		nonces, err := ddbnonce.New(db, table)
		if err != nil {
			t.Fatal(err)
		}
		secrets := map[string]string{"main": secretARN}
		creds := store.Sources(secrets)
		h, err := onboard.New(onboard.Config{
			Zoom:        zoom.Config{AuthBase: simSrv.URL, APIBase: simSrv.URL + "/v2", MaxRPS: math.Inf(1)},
			Sources:     []string{"main"},
			Credentials: creds,
			Nonces:      nonces,
			SetupToken:  setup,
			Key:         onboard.DeriveKey(setup),
		})
		if err != nil {
			t.Fatal(err)
		}
		return funcurl.Handler(h)
	}
	first, second := instance(), instance()
	ctx := context.Background()

	ev := sampleEvent(t)
	ev.RawQueryString = url.Values{"source": {"main"}, "setup": {setup}}.Encode()
	start, err := first(ctx, ev)
	if err != nil || start.StatusCode != http.StatusFound {
		t.Fatalf("/start: %d %v:\n%s", start.StatusCode, err, start.Body)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	consent := get(t, noFollow, start.Headers["Location"])
	m := regexp.MustCompile(`name="request_id" value="([^"]+)"`).FindStringSubmatch(consent)
	if m == nil {
		t.Fatalf("consent page:\n%s", consent)
	}
	resp, err := noFollow.PostForm(simSrv.URL+"/oauth/authorize", url.Values{"request_id": {m[1]}, "decision": {"allow"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cb, _ := url.Parse(resp.Header.Get("Location"))

	ev = sampleEvent(t)
	ev.RawPath, ev.RawQueryString = "/callback", cb.RawQuery
	ev.Cookies = []string{strings.SplitN(start.Cookies[0], ";", 2)[0]}
	done, err := first(ctx, ev)
	if err != nil || done.StatusCode != http.StatusOK || !strings.Contains(done.Body, "Zoom is connected") {
		t.Fatalf("/callback: %d %v:\n%s", done.StatusCode, err, done.Body)
	}

	// The secret now holds the tokens, in the shape the poller reads.
	out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretARN)})
	if err != nil {
		t.Fatal(err)
	}
	var stored map[string]any
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &stored); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"refresh_token", "access_token", "expiry"} {
		if s, _ := stored[k].(string); s == "" {
			t.Errorf("secret lacks %s after connecting", k)
		}
	}
	if stored["auth_type"] != "oauth" || stored["client_id"] != zoomsim.DefaultOAuthClientID {
		t.Errorf("secret identity changed: auth_type %v client_id %v", stored["auth_type"], stored["client_id"])
	}

	// The same callback on another instance: the nonce is already consumed in DynamoDB.
	replay, err := second(ctx, ev)
	if err != nil || replay.StatusCode != http.StatusBadRequest || !strings.Contains(replay.Body, "already used") {
		t.Fatalf("replay on another instance: %d %v:\n%s", replay.StatusCode, err, replay.Body)
	}
}
