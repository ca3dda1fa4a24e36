package zoom

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestSecretRedactsEverywhere(t *testing.T) {
	t.Parallel()
	const value = "s3cr3t-value"
	s := Secret(value)
	creds := Credentials{AuthType: AuthOAuth, ClientID: "id", ClientSecret: s, RefreshToken: s, AccessToken: s}
	var jsonLog, textLog bytes.Buffer
	slog.New(slog.NewJSONHandler(&jsonLog, nil)).Info("m", "secret", s, "creds", creds)
	slog.New(slog.NewTextHandler(&textLog, nil)).Info("m", "secret", s, "creds", creds)
	marshalled, err := json.Marshal(creds)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := s.MarshalText()
	renderings := map[string]string{
		"%s": fmt.Sprintf("%s", s), "%v": fmt.Sprintf("%v", s), "%+v": fmt.Sprintf("%+v", creds),
		"%#v": fmt.Sprintf("%#v", creds), "%q": fmt.Sprintf("%q", s), "%x": fmt.Sprintf("%x", s),
		"%d": fmt.Sprintf("%d", s), "%10.3s": fmt.Sprintf("%10.3s", s), "String": s.String(),
		"json": string(marshalled), "text": string(text), "slog json": jsonLog.String(), "slog text": textLog.String(),
	}
	for how, got := range renderings {
		if strings.Contains(got, value) || strings.Contains(got, fmt.Sprintf("%x", value)) || !strings.Contains(got, "[redacted]") {
			t.Errorf("%s rendered %q", how, got)
		}
	}
	if s.Reveal() != value {
		t.Errorf("Reveal = %q", s.Reveal())
	}
}

func TestCredentialsFromStoredSecret(t *testing.T) {
	t.Parallel()
	raw := `{"auth_type":"oauth","client_id":"cid","client_secret":"cs","refresh_token":"rt","access_token":"at","expiry":"2026-01-15T13:00:00Z"}`
	var c Credentials
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		t.Fatal(err)
	}
	if c.ClientSecret.Reveal() != "cs" || c.RefreshToken.Reveal() != "rt" || c.AccessToken.Reveal() != "at" ||
		!c.Expiry.Equal(time.Date(2026, 1, 15, 13, 0, 0, 0, time.UTC)) || c.Validate() != nil {
		t.Errorf("decoded %#v (validate: %v)", c, c.Validate())
	}
}

func TestCredentialsValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		creds Credentials
		want  []string // every message fragment expected; none means valid
	}{
		{"s2s ok", Credentials{AuthType: AuthS2S, ClientID: "a", ClientSecret: "b", AccountID: "c"}, nil},
		{"oauth ok", Credentials{AuthType: AuthOAuth, ClientID: "a", ClientSecret: "b", RefreshToken: "r"}, nil},
		{"empty", Credentials{}, []string{"auth_type is missing", "client_id is missing", "client_secret is missing"}},
		{"unknown type", Credentials{AuthType: "jwt", ClientID: "a", ClientSecret: "b"}, []string{`auth_type "jwt"`}},
		{"s2s without account", Credentials{AuthType: AuthS2S, ClientID: "a", ClientSecret: "b"}, []string{"account_id is missing"}},
		{"oauth without refresh token", Credentials{AuthType: AuthOAuth, ClientID: "a", ClientSecret: "b", AccessToken: "x"}, []string{"refresh_token is missing"}},
		{"s2s without secret", Credentials{AuthType: AuthS2S, ClientID: "a", AccountID: "c"}, []string{"client_secret is missing"}},
	}
	for _, tc := range tests {
		err := tc.creds.Validate()
		if (err == nil) != (len(tc.want) == 0) {
			t.Errorf("%s: Validate = %v", tc.name, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not say %q", tc.name, err, w)
			}
		}
	}
}

func TestConfigDefaultsAndValidate(t *testing.T) {
	t.Parallel()
	d := Config{}.withDefaults()
	if d.APIBase != DefaultAPIBase || d.AuthBase != DefaultAuthBase || d.MaxRPS != 8 || d.PageSize != 300 ||
		d.Timeout != 30*time.Second || d.MaxRetries != 5 || d.HTTPClient == nil || d.Now == nil || d.Sleep == nil || d.Logger == nil {
		t.Errorf("defaults %+v", d)
	}
	if (Config{MaxRetries: -1}).withDefaults().MaxRetries != 0 {
		t.Error("negative MaxRetries does not mean no retries")
	}
	if got := (Config{APIBase: "http://127.0.0.1:1/v2/"}).withDefaults().APIBase; got != "http://127.0.0.1:1/v2" {
		t.Errorf("trailing slash kept: %s", got)
	}
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"zero", Config{}, ""},
		{"page size too big", Config{PageSize: 301}, "PageSize"},
		{"page size negative", Config{PageSize: -1}, "PageSize"},
		{"bad API base", Config{APIBase: "api.zoom.us/v2"}, "APIBase"},
		{"bad auth base", Config{AuthBase: "ftp://zoom.us"}, "AuthBase"},
		{"query in base", Config{APIBase: "https://api.zoom.us/v2?x=1"}, "APIBase"},
		{"rps negative", Config{MaxRPS: -1}, "MaxRPS"},
		{"rps huge", Config{MaxRPS: 5000}, "MaxRPS"},
		{"timeout negative", Config{Timeout: -time.Second}, "Timeout"},
		{"too many retries", Config{MaxRetries: 1000}, "MaxRetries"},
	}
	for _, tc := range tests {
		err := tc.cfg.Validate()
		if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: Validate = %v, want %q", tc.name, err, tc.want)
		}
	}
	if _, err := New(Config{PageSize: 1000}, &tokenList{tokens: []string{"x"}}); err == nil {
		t.Error("New accepted a bad config")
	}
	if _, err := New(Config{}, nil); err == nil {
		t.Error("New accepted a nil token source")
	}
}
