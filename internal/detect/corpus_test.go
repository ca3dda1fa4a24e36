package detect

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/zoomwatch/zoomwatch/internal/event"
)

// benignDetails are operation_detail texts of everyday admin work; riskyDetails would alert.
var (
	benignDetails = []struct{ cat, action, detail string }{
		{"User", "Update", "Update User %s  - Display Name: from Lisa S to Lisa Simpson"},
		{"User", "Add", "Add User  - %s"},
		{"User", "Update", "Update User %s  - Department: from Sales to Marketing"},
		{"Meeting", "Update", "Meeting  - Join before host: from Off to On"},
		{"Account", "Update", "Account Settings  - Mute participants upon entry: from Off to On"},
		{"Recording", "Delete", "Delete Recording  - Weekly sync"},
		{"User Group", "Update", "Edit Group Springfield  - Allow cloud recording: from Off to On"},
		{"Webinar", "Add", "Add Webinar  - Quarterly town hall"},
		{"Account", "Update", "Security  - Sign in with Two-Factor Authentication: from Off to On"},
		{"User", "Update", "Update User %s  - User Role: from Admin to Member"},
	}
	riskyDetails = []struct{ cat, action, detail string }{
		{"Account", "Update", "Security  - Sign in with Two-Factor Authentication: from On to Off"},
		{"User", "Update", "Update User %s  - User Role: from Member to Admin"},
	}
	users    = []string{"lisa@x.io", "bart@x.io", "homer@x.io", "marge@x.io", "maggie@x.io", "ned@x.io"}
	versions = []string{"6.2.5.12345", "6.1.0.1000", "5.9.3.1234", "-", "6.3.1.500"}
)

// mixedCorpus returns n raw Zoom records, about one in 500 risky, 60% operation logs.
func mixedCorpus(n int, seed uint64) [][]byte {
	rng := rand.New(rand.NewPCG(seed, 7))
	t0 := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	out := make([][]byte, 0, n)
	for i := 0; i < n; i++ {
		ts := t0.Add(time.Duration(i) * 3 * time.Second).Format(time.RFC3339)
		u := users[rng.IntN(len(users))]
		if rng.IntN(10) < 6 {
			d := benignDetails[rng.IntN(len(benignDetails))]
			if rng.IntN(500) == 0 {
				d = riskyDetails[rng.IntN(len(riskyDetails))]
			}
			detail := d.detail
			if n := countVerbs(detail); n > 0 {
				detail = fmt.Sprintf(detail, users[rng.IntN(len(users))])
			}
			b, _ := json.Marshal(map[string]string{"time": ts, "operator": "admin@x.io", "category_type": d.cat, "action": d.action, "operation_detail": detail})
			out = append(out, b)
			continue
		}
		typ := "Sign in"
		if rng.IntN(3) == 0 {
			typ = "Sign out"
		}
		ip := fmt.Sprintf("203.0.113.%d", rng.IntN(4))
		b, _ := json.Marshal(map[string]string{"email": u, "time": ts, "type": typ, "ip_address": ip, "client_type": "Windows", "version": versions[rng.IntN(len(versions))]})
		out = append(out, b)
	}
	return out
}

func countVerbs(s string) int {
	n := 0
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '%' && s[i+1] == 's' {
			n++
		}
	}
	return n
}

// envelopeCorpus normalizes records into envelope JSON, as the detector Lambda receives them.
func envelopeCorpus(records [][]byte) [][]byte {
	out := make([][]byte, 0, len(records))
	ingested := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	for _, r := range records {
		lt, err := event.InferLogType(r)
		if err != nil {
			panic(err)
		}
		env, err := event.Normalize("acme", lt, r, ingested)
		if err != nil {
			panic(err)
		}
		b, _ := json.Marshal(env)
		out = append(out, b)
	}
	return out
}
