package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/zoomwatch/zoomwatch/internal/zoomsim"
)

// TestVerify runs `zoomwatch verify` against simulators configured to fail in each way a real
// account can.
func TestVerify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		sim     zoomsim.Config
		secret  string // the client secret in ZOOM_CLIENT_SECRET
		wantErr bool
		want    []string
	}{
		{
			name: "ok", secret: zoomsim.DefaultClientSecret,
			want: []string{"PASS  credentials", "PASS  scopes          report:read:admin", "PASS  Zoom.Operation", "PASS  Zoom.Activity", "verdict: OK"},
		},
		{
			name: "granular scopes", secret: zoomsim.DefaultClientSecret,
			sim:  zoomsim.Config{Scopes: []string{"report:read:operation_logs:admin", "report:read:user_activities:admin"}},
			want: []string{"PASS  scopes", "PASS  Zoom.Operation", "PASS  Zoom.Activity", "verdict: OK"},
		},
		{
			name: "wrong secret", secret: "wrong", wantErr: true,
			want: []string{"FAIL  credentials", "invalid_client", "fix ZOOM_CLIENT_ID / ZOOM_CLIENT_SECRET", "SKIP  scopes", "verdict: FAILED (1 of 3 checks)"},
		},
		{
			name: "missing scope", secret: zoomsim.DefaultClientSecret, wantErr: true,
			sim:  zoomsim.Config{Scopes: []string{"report:read:operation_logs:admin"}},
			want: []string{"FAIL  scopes          missing report:read:user_activities:admin", "PASS  Zoom.Operation", "FAIL  Zoom.Activity", "4700", "verdict: FAILED (2 of 4 checks)"},
		},
		{
			name: "no report permission", secret: zoomsim.DefaultClientSecret, wantErr: true,
			sim:  zoomsim.Config{NoReportPermission: true},
			want: []string{"PASS  scopes", "FAIL  Zoom.Operation", "admin rights to view reports", "verdict: FAILED (2 of 4 checks)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.sim.PerSecondLimit = -1
			sim, err := zoomsim.New(tt.sim)
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(sim)
			t.Cleanup(srv.Close)
			env := map[string]string{
				"ZOOM_ACCOUNT_ID": zoomsim.DefaultAccountID, "ZOOM_CLIENT_ID": zoomsim.DefaultClientID,
				"ZOOM_CLIENT_SECRET": tt.secret, "ZOOM_AUTH_BASE": srv.URL, "ZOOM_API_BASE": srv.URL + "/v2",
			}
			var stdout, stderr bytes.Buffer
			err = verify(context.Background(), streams{stdout: &stdout, stderr: &stderr}, nil, func(k string) string { return env[k] })
			if (err != nil) != tt.wantErr {
				t.Fatalf("err %v, wantErr %v\n%s", err, tt.wantErr, stdout.String())
			}
			var ue *usageError
			if errors.As(err, &ue) {
				t.Fatalf("a failed check is a usage error: %v", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout.String())
				}
			}
			if strings.Contains(stdout.String()+stderr.String(), tt.secret) && tt.secret != "wrong" {
				t.Error("output shows the client secret")
			}
		})
	}
}

func TestVerifySimulatedAndUsage(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	none := func(string) string { return "" }
	if err := verify(context.Background(), streams{stdout: &out, stderr: io.Discard}, []string{"--simulate"}, none); err != nil {
		t.Fatalf("--simulate: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "the simulated Zoom account") || !strings.Contains(out.String(), "verdict: OK") {
		t.Errorf("stdout:\n%s", out.String())
	}
	for _, args := range [][]string{nil, {"--timeout", "0s", "--simulate"}, {"--simulate", "x"}, {"--bogus"}} {
		err := verify(context.Background(), streams{stdout: io.Discard, stderr: io.Discard}, args, none)
		var ue *usageError
		if !errors.As(err, &ue) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}
