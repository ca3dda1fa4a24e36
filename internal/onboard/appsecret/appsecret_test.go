package appsecret_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/zoomwatch/zoomwatch/internal/awstest"
	"github.com/zoomwatch/zoomwatch/internal/onboard"
	"github.com/zoomwatch/zoomwatch/internal/onboard/appsecret"
	"github.com/zoomwatch/zoomwatch/internal/zoom"
)

var _ onboard.CredentialStore = (*appsecret.Store)(nil)

type recordingSaver struct {
	source string
	creds  zoom.Credentials
}

func (r *recordingSaver) SaveCredentials(_ context.Context, source string, c zoom.Credentials) error {
	r.source, r.creds = source, c
	return nil
}

func TestCredentials(t *testing.T) {
	sm := awstest.SecretsManager(t)
	secrets := map[string]string{
		"fresh":     awstest.Secret(t, sm, `{"auth_type":"oauth","client_id":"cid","client_secret":"csecret"}`),
		"untyped":   awstest.Secret(t, sm, `{"client_id":"cid","client_secret":"csecret"}`),
		"connected": awstest.Secret(t, sm, `{"auth_type":"oauth","client_id":"cid","client_secret":"csecret","refresh_token":"rt","access_token":"at","expiry":"2026-11-25T16:00:00Z"}`),
		"empty":     awstest.Secret(t, sm, `{}`),
		"s2s":       awstest.Secret(t, sm, `{"auth_type":"s2s","client_id":"cid","client_secret":"csecret","account_id":"acc"}`),
		"garbage":   awstest.Secret(t, sm, `not json csecret`),
	}
	saver := &recordingSaver{}
	s, err := appsecret.New(sm, secrets, saver)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, src := range []string{"fresh", "untyped", "connected"} {
		c, err := s.Credentials(ctx, src)
		if err != nil || c.AuthType != zoom.AuthOAuth || c.ClientID != "cid" || c.ClientSecret.Reveal() != "csecret" || !c.RefreshToken.IsZero() {
			t.Errorf("%s: %+v, %v", src, c, err)
		}
	}
	if c, err := s.Credentials(ctx, "empty"); err != nil || c.ClientID != "" {
		t.Errorf("empty: %+v, %v (want no error: the handler asks for the app's credentials)", c, err)
	}
	for _, src := range []string{"s2s", "garbage"} {
		_, err := s.Credentials(ctx, src)
		var inv *appsecret.InvalidAppSecretError
		if !errors.As(err, &inv) {
			t.Errorf("%s: %v, want *InvalidAppSecretError", src, err)
		} else if strings.Contains(err.Error(), "csecret") {
			t.Errorf("%s: error shows the secret: %v", src, err)
		}
	}
	if _, err := s.Credentials(ctx, "unknown"); err == nil {
		t.Error("unknown source: no error")
	}
	c := zoom.Credentials{AuthType: zoom.AuthOAuth, ClientID: "cid"}
	if err := s.SaveCredentials(ctx, "fresh", c); err != nil || saver.source != "fresh" || saver.creds.ClientID != "cid" {
		t.Errorf("save: %v %+v", err, saver)
	}
}

func TestNew(t *testing.T) {
	if _, err := appsecret.New(nil, nil, &recordingSaver{}); err == nil {
		t.Error("nil client accepted")
	}
}
