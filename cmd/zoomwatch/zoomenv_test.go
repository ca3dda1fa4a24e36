package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/zoomwatch/zoomwatch/internal/local"
	"github.com/zoomwatch/zoomwatch/internal/zoom"
)

func TestEnvCredentials(t *testing.T) {
	t.Parallel()
	connected := local.NewTokens(t.TempDir(), "main")
	exp := time.Date(2026, 11, 25, 13, 0, 0, 0, time.UTC)
	if err := connected.SaveToken(context.Background(), &oauth2.Token{AccessToken: "a", RefreshToken: "r", Expiry: exp}); err != nil {
		t.Fatal(err)
	}
	unconnected := local.NewTokens(t.TempDir(), "main")
	tests := []struct {
		name    string
		env     map[string]string
		tokens  *local.Tokens
		ok      bool
		auth    zoom.AuthType
		wantErr string
	}{
		{name: "none: simulator", env: nil, tokens: unconnected},
		{name: "server-to-server", env: map[string]string{"ZOOM_ACCOUNT_ID": "acc", "ZOOM_CLIENT_ID": "id", "ZOOM_CLIENT_SECRET": "s"}, tokens: unconnected, ok: true, auth: zoom.AuthS2S},
		{name: "partial", env: map[string]string{"ZOOM_ACCOUNT_ID": "acc"}, tokens: unconnected, wantErr: "set ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET too"},
		{name: "oauth connected", env: map[string]string{"ZOOM_CLIENT_ID": "id", "ZOOM_CLIENT_SECRET": "s"}, tokens: connected, ok: true, auth: zoom.AuthOAuth},
		{name: "oauth not connected", env: map[string]string{"ZOOM_CLIENT_ID": "id", "ZOOM_CLIENT_SECRET": "s"}, tokens: unconnected, wantErr: "run zoomwatch connect first"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, ok, err := envCredentials(func(k string) string { return tc.env[k] }, tc.tokens)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to say %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || ok != tc.ok || (ok && c.AuthType != tc.auth) {
				t.Fatalf("got %v %v %v", c.AuthType, ok, err)
			}
			if tc.auth == zoom.AuthOAuth && (c.RefreshToken.Reveal() != "r" || !c.Expiry.Equal(exp)) {
				t.Errorf("connected tokens not used: %+v", c)
			}
		})
	}
}
