package event

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseOperationDetail(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want Detail
	}{
		{
			in:   "Security  - Sign in with Two-Factor Authentication: from On to Off",
			want: Detail{Object: "Security", Setting: "Sign in with Two-Factor Authentication", From: "On", To: "Off", Parsed: true},
		},
		{
			in:   "Update User bart@x.io  - User Role: from Member to Admin",
			want: Detail{Object: "Update User bart@x.io", Setting: "User Role", From: "Member", To: "Admin", TargetUser: "bart@x.io", Role: "Admin", Parsed: true},
		},
		{
			in:   "Change Role  - Homer@Springfield.example: from Member to Co-Owner",
			want: Detail{Object: "Change Role", From: "Member", To: "Co-Owner", TargetUser: "homer@springfield.example", Role: "Co-Owner", Parsed: true},
		},
		{
			in:   "Edit Group Springfield  - Personal Meeting ID (PMI) Passcode: from On to Off",
			want: Detail{Object: "Edit Group Springfield", Setting: "Personal Meeting ID (PMI) Passcode", From: "On", To: "Off", Group: "Springfield", Parsed: true},
		},
		{
			in:   "delete user - user2@example.com",
			want: Detail{Object: "delete user", TargetUser: "user2@example.com", Parsed: true},
		},
		{
			in:   "Add Role  - Auditor",
			want: Detail{Object: "Add Role", Role: "Auditor", Parsed: true},
		},
		{
			in:   "Edit Role Billing Admin  - Privileges: from View to View, Edit",
			want: Detail{Object: "Edit Role Billing Admin", Setting: "Privileges", From: "View", To: "View, Edit", Role: "Billing Admin", Parsed: true},
		},
		{
			// One space before the dash and extra spaces around the values.
			in:   "Security - Automatically sign users out after a specified time:  from On  to  Off ",
			want: Detail{Object: "Security", Setting: "Automatically sign users out after a specified time", From: "On", To: "Off", Parsed: true},
		},
		{
			in:   "something Zoom never documented",
			want: Detail{Setting: "something Zoom never documented"},
		},
		{in: "", want: Detail{}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			tt.want.Text = tt.in
			if got := ParseOperationDetail(tt.in); got != tt.want {
				t.Errorf("ParseOperationDetail(%q)\n got %+v\nwant %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestNormalizeGolden(t *testing.T) {
	t.Parallel()
	ingested := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		lt   LogType
		raw  string
	}{
		{"operation", Operation, `{"time":"2026-11-20T17:52:16Z","operator":"Admin@Springfield.example","category_type":"User","action":"Update","operation_detail":"Update User bart@x.io  - User Role: from Member to Admin"}`},
		{"activity", Activity, `{"email":"lisa@springfield.example","time":"2026-11-20T08:00:01Z","type":"Sign in","ip_address":"192.0.2.10","client_type":"Mac","version":"6.2.5.12345"}`},
		{"unknown_shape", Operation, `{"time":"not a time","operator":7,"surprise":{"nested":[1,2]}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env, err := Normalize("main", tt.lt, json.RawMessage(tt.raw), ingested)
			if err != nil {
				t.Fatalf("Normalize: %v", err)
			}
			got, err := json.MarshalIndent(env, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "normalize_"+tt.name+".golden.json")
			if os.Getenv("UPDATE_GOLDEN") != "" {
				if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("read golden (UPDATE_GOLDEN=1 writes it): %v", err)
			}
			if string(want) != string(got)+"\n" {
				t.Errorf("envelope differs from %s:\n%s", golden, got)
			}
		})
	}
}

func TestIdentityIgnoresKeyOrderAndSpacing(t *testing.T) {
	t.Parallel()
	a := `{"time":"2026-11-20T17:52:16Z","operator":"a@b.c","action":"Update"}`
	b := "{ \"action\" : \"Update\",\n \"operator\":\"a@b.c\", \"time\":\"2026-11-20T17:52:16Z\" }"
	c := `{"time":"2026-11-20T17:52:16Z","operator":"a@b.c","action":"Delete"}`
	now := time.Now()
	ea, _ := Normalize("s", Operation, json.RawMessage(a), now)
	eb, _ := Normalize("s", Operation, json.RawMessage(b), now)
	ec, _ := Normalize("s", Operation, json.RawMessage(c), now)
	eOther, _ := Normalize("other", Operation, json.RawMessage(a), now)
	if ea.ID != eb.ID {
		t.Errorf("same record, different IDs: %s vs %s", ea.ID, eb.ID)
	}
	if ea.ID == ec.ID {
		t.Errorf("same-second records with different content share ID %s", ea.ID)
	}
	if ea.ID == eOther.ID {
		t.Errorf("same record from two sources shares ID %s", ea.ID)
	}
	if string(eb.Raw) != b {
		t.Errorf("raw not kept as received: %s", eb.Raw)
	}
}

func TestNormalizeRejectsNonObjects(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{``, `[]`, `"x"`, `{"a":1} {"b":2}`, `{"a":`} {
		_, err := Normalize("s", Operation, json.RawMessage(raw), time.Now())
		var re *RecordError
		if !errors.As(err, &re) {
			t.Errorf("Normalize(%q) error = %v, want *RecordError", raw, err)
		}
	}
	if _, err := Normalize("s", "Zoom.Nope", json.RawMessage(`{}`), time.Now()); err == nil {
		t.Error("unknown log type accepted")
	}
}

func TestInferLogType(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw     string
		want    LogType
		wantErr bool
	}{
		{`{"operator":"a@b.c","operation_detail":"x"}`, Operation, false},
		{`{"email":"a@b.c","type":"Sign in","ip_address":"192.0.2.1"}`, Activity, false},
		{`{"p_log_type":"Zoom.Activity","operator":"a@b.c"}`, Activity, false},
		{`{"log_type":"operation"}`, Operation, false},
		{`{"log_type":"Zoom.Webinar"}`, "", true},
		{`{"foo":1}`, "", true},
		{`nope`, "", true},
	}
	for _, tt := range tests {
		got, err := InferLogType(json.RawMessage(tt.raw))
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("InferLogType(%s) = %q, %v; want %q, err=%v", tt.raw, got, err, tt.want, tt.wantErr)
		}
	}
}

// FuzzParseOperationDetail checks the hand-written parser against the regular expressions it
// replaced (detail_oracle_test.go): equal output for every input.
func FuzzParseOperationDetail(f *testing.F) {
	for _, s := range []string{
		"Security  - Sign in with Two-Factor Authentication: from On to Off",
		"Update User bart@x.io  - User Role: from Member to Admin",
		"Edit Group G  - Passcode: from On to Off",
		"Change Role  - a@b.c: from Member to Admin",
		"Add Role  - Auditors",
		"Add User  - M@X.io",
		" - : from  to ",
		"from to from to",
		"from  to x", "xfrom a to b", "a: from to to to b", "Setting:FROM a TO b  ", "from a\tto\nb",
		"ROLE: from a to b", "x@y.zz.: from 1 to 2",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, want := ParseOperationDetail(s), parseOperationDetailRegexp(s)
		if got != want {
			t.Fatalf("ParseOperationDetail(%q) =\n %+v\nwant (regexp oracle)\n %+v", s, got, want)
		}
	})
}

func BenchmarkParseOperationDetail(b *testing.B) {
	texts := []string{
		"Update User bart@x.io  - User Role: from Member to Admin",
		"Security  - Sign in with Two-Factor Authentication: from On to Off",
		"Add User  - m@x.io",
		"Meeting  - Join before host: from Off to On",
	}
	for _, impl := range []struct {
		name  string
		parse func(string) Detail
	}{{"hand-written", ParseOperationDetail}, {"regexp", parseOperationDetailRegexp}} {
		b.Run(impl.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				for _, t := range texts {
					_ = impl.parse(t)
				}
			}
			b.ReportMetric(float64(b.N*len(texts))/b.Elapsed().Seconds(), "calls/s")
		})
	}
}

func FuzzNormalize(f *testing.F) {
	f.Add([]byte(`{"time":"2026-11-20T17:52:16Z","operator":"a@b.c","operation_detail":"Security  - X: from On to Off"}`), true)
	f.Add([]byte(`{"email":"a@b.c","time":"2026-11-20T08:00:01Z","type":"Sign in","ip_address":"192.0.2.10"}`), false)
	f.Fuzz(func(t *testing.T, raw []byte, op bool) {
		lt := Activity
		if op {
			lt = Operation
		}
		env, err := Normalize("s", lt, raw, time.Unix(0, 0))
		if err != nil {
			return
		}
		if len(env.ID) != 64 || env.Time.IsZero() {
			t.Fatalf("bad envelope %+v", env)
		}
	})
}

// FuzzAppendEmails checks the hand-written e-mail scan against the regular expression it
// replaced: the same addresses, in the same order, for every input.
func FuzzAppendEmails(f *testing.F) {
	for _, s := range []string{
		"Update User Bart@X.io  - User Role: from Member to Admin",
		"a@b.cd, a@b.cd. c.d@e-f.example.org x@y.z q@@r.st o'n+1@x.io.",
		"@x.io a@.io a@b.c a@b.cc1 a@b..cc",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var want []string
		for _, m := range oracleEmailPattern.FindAllString(s, -1) {
			if m = strings.ToLower(strings.TrimRight(m, ".")); !slices.Contains(want, m) {
				want = append(want, m)
			}
		}
		if got := AppendEmails(nil, s, strings.ToLower); !slices.Equal(got, want) {
			t.Fatalf("AppendEmails(%q) = %q, the regexp finds %q", s, got, want)
		}
	})
}
