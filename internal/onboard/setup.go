package onboard

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/zoomwatch/zoomwatch/internal/zoom"
)

// ParseSetupToken reads the deployment's setup token from its secret's value: either the bare
// token, or a JSON object with a "setup_token" (or "token") field, which is what Secrets
// Manager's generated secrets look like. The error never contains the value.
func ParseSetupToken(secretValue string) (zoom.Secret, error) {
	v := strings.TrimSpace(secretValue)
	if strings.HasPrefix(v, "{") {
		var obj struct {
			SetupToken string `json:"setup_token"`
			Token      string `json:"token"`
		}
		if err := json.Unmarshal([]byte(v), &obj); err != nil {
			return "", fmt.Errorf("setup secret is a JSON object that cannot be read (want {\"setup_token\": \"…\"})")
		}
		v = obj.SetupToken
		if v == "" {
			v = obj.Token
		}
		v = strings.TrimSpace(v)
	}
	if len(v) < MinSetupTokenLen {
		return "", fmt.Errorf("setup secret holds no setup token of at least %d characters", MinSetupTokenLen)
	}
	return zoom.Secret(v), nil
}
