package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func strconvItoa(i int) string { return strconv.Itoa(i) }

func TestRulesTest(t *testing.T) {
	t.Parallel()
	failing := filepath.Join(t.TempDir())
	data, err := os.ReadFile("testdata/detect/two_factor.yaml")
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(data), `title: "admin@x.io disabled two-factor sign-in"`, `title: "someone else"`, 1)
	if err := os.WriteFile(filepath.Join(failing, "two_factor.yaml"), []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	badDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(badDir, "x.yaml"), []byte("id: A\nname: a\nlog_types: [Zoom.Chat]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		code       int
		wantOut    []string
		wantStderr string
	}{
		{"shipped pack", []string{"rules", "test"}, 0, []string{"PASS ", " failed"}, ""},
		{"directory passes", []string{"rules", "test", "testdata/detect"}, 0, []string{"PASS Test.Two.Factor.Authentication.Disabled (2/2)", "2 rules, 4 tests: 4 passed, 0 failed"}, ""},
		{"failing test", []string{"rules", "test", failing}, 1, []string{"FAIL Test.Two.Factor.Authentication.Disabled (1/2)", `title "admin@x.io disabled two-factor sign-in", want "someone else"`, "1 rules, 2 tests: 1 passed, 1 failed"}, "1 of 2 rule tests failed"},
		{"load error names file and line", []string{"rules", "test", badDir}, 1, nil, `x.yaml:3: unknown log type "Zoom.Chat"`},
		{"list", []string{"rules", "list", "--rules", "testdata/detect"}, 0, []string{"ID", "SEVERITY", "Test.Sign.In.From.Many.IPs", "MEDIUM", "Zoom.Activity", "true"}, ""},
		{"empty directory", []string{"rules", "test", t.TempDir()}, 1, nil, "no rule files"},
		{"no subcommand", []string{"rules"}, 2, nil, "usage: zoomwatch rules"},
		{"unknown subcommand", []string{"rules", "fix"}, 2, nil, `unknown rules subcommand "fix"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runCLI(t, "", tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout, stderr)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
			if tt.wantStderr != "" && !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr %q lacks %q", stderr, tt.wantStderr)
			}
		})
	}
}
