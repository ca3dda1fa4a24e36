package zoomsim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"
)

func recordTime(t *testing.T, raw json.RawMessage) time.Time {
	t.Helper()
	var v struct {
		Time string `json:"time"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	tm, err := time.Parse(time.RFC3339, v.Time)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func contains(recs []json.RawMessage, r json.RawMessage) bool {
	return slices.ContainsFunc(recs, func(x json.RawMessage) bool { return bytes.Equal(x, r) })
}

func TestPageTokenExpiresAfter15Minutes(t *testing.T) {
	t.Parallel()
	s := newSim(t, Config{})
	tok := s.s2sToken(t)
	q := dateQuery(testStart.AddDate(0, 0, -5), testStart, "page_size", "10")
	next := func(q url.Values) (page, response) {
		r := s.get(t, tok, "/v2/report/operationlogs", q)
		var p page
		if r.status == 200 {
			r.json(t, &p)
		}
		return p, r
	}
	p1, _ := next(q)
	if p1.NextPageToken == "" {
		t.Fatal("first page has no next_page_token")
	}
	// Valid for 15 minutes…
	s.clock.Advance(15 * time.Minute)
	q.Set("next_page_token", p1.NextPageToken)
	p2, r := next(q)
	if r.status != 200 || p2.NextPageToken == "" {
		t.Fatalf("token at 15m: %d %s", r.status, r.body)
	}
	// …reusable within them (a retried request gets the same page)…
	if again, r := next(q); r.status != 200 || !slices.EqualFunc(again.records(), p2.records(), rawEqual) {
		t.Fatalf("same token again: %d, different page", r.status)
	}
	// …and refused after, with code 300.
	s.clock.Advance(15*time.Minute + time.Second)
	q.Set("next_page_token", p2.NextPageToken)
	_, r = next(q)
	if e := zoomErr(t, r); r.status != 400 || e.Code != CodeValidation || e.Message != msgBadPageToken {
		t.Fatalf("token after 15m: %d %s, want 400 code 300 %q", r.status, r.body, msgBadPageToken)
	}
	if st := s.Stats(); st.PageTokensRejected != 1 {
		t.Errorf("Stats.PageTokensRejected %d, want 1", st.PageTokensRejected)
	}
}

// TestPageTokenBoundToWindow: a token is refused with different from, to, page_size or
// category_type, or on the other report.
func TestPageTokenBoundToWindow(t *testing.T) {
	t.Parallel()
	s := newSim(t, Config{})
	tok := s.s2sToken(t)
	from := testStart.AddDate(0, 0, -5)
	r := s.get(t, tok, "/v2/report/operationlogs", dateQuery(from, testStart, "page_size", "10"))
	var p page
	r.json(t, &p)
	if p.NextPageToken == "" {
		t.Fatal("no next_page_token")
	}
	for name, tc := range map[string]struct {
		path string
		q    url.Values
	}{
		"other from":      {"/v2/report/operationlogs", dateQuery(from.AddDate(0, 0, -1), testStart, "page_size", "10")},
		"other to":        {"/v2/report/operationlogs", dateQuery(from, testStart.AddDate(0, 0, -1), "page_size", "10")},
		"other page_size": {"/v2/report/operationlogs", dateQuery(from, testStart, "page_size", "11")},
		"other category":  {"/v2/report/operationlogs", dateQuery(from, testStart, "page_size", "10", "category_type", "user")},
		"other report":    {"/v2/report/activities", dateQuery(from, testStart, "page_size", "10")},
	} {
		tc.q.Set("next_page_token", p.NextPageToken)
		r := s.get(t, tok, tc.path, tc.q)
		if e := zoomErr(t, r); r.status != 400 || e.Code != CodeValidation {
			t.Errorf("%s: %d %s, want 400 code 300", name, r.status, r.body)
		}
	}
}

// TestPagingIsStableWhileRecordsArrive: records becoming visible while a window is paged do not
// shift the pages (the window is frozen at page 1), and appear on the next read.
func TestPagingIsStableWhileRecordsArrive(t *testing.T) {
	t.Parallel()
	s := newSim(t, Config{})
	today := testStart.Truncate(24 * time.Hour)
	q := dateQuery(today, today, "page_size", "5")
	before := s.Records(LogTypeActivity, s.clock.Now())
	r := s.get(t, s.s2sToken(t), "/v2/report/activities", q)
	var p page
	r.json(t, &p)
	got := p.records()
	for p.NextPageToken != "" {
		// Each page comes 14 minutes after the last: the token is still valid, and records
		// of today keep arriving meanwhile.
		s.clock.Advance(14 * time.Minute)
		q.Set("next_page_token", p.NextPageToken)
		r = s.get(t, s.s2sToken(t), "/v2/report/activities", q)
		if r.status != 200 {
			t.Fatalf("page after %d records: %d %s", len(got), r.status, r.body)
		}
		p = page{}
		r.json(t, &p)
		got = append(got, p.records()...)
	}
	if want := inWindow(t, before, today, today); !slices.EqualFunc(got, want, rawEqual) {
		t.Fatalf("paged %d records, want the %d visible at page 1", len(got), len(want))
	}
	all, _ := s.fetchAll(t, s.s2sToken(t), "/v2/report/activities", dateQuery(today, today, "page_size", "300"))
	if len(all) <= len(got) {
		t.Errorf("a new read serves %d records, no more than %d: nothing arrived while paging", len(all), len(got))
	}
}

// TestLateRecordsAppearAfterVisibleAt: a late-arriving record is not served at its time, only
// once the clock reaches its visibility time.
func TestLateRecordsAppearAfterVisibleAt(t *testing.T) {
	t.Parallel()
	s := newSim(t, Config{HistoryDays: 10, LateDelay: 3 * time.Hour})
	var late *Incident
	for _, inc := range s.Incidents() {
		last := recordTime(t, inc.Records[len(inc.Records)-1])
		if inc.VisibleAt.After(last) && inc.Time.After(s.clock.Now()) {
			late = &inc
			break
		}
	}
	if late == nil {
		t.Fatal("no late-arriving incident after the clock at New")
	}
	if got := late.VisibleAt.Sub(recordTime(t, late.Records[len(late.Records)-1])); got != 3*time.Hour {
		t.Errorf("VisibleAt is %s after the last record, want LateDelay 3h", got)
	}
	path := "/v2/report/operationlogs"
	if late.LogType == LogTypeActivity {
		path = "/v2/report/activities"
	}
	day := late.Time.Truncate(24 * time.Hour)
	served := func() []json.RawMessage {
		recs, _ := s.fetchAll(t, s.s2sToken(t), path, dateQuery(day, day.Add(24*time.Hour), "page_size", "300"))
		return recs
	}
	s.clock.Advance(late.VisibleAt.Add(-time.Second).Sub(s.clock.Now()))
	got := served()
	if contains(got, late.Records[len(late.Records)-1]) {
		t.Errorf("late record served a second before VisibleAt %s", late.VisibleAt)
	}
	if contains(s.Records(late.LogType, s.clock.Now()), late.Records[len(late.Records)-1]) {
		t.Error("Records lists the late record before VisibleAt")
	}
	s.clock.Advance(time.Second)
	got = served()
	for _, r := range late.Records {
		if !contains(got, r) {
			t.Errorf("at VisibleAt, record %s is not served", r)
		}
	}
	// The ordinary history has late records too, in both reports.
	for name, set := range map[string]recordSet{LogTypeOperation: s.ops, LogTypeActivity: s.acts} {
		late := 0
		for _, r := range set {
			if r.visible.After(r.time) {
				late++
			}
		}
		if late == 0 {
			t.Errorf("%s: no record arrives late", name)
		}
	}
}

// TestSameSecondRecords: distinct records share a second, and all of them are served.
func TestSameSecondRecords(t *testing.T) {
	t.Parallel()
	s := newSim(t, Config{})
	tok := s.s2sToken(t)
	for _, tc := range []struct{ lt, path string }{
		{LogTypeOperation, "/v2/report/operationlogs"},
		{LogTypeActivity, "/v2/report/activities"},
	} {
		bySecond := map[time.Time][]json.RawMessage{}
		for _, r := range s.Records(tc.lt, s.clock.Now()) {
			tm := recordTime(t, r)
			bySecond[tm] = append(bySecond[tm], r)
		}
		var shared []json.RawMessage
		var sec time.Time
		for tm, rs := range bySecond {
			if len(rs) > 1 {
				shared, sec = rs, tm
				break
			}
		}
		if shared == nil {
			if tc.lt == LogTypeOperation {
				t.Errorf("%s: no two records share a second", tc.lt)
			}
			continue
		}
		day := sec.Truncate(24 * time.Hour)
		// Page size 1 puts the records of that second on different pages.
		got, _ := s.fetchAll(t, tok, tc.path, dateQuery(day, day, "page_size", "1"))
		for _, r := range shared {
			if !contains(got, r) {
				t.Errorf("%s: same-second record %s not served", tc.lt, r)
			}
		}
	}
}

// TestEveryIncidentIsServed: each planted incident's records are in the reports once visible.
func TestEveryIncidentIsServed(t *testing.T) {
	t.Parallel()
	s := newSim(t, Config{HistoryDays: 30, FutureDays: 2})
	incidents := s.Incidents()
	if len(incidents) == 0 {
		t.Fatal("no incidents planted")
	}
	last := incidents[0].VisibleAt
	for _, inc := range incidents {
		if inc.VisibleAt.After(last) {
			last = inc.VisibleAt
		}
		if inc.RuleID == "" || len(inc.Records) == 0 || inc.VisibleAt.Before(inc.Time) {
			t.Errorf("incident %+v is incomplete", inc)
		}
	}
	s.clock.Advance(last.Sub(s.clock.Now()))
	tok := s.s2sToken(t)
	served := map[string][]json.RawMessage{}
	for _, lt := range []struct{ name, path string }{{LogTypeOperation, "/v2/report/operationlogs"}, {LogTypeActivity, "/v2/report/activities"}} {
		end := s.clock.Now().Truncate(24 * time.Hour)
		for from := end.AddDate(0, 0, -32); !from.After(end); from = from.AddDate(0, 0, 11) {
			to := from.AddDate(0, 0, 10)
			if to.After(end) {
				to = end
			}
			recs, _ := s.fetchAll(t, tok, lt.path, dateQuery(from, to, "page_size", "300"))
			served[lt.name] = append(served[lt.name], recs...)
		}
	}
	for _, inc := range incidents {
		for _, r := range inc.Records {
			if !contains(served[inc.LogType], r) {
				t.Errorf("incident %s at %s: record %s not served", inc.RuleID, inc.Time, r)
			}
		}
	}
	t.Logf("%d incidents, %d operation and %d activity records served", len(incidents), len(served[LogTypeOperation]), len(served[LogTypeActivity]))
}

// TestHistoryIsRealisticAndDeterministic: thousands of records over weeks, several operators,
// every category, and the same bytes for the same seed.
func TestHistoryIsRealisticAndDeterministic(t *testing.T) {
	t.Parallel()
	a := newSim(t, Config{HistoryDays: 30})
	b := newSim(t, Config{HistoryDays: 30})
	c := newSim(t, Config{HistoryDays: 30, Seed: 2})
	now := a.clock.Now()
	ops, acts := a.Records(LogTypeOperation, now), a.Records(LogTypeActivity, now)
	if len(ops)+len(acts) < 2000 {
		t.Errorf("%d operation and %d activity records: want thousands", len(ops), len(acts))
	}
	operators := map[string]bool{}
	categories := map[string]bool{}
	for _, r := range ops {
		var v operationLog
		if err := json.Unmarshal(r, &v); err != nil {
			t.Fatal(err)
		}
		operators[v.Operator] = true
		categories[v.CategoryType] = true
	}
	if len(operators) < 3 {
		t.Errorf("operators %v: want several admins", operators)
	}
	for _, cat := range []string{"User", "User Settings", "Account", "Billing", "IM", "Recording", "Phone Contacts", "Webinar", "Sub Account", "Role", "Zoom Rooms", "User Group"} {
		if !categories[cat] {
			t.Errorf("no operation log of category %q", cat)
		}
	}
	types := map[string]bool{}
	for _, r := range acts {
		var v activityLog
		if err := json.Unmarshal(r, &v); err != nil {
			t.Fatal(err)
		}
		types[v.Type] = true
	}
	if !types["Sign in"] || !types["Sign out"] {
		t.Errorf("activity types %v: want Sign in and Sign out", types)
	}
	if !slices.EqualFunc(ops, b.Records(LogTypeOperation, now), rawEqual) || !slices.EqualFunc(acts, b.Records(LogTypeActivity, now), rawEqual) {
		t.Error("same seed and clock gave different histories")
	}
	if slices.EqualFunc(ops, c.Records(LogTypeOperation, now), rawEqual) {
		t.Error("another seed gave the same history")
	}
}

// TestCategoryFilter: category_type keeps only that category; all (or none) keeps everything.
func TestCategoryFilter(t *testing.T) {
	t.Parallel()
	s := newSim(t, Config{})
	tok := s.s2sToken(t)
	from, to := testStart.AddDate(0, 0, -20), testStart
	all, _ := s.fetchAll(t, tok, "/v2/report/operationlogs", dateQuery(from, to, "page_size", "300"))
	allCat, _ := s.fetchAll(t, tok, "/v2/report/operationlogs", dateQuery(from, to, "page_size", "300", "category_type", "all"))
	if !slices.EqualFunc(all, allCat, rawEqual) {
		t.Error("category_type=all differs from no category_type")
	}
	for param, cat := range map[string]string{"account": "Account", "user": "User", "role": "Role", "billing": "Billing"} {
		got, _ := s.fetchAll(t, tok, "/v2/report/operationlogs", dateQuery(from, to, "page_size", "300", "category_type", param))
		want := 0
		for _, r := range all {
			var v operationLog
			_ = json.Unmarshal(r, &v)
			if v.CategoryType == cat {
				want++
			}
		}
		if len(got) != want || want == 0 {
			t.Errorf("category_type=%s: %d records, want %d (non-zero)", param, len(got), want)
		}
		for _, r := range got {
			var v operationLog
			_ = json.Unmarshal(r, &v)
			if v.CategoryType != cat {
				t.Errorf("category_type=%s served %s", param, r)
			}
		}
	}
}

// TestScopesAndPermission: a token without a report's scope gets code 4700; an authorizing
// user without report rights gets HTTP 400 code 200.
func TestScopesAndPermission(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		cfg    Config
		path   string
		status int
		code   int
	}{
		{"classic scope", Config{}, "/v2/report/activities", 200, 0},
		{"no scopes", Config{Scopes: []string{}}, "/v2/report/activities", 400, CodeMissingScopes},
		{"granular operation logs scope reads operation logs", Config{Scopes: []string{"report:read:operation_logs:admin"}}, "/v2/report/operationlogs", 200, 0},
		{"granular operation logs scope does not read activities", Config{Scopes: []string{"report:read:operation_logs:admin"}}, "/v2/report/activities", 400, CodeMissingScopes},
		{"granular activities scope", Config{Scopes: []string{"report:read:user_activities:admin"}}, "/v2/report/activities", 200, 0},
		{"no report rights", Config{NoReportPermission: true}, "/v2/report/activities", 400, CodeNoPermission},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newSim(t, tc.cfg)
			r := s.get(t, s.s2sToken(t), tc.path, dateQuery(testStart, testStart))
			if r.status != tc.status {
				t.Fatalf("%d %s, want %d", r.status, r.body, tc.status)
			}
			if tc.code != 0 {
				if e := zoomErr(t, r); e.Code != tc.code {
					t.Errorf("code %d, want %d", e.Code, tc.code)
				}
				if st := s.Stats(); st.Forbidden != 1 {
					t.Errorf("Stats.Forbidden %d, want 1", st.Forbidden)
				}
			}
		})
	}
}

func TestUnknownPath(t *testing.T) {
	t.Parallel()
	s := newSim(t, Config{})
	r := s.get(t, s.s2sToken(t), "/v2/users", nil)
	if e := zoomErr(t, r); r.status != http.StatusNotFound || e.Code != 404 {
		t.Errorf("%d %s, want a Zoom 404", r.status, r.body)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"defaults", Config{}, ""},
		{"history too long", Config{HistoryDays: 181}, "HistoryDays"},
		{"history negative", Config{HistoryDays: -1}, "HistoryDays"},
		{"future too long", Config{FutureDays: 31}, "FutureDays"},
		{"same client ids", Config{ClientID: "x", OAuthClientID: "x"}, "must differ"},
		{"negative latency", Config{Latency: -time.Second}, "Latency"},
		{"empty scope", Config{Scopes: []string{""}}, "empty scope"},
		{"bad redirect", Config{RedirectURLs: []string{"/callback"}}, "RedirectURLs"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if (err == nil) != (tc.want == "") || (err != nil && !bytes.Contains([]byte(err.Error()), []byte(tc.want))) {
				t.Errorf("Validate() = %v, want error containing %q", err, tc.want)
			}
			if _, nerr := New(tc.cfg); (nerr == nil) != (err == nil) {
				t.Errorf("New error %v disagrees with Validate %v", nerr, err)
			}
		})
	}
}

func rawEqual(a, b json.RawMessage) bool { return bytes.Equal(a, b) }

// TestExtraUsersAddVolume: the volume knob adds sign-in history and is bounded.
func TestExtraUsersAddVolume(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	base, err := New(Config{Now: clock, HistoryDays: 10})
	if err != nil {
		t.Fatal(err)
	}
	more, err := New(Config{Now: clock, HistoryDays: 10, ExtraUsers: 100})
	if err != nil {
		t.Fatal(err)
	}
	a, b := len(base.Records("Zoom.Activity", now)), len(more.Records("Zoom.Activity", now))
	if b < 3*a {
		t.Errorf("100 extra users: %d sign-in records, base account %d; want well over three times", b, a)
	}
	if _, err := New(Config{ExtraUsers: 5001}); err == nil {
		t.Error("5001 extra users accepted")
	}
}
