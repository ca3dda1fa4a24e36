package zoomsim

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
)

// The ordinary history of the Springfield account: a few admins operating the account on
// weekdays (quiet weekends), a few dozen users signing in and out from stable IPs and
// devices. It is generated from the seed alone, relative to the clock at New, and contains no
// record that a shipped rule should flag (see scenarios.go for the planted ones and the
// benign look-alikes mixed in here).

// person is one simulated user with the places and devices they sign in from.
type person struct {
	email   string
	admin   bool
	ips     []string // office, home, mobile: every IP this person ever uses in ordinary history
	devices []device
}

// device is a Zoom client a person uses, upgraded once at some point of the history.
type device struct {
	client           string
	version, upgrade string
	upgradeAt        time.Time
}

func (d device) versionAt(t time.Time) string {
	if d.upgrade != "" && !t.Before(d.upgradeAt) {
		return d.upgrade
	}
	return d.version
}

const (
	domain   = "@springfield.example"
	officeIP = "203.0.113.10"
)

func adminEmails() []string { return []string{opAdmin, opMarge, opHomer, opSmithers} }

func userNames() []string {
	return []string{
		"bart", "lisa", "milhouse", "nelson", "martin", "ralph", "sherri", "terri", "apu", "moe",
		"barney", "lenny", "carl", "krusty", "skinner", "edna", "otto", "willie", "patty", "selma",
		"ned", "rod", "todd", "frink", "hibbert", "wiggum", "lou", "eddie", "kent", "troy",
		"lionel", "sideshow.mel", "cletus", "agnes", "jimbo", "kearney", "dolph", "luann", "kirk", "helen",
	}
}

// Client versions in ordinary history: all at or above 5.17.0, the minimum the
// Zoom.SignIn.Outdated.Client rule accepts (5.17.0.28375 sits exactly on the boundary).
func desktopVersions() []string {
	return []string{"5.17.0.28375", "5.17.11.34827", "6.0.12.51500", "6.1.11.55920", "6.2.5.49200", "6.3.0.56400"}
}

func mobileVersions() []string {
	return []string{"5.17.5.18944", "6.0.12.21800", "6.1.11.21990", "6.2.5.22110", "6.3.0.22680"}
}

func departments() []string {
	return []string{"Operations", "Safety", "Engineering", "Reactor Control", "Human Resources", "Finance", "Research", "Security"}
}

func groups() []string {
	return []string{"Springfield", "Shelbyville Office", "Reactor Crew", "Education", "Contractors"}
}

func jobTitles() []string {
	return []string{"Safety Inspector", "Technical Supervisor", "Plant Operator", "Contractor", "Analyst", "Team Lead", "Intern"}
}

func topics() []string {
	return []string{"Plant Status", "Safety Review", "Sector 7G Standup", "Budget Planning", "All Hands", "Reactor Maintenance", "Training"}
}

// generator builds the ordinary history; every random choice comes from rng in a fixed order.
type generator struct {
	rng        *rand.Rand
	start, end time.Time
	lateDelay  time.Duration
	ops, acts  recordSet
	seen       map[string]bool
	seq        int
	people     []person
	quietOps   []span
	quietActs  []span
	hires      []string
	hireN      int
}

// span is a time range ordinary records keep out of, so incidents stand alone.
type span struct{ from, to time.Time }

func (g *generator) pick(list []string) string { return list[g.rng.IntN(len(list))] }

// secondsIn returns a whole-second time in [t, t+d).
func (g *generator) secondsIn(t time.Time, d time.Duration) time.Time {
	return t.Add(time.Duration(g.rng.Int64N(int64(d/time.Second))) * time.Second)
}

func quiet(spans []span, t time.Time) bool {
	for _, s := range spans {
		if !t.Before(s.from) && !t.After(s.to) {
			return true
		}
	}
	return false
}

// add stores one ordinary record unless it falls outside the history or near an incident,
// or repeats a record exactly (identical records would be one event to any deduper).
func (g *generator) add(lt string, t time.Time, category string, v any) {
	if t.Before(g.start) || t.After(g.end) {
		return
	}
	spans, set := g.quietOps, &g.ops
	if lt == LogTypeActivity {
		spans, set = g.quietActs, &g.acts
	}
	if quiet(spans, t) {
		return
	}
	raw := encodeRecord(v)
	if g.seen[string(raw)] {
		return
	}
	g.seen[string(raw)] = true
	visible := t
	// Drawn for every record (not only when late delivery is on) so the history is the same
	// whatever LateDelay is.
	if late := g.rng.Float64() < 0.03; late && g.lateDelay > 0 {
		visible = t.Add(g.lateDelay)
	}
	g.seq++
	*set = append(*set, record{time: t, visible: visible, category: category, raw: raw, seq: g.seq})
}

func (g *generator) operation(t time.Time, operator, category, action, detail string) {
	g.add(LogTypeOperation, t, category, operationLog{
		Time: zoomTime(t), Operator: operator, CategoryType: category, Action: action, OperationDetail: detail,
	})
}

func (g *generator) activity(t time.Time, p person, typ, ip string, d device) {
	g.add(LogTypeActivity, t, "", activityLog{
		Email: p.email, Time: zoomTime(t), Type: typ, IPAddress: ip, ClientType: d.client, Version: d.versionAt(t),
	})
}

// newPeople gives every admin and user their IPs and devices. Incident IPs (.200 and up) are
// never assigned, so they are new for whoever uses them.
func (g *generator) newPeople(extraUsers int) []person {
	var people []person
	names := append(adminEmails(), userNames()...)
	for n := range extraUsers {
		names = append(names, fmt.Sprintf("user%04d", n+1))
	}
	for i, name := range names {
		email := name
		admin := i < len(adminEmails())
		if !admin {
			email = name + domain
		}
		p := person{email: email, admin: admin}
		home := fmt.Sprintf("198.51.100.%d", 10+i)
		mobile := fmt.Sprintf("192.0.2.%d", 10+i)
		if i >= 200 { // beyond the documentation ranges: private addresses for the extra users
			home, mobile = fmt.Sprintf("10.1.%d.%d", i/250, i%250+1), fmt.Sprintf("10.2.%d.%d", i/250, i%250+1)
		}
		p.ips = []string{officeIP, home, mobile}
		span := g.end.Sub(g.start)
		upgradeAt := g.secondsIn(g.start, span)
		switch g.rng.IntN(3) {
		case 0:
			p.devices = append(p.devices, g.newDevice("Windows", desktopVersions(), upgradeAt))
		case 1:
			p.devices = append(p.devices, g.newDevice("Mac", desktopVersions(), upgradeAt))
		default:
			p.devices = append(p.devices, g.newDevice("Windows", desktopVersions(), upgradeAt), device{client: "Browser", version: "-"})
		}
		if g.rng.IntN(2) == 0 {
			mobileClient := "iOS"
			if g.rng.IntN(2) == 0 {
				mobileClient = "Android"
			}
			p.devices = append(p.devices, g.newDevice(mobileClient, mobileVersions(), g.secondsIn(g.start, span)))
		}
		people = append(people, p)
	}
	return people
}

func (g *generator) newDevice(client string, versions []string, upgradeAt time.Time) device {
	i := g.rng.IntN(len(versions) - 1)
	return device{client: client, version: versions[i], upgrade: versions[i+1], upgradeAt: upgradeAt}
}

// generateHistory builds the ordinary records of [start, end], keeping out of the quiet spans
// around the planted incidents.
func generateHistory(seed int64, start, end time.Time, lateDelay time.Duration, quietOps, quietActs []span, seq, extraUsers int) (ops, acts recordSet) {
	g := &generator{
		rng:       rand.New(rand.NewPCG(uint64(seed), 0x5a6f6f6d53696d)),
		start:     start,
		end:       end,
		lateDelay: lateDelay,
		seen:      map[string]bool{},
		quietOps:  quietOps,
		quietActs: quietActs,
		seq:       seq,
	}
	g.people = g.newPeople(extraUsers)
	g.seedAdminIPs()
	g.lookAlikes()
	for day := start.Truncate(24 * time.Hour); !day.After(end); day = day.Add(24 * time.Hour) {
		weekend := day.Weekday() == time.Saturday || day.Weekday() == time.Sunday
		g.signIns(day, weekend)
		g.operations(day, weekend)
	}
	g.subAccounts()
	return g.ops, g.acts
}

// subAccounts adds the weekly seat adjustments of the account's sub account, so the history
// holds every category_type Zoom filters on. It runs after every other draw, so adding it
// left the rest of the history as it was.
func (g *generator) subAccounts() {
	for day := g.start.Truncate(24 * time.Hour); !day.After(g.end); day = day.Add(24 * time.Hour) {
		if day.Weekday() != time.Tuesday {
			continue
		}
		seats := 10 + g.rng.IntN(10)
		g.operation(g.secondsIn(day.Add(14*time.Hour), 4*time.Hour), opMarge, "Sub Account", "Update",
			fmt.Sprintf("Update Sub Account Shelbyville Branch  - Seats: from %d to %d", seats, seats+1))
	}
}

// seedAdminIPs makes every admin use each of their IPs early in the history, so that an
// admin's later sign-in from an IP outside this set is genuinely new.
func (g *generator) seedAdminIPs() {
	t := g.start.Add(20 * time.Minute)
	for _, p := range g.people {
		if !p.admin {
			continue
		}
		for i, ip := range p.ips {
			d := p.devices[0]
			if i == 2 && len(p.devices) > 1 {
				d = p.devices[len(p.devices)-1]
			}
			g.activity(t, p, "Sign in", ip, d)
			t = t.Add(7 * time.Minute)
		}
	}
}

// lookAlikes places each benign look-alike once, at a random time of the history.
func (g *generator) lookAlikes() {
	span := g.end.Sub(g.start)
	for _, la := range benignLookAlikes() {
		t := g.secondsIn(g.start, span)
		g.operation(t, g.pick(adminEmails()), la.Category, la.Action, la.Detail)
	}
}

// signIns generates one day of sign-in/sign-out activity.
func (g *generator) signIns(day time.Time, weekend bool) {
	for _, p := range g.people {
		active := 0.85
		if weekend {
			active = 0.12
		}
		if g.rng.Float64() >= active {
			continue
		}
		d := p.devices[0]
		if len(p.devices) > 1 && g.rng.Float64() < 0.25 {
			d = p.devices[1+g.rng.IntN(len(p.devices)-1)]
		}
		ip := p.ips[1] // home
		switch {
		case d.client == "iOS" || d.client == "Android":
			ip = p.ips[2]
		case !weekend && g.rng.Float64() < 0.7:
			ip = p.ips[0]
		}
		if !p.admin && g.rng.Float64() < 0.01 {
			// Travelling: a hotel network. Only non-admins travel, so no admin ever appears
			// on a new IP outside the planted incidents.
			ip = fmt.Sprintf("192.0.2.%d", 100+g.rng.IntN(90))
		}
		in := g.secondsIn(day.Add(13*time.Hour), 3*time.Hour)
		g.activity(in, p, "Sign in", ip, d)
		if g.rng.Float64() < 0.35 {
			// Back from lunch: signed out at noon, in again an hour later.
			lunch := g.secondsIn(in.Add(2*time.Hour), time.Hour)
			g.activity(lunch, p, "Sign out", ip, d)
			g.activity(g.secondsIn(lunch.Add(45*time.Minute), 30*time.Minute), p, "Sign in", ip, d)
		}
		if g.rng.Float64() < 0.6 {
			out := g.secondsIn(in.Add(5*time.Hour), 4*time.Hour)
			g.activity(out, p, "Sign out", ip, d)
			if last := p.devices[len(p.devices)-1]; g.rng.Float64() < 0.08 && last.client != d.client {
				// Leaving the desk and picking up the phone: two records in the same second.
				g.activity(out, p, "Sign in", p.ips[2], last)
			}
		}
		if mob := p.devices[len(p.devices)-1]; (mob.client == "iOS" || mob.client == "Android") && g.rng.Float64() < 0.15 {
			g.activity(g.secondsIn(day.Add(23*time.Hour), 3*time.Hour), p, "Sign in", p.ips[2], mob)
		}
	}
}

// operations generates one day of admin operations.
func (g *generator) operations(day time.Time, weekend bool) {
	n := 28 + g.rng.IntN(20)
	if weekend {
		n = g.rng.IntN(5)
	}
	type template struct {
		weight float64
		emit   func(t time.Time, operator string)
	}
	downgraded, deleted := false, false
	templates := []template{
		{6, g.addUsers},
		{5, func(t time.Time, o string) {
			g.operation(t, o, "User", "Update", fmt.Sprintf("Update User %s  - Job Title: set to %s", g.user(), g.pick(jobTitles())))
		}},
		{3, func(t time.Time, o string) {
			from, to := g.pick(departments()), g.pick(departments())
			if from != to {
				g.operation(t, o, "User", "Update", fmt.Sprintf("Update User %s  - Department: from %s to %s", g.user(), from, to))
			}
		}},
		{2, func(t time.Time, o string) {
			g.operation(t, o, "User", "Update", fmt.Sprintf("Update User %s  - User Type: from Basic to Licensed", g.user()))
		}},
		{0.4, func(t time.Time, o string) {
			// At most one downgrade a day: several within minutes is Zoom.License.Bulk.Downgrade.
			if !downgraded {
				downgraded = true
				g.operation(t, o, "User", "Update", fmt.Sprintf("Update User %s  - User Type: from Licensed to Basic", g.user()))
			}
		}},
		{0.3, func(t time.Time, o string) {
			// Batch demotion: two records in the same second.
			g.operation(t, o, "User", "Batch Update", fmt.Sprintf("Change Role  - %s: from Admin to Member", g.user()))
			g.operation(t, o, "User", "Batch Update", fmt.Sprintf("Change Role  - %s: from Admin to Member", g.user()))
		}},
		{0.6, func(t time.Time, o string) {
			// At most one deletion a day: many within minutes is Zoom.Mass.User.Deletion.
			if !deleted && len(g.hires) > 0 {
				deleted = true
				who := g.hires[0]
				g.hires = g.hires[1:]
				g.operation(t, o, "User", "Delete", fmt.Sprintf("Delete User %s  - User Type: Basic - Department: %s", who, g.pick(departments())))
			}
		}},
		{6, g.editGroup},
		{0.3, func(t time.Time, o string) {
			name := fmt.Sprintf("Project %c", 'A'+rune(g.rng.IntN(26)))
			g.operation(t, o, "User Group", "Add", "Add Group "+name)
		}},
		{5, g.accountSetting},
		{3, func(t time.Time, o string) {
			setting := g.pick([]string{"Cloud recording", "Audio transcript", "Join before host", "Mute participants upon entry"})
			from, to := "Off", "On"
			if g.rng.IntN(3) == 0 {
				from, to = to, from
			}
			g.operation(t, o, "User Settings", "Update", fmt.Sprintf("Update User Settings %s  - %s: from %s to %s", g.user(), setting, from, to))
		}},
		{4, g.meeting},
		{1, func(t time.Time, o string) {
			id := g.meetingID()
			if g.rng.IntN(2) == 0 {
				g.operation(t, o, "Webinar", "Add", fmt.Sprintf("Add Webinar %s  - Topic: Quarterly Town Hall", id))
			} else {
				g.operation(t, o, "Webinar", "Update", fmt.Sprintf("Update Webinar %s  - Registration: from Off to On", id))
			}
		}},
		{2, func(t time.Time, o string) {
			if g.rng.IntN(3) == 0 {
				g.operation(t, o, "Recording", "Update", fmt.Sprintf("Recover Cloud Recording  - Topic: %s", g.pick(topics())))
			} else {
				g.operation(t, o, "Recording", "Delete", fmt.Sprintf("Delete Cloud Recording  - Topic: %s - Meeting ID: %s", g.pick(topics()), g.meetingID()))
			}
		}},
		{1, func(t time.Time, o string) {
			room := g.pick([]string{"Board Room", "Sector 7G", "Cafeteria", "Control Room"})
			setting := g.pick([]string{"Show meeting list", "Enable screen lock", "Display meeting participants count"})
			g.operation(t, o, "Zoom Rooms", "Update", fmt.Sprintf("%s  - Current Setting: On - Previous Setting: Off - Lock Setting: Unlocked - Affected Rooms: %s", setting, room))
		}},
		{1, func(t time.Time, o string) {
			g.operation(t, o, "IM", "Update", fmt.Sprintf("Edit IM Group %s  - Add members: %s", g.pick(groups()), g.user()))
		}},
		{0.3, func(t time.Time, o string) {
			if g.rng.IntN(2) == 0 {
				g.operation(t, o, "Billing", "Update", "Billing Contact  - Contact Name: from Marge Simpson to Waylon Smithers")
			} else {
				g.operation(t, o, "Billing", "Update", "Payment Method  - Credit Card: from Visa ending 4242 to Visa ending 1881")
			}
		}},
		{0.3, func(t time.Time, o string) {
			g.operation(t, o, "Phone Contacts", "Add", "Add External Contact  - "+g.pick([]string{"Springfield Power Dispatch", "Capital City Grid", "Shelbyville Utilities"}))
		}},
	}
	total := 0.0
	for _, tp := range templates {
		total += tp.weight
	}
	for range n {
		t := g.secondsIn(day.Add(13*time.Hour), 10*time.Hour)
		operator := g.pick(adminEmails())
		x := g.rng.Float64() * total
		for _, tp := range templates {
			if x < tp.weight {
				tp.emit(t, operator)
				break
			}
			x -= tp.weight
		}
	}
}

func (g *generator) user() string { return g.pick(userNames()) + domain }

func (g *generator) meetingID() string { return fmt.Sprintf("8%010d", g.rng.Int64N(1e10)) }

// addUsers adds one user, or imports three to five at once (same second).
func (g *generator) addUsers(t time.Time, operator string) {
	count := 1
	if g.rng.Float64() < 0.25 {
		count = 3 + g.rng.IntN(3)
	}
	firsts := []string{"hans", "disco", "gil", "arnie", "lurleen", "dewey", "jasper", "luigi", "akira", "wendell", "brandine", "raphael"}
	lasts := []string{"moleman", "stu", "gunderson", "pie", "lumpkin", "largo", "beardly", "risotto", "kurosawa", "borton", "spuckler", "the.barman"}
	for range count {
		g.hireN++
		who := fmt.Sprintf("%s.%s%d%s", g.pick(firsts), g.pick(lasts), g.hireN, domain)
		typ := "Basic"
		if g.rng.IntN(3) == 0 {
			typ = "Licensed"
		}
		g.hires = append(g.hires, who)
		g.operation(t, operator, "User", "Add", fmt.Sprintf("Add User %s  - User Type: %s - Department: %s", who, typ, g.pick(departments())))
	}
}

// editGroup changes one to three group settings at once (same second). A group's passcode
// settings are only ever turned on here.
func (g *generator) editGroup(t time.Time, operator string) {
	type change struct{ setting, from, to string }
	options := []change{
		{"Mute participants upon entry", "Off", "On"},
		{"Mute participants upon entry", "On", "Off"},
		{"Personal Meeting ID (PMI) Passcode", "Off", "On"},
		{"Breakout room", "Off", "On"},
		{"Breakout room", "On", "Off"},
		{"Screen sharing", "Off", "On"},
		{"Allow removed participants to rejoin", "On", "Off"},
		{"Closed captioning", "Off", "On"},
		{"Local recording", "On", "Off"},
	}
	group := g.pick(groups())
	n := 1 + g.rng.IntN(3)
	for _, i := range g.rng.Perm(len(options))[:n] {
		c := options[i]
		g.operation(t, operator, "User Group", "Update", fmt.Sprintf("Edit Group %s  - %s: from %s to %s", group, c.setting, c.from, c.to))
	}
}

// accountSetting changes one account setting that no rule watches (or watches only in the
// other direction).
func (g *generator) accountSetting(t time.Time, operator string) {
	details := []string{
		"In Meeting (Basic)  - Polling: from Off to On",
		"In Meeting (Basic)  - Co-host: from Off to On",
		"In Meeting (Basic)  - Chat: from Off to On",
		"In Meeting (Advanced)  - Breakout room: from Off to On",
		"In Meeting (Advanced)  - Remote support: from On to Off",
		"Schedule Meeting  - Host video: from Off to On",
		"Schedule Meeting  - Participants video: from On to Off",
		"Email Notification  - When a cloud recording is available: from Off to On",
		"Email Notification  - When attendees join meeting before host: from On to Off",
		"Recording  - Local recording: from Off to On",
		"Recording  - Automatic recording: from Off to On",
		"Security  - Waiting Room: from Off to On",
		"Security  - Sign in with Two-Factor Authentication: from Off to On",
		"Sign-in Methods  - Allow users to sign in with Apple ID: from On to Off",
		"Quality Settings - Audio  - Receive Bitrate: from 20 to 200 - Send Bitrate: from 20 to 200",
	}
	g.operation(t, operator, "Account", "Update", g.pick(details))
}

func (g *generator) meeting(t time.Time, operator string) {
	id := g.meetingID()
	switch g.rng.IntN(3) {
	case 0:
		g.operation(t, operator, "Meeting", "Add", fmt.Sprintf("Add Meeting %s  - Topic: %s", id, g.pick(topics())))
	case 1:
		g.operation(t, operator, "Meeting", "Update", fmt.Sprintf("Update Meeting %s  - Duration: from 30 to 60", id))
	default:
		g.operation(t, operator, "Meeting", "Delete", fmt.Sprintf("Delete Meeting %s  - Topic: %s", id, g.pick(topics())))
	}
}

// plant turns the scenarios into records at their times (relative to t0), keeping those that
// fall within [start, end]. It returns the incidents, the records, the quiet spans around
// them for each log type, and the last sequence number it used.
func plant(t0, start, end time.Time, lateDelay time.Duration) (incidents []Incident, ops, acts recordSet, quietOps, quietActs []span, seq int) {
	const margin = 30 * time.Minute
	for _, sc := range scenarios() {
		at := t0.Add(sc.At)
		var last time.Time
		for _, o := range sc.Operations {
			last = maxTime(last, at.Add(o.After))
		}
		for _, a := range sc.Activities {
			last = maxTime(last, at.Add(a.After))
		}
		if at.Before(start) || last.After(end) {
			continue
		}
		inc := Incident{RuleID: sc.RuleID, Time: at, Description: sc.Description}
		visible := func(t time.Time) time.Time {
			if sc.Late && lateDelay > 0 {
				return t.Add(lateDelay)
			}
			return t
		}
		for _, o := range sc.Operations {
			t := at.Add(o.After)
			raw := encodeRecord(operationLog{Time: zoomTime(t), Operator: o.Operator, CategoryType: o.Category, Action: o.Action, OperationDetail: o.Detail})
			seq++
			ops = append(ops, record{time: t, visible: visible(t), category: o.Category, raw: raw, seq: seq})
			inc.LogType = LogTypeOperation
			inc.Records = append(inc.Records, raw)
		}
		for _, a := range sc.Activities {
			t := at.Add(a.After)
			raw := encodeRecord(activityLog{Email: a.Email, Time: zoomTime(t), Type: a.Type, IPAddress: a.IP, ClientType: a.ClientType, Version: a.Version})
			seq++
			acts = append(acts, record{time: t, visible: visible(t), raw: raw, seq: seq})
			inc.LogType = LogTypeActivity
			inc.Records = append(inc.Records, raw)
		}
		inc.VisibleAt = visible(last)
		quietSpan := span{at.Add(-margin), last.Add(margin)}
		if inc.LogType == LogTypeOperation {
			quietOps = append(quietOps, quietSpan)
		} else {
			quietActs = append(quietActs, quietSpan)
		}
		incidents = append(incidents, inc)
	}
	slices.SortStableFunc(incidents, func(a, b Incident) int { return a.Time.Compare(b.Time) })
	return incidents, ops, acts, quietOps, quietActs, seq
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// Incident is one planted detection scenario: the records a rule must flag.
type Incident struct {
	// RuleID is the rule that must fire on these records.
	RuleID string
	// LogType is "Zoom.Operation" or "Zoom.Activity".
	LogType string
	// Time is the time of the first record.
	Time time.Time
	// VisibleAt is when the last record becomes visible in reports (later than its time for
	// a late-arriving incident).
	VisibleAt time.Time
	// Records are the incident's records, exactly as served, oldest first.
	Records []json.RawMessage
	// Description says what happened.
	Description string
}
