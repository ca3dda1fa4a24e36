package pipeline

import (
	"errors"
	"strings"
	"testing"
)

func TestReadEnv(t *testing.T) {
	t.Parallel()
	base := map[string]string{
		"ZOOMWATCH_STAGE": "prod", "STATE_TABLE": "t",
		"SOURCES": `[{"id":"main","label":"Main","auth_type":"s2s","secret_id":"arn:aws:secretsmanager:us-east-1:1:secret:x"}]`,
	}
	tests := []struct {
		name    string
		edit    map[string]string
		wantVar string
	}{
		{"valid", nil, ""},
		{"no stage", map[string]string{"ZOOMWATCH_STAGE": ""}, "ZOOMWATCH_STAGE"},
		{"bad sources json", map[string]string{"SOURCES": "[{"}, "SOURCES"},
		{"bad auth type", map[string]string{"SOURCES": `[{"id":"a","auth_type":"jwt","secret_id":"s"}]`}, "SOURCES"},
		{"duplicate source", map[string]string{"SOURCES": `[{"id":"a","auth_type":"s2s","secret_id":"s"},{"id":"a","auth_type":"s2s","secret_id":"s"}]`}, "SOURCES"},
		{"bad level", map[string]string{"LOG_LEVEL": "loud"}, "LOG_LEVEL"},
		{"bad prefix", map[string]string{"SSM_PREFIX": "zoomwatch"}, "SSM_PREFIX"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{}
			for k, v := range base {
				env[k] = v
			}
			for k, v := range tt.edit {
				env[k] = v
			}
			e, err := ReadEnv(func(k string) string { return env[k] })
			if tt.wantVar == "" {
				if err != nil {
					t.Fatalf("ReadEnv: %v", err)
				}
				if e.SSMPrefix != "/zoomwatch/prod/" || len(e.Sources) != 1 {
					t.Errorf("unexpected env %+v", e)
				}
				return
			}
			var ee *EnvError
			if !errors.As(err, &ee) || ee.Var != tt.wantVar {
				t.Fatalf("error = %v, want EnvError for %s", err, tt.wantVar)
			}
		})
	}
}

func TestRequire(t *testing.T) {
	t.Parallel()
	err := Env{StreamName: "s"}.Require("STREAM_NAME", "OPS_TOPIC_ARN", "SOURCES")
	if err == nil || !strings.Contains(err.Error(), "OPS_TOPIC_ARN") || !strings.Contains(err.Error(), "SOURCES") || strings.Contains(err.Error(), "STREAM_NAME") {
		t.Errorf("Require = %v", err)
	}
}
