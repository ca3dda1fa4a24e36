package onboard

import (
	"strings"
	"testing"
)

func TestParseSetupToken(t *testing.T) {
	t.Parallel()
	const tok = "0123456789abcdefXYZ"
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{tok, tok, false},
		{" " + tok + "\n", tok, false},
		{`{"setup_token":"` + tok + `"}`, tok, false},
		{`{"token":"` + tok + `"}`, tok, false},
		{`{"setup_token":"short"}`, "", true},
		{`{"other":"` + tok + `"}`, "", true},
		{`{"setup_token":`, "", true},
		{"short", "", true},
		{"", "", true},
	}
	for _, tt := range tests {
		got, err := ParseSetupToken(tt.in)
		if (err != nil) != tt.wantErr || got.Reveal() != tt.want {
			t.Errorf("ParseSetupToken(%q) = %q, %v", tt.in, got.Reveal(), err)
		}
		if err != nil && strings.Contains(err.Error(), "short") {
			t.Errorf("error shows the secret's value: %v", err)
		}
	}
}
