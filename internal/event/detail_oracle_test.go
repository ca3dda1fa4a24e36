package event

import (
	"regexp"
	"strings"
)

// This is the regular-expression implementation ParseOperationDetail replaced. It stays as the
// oracle of FuzzParseOperationDetail: the hand-written parser must return exactly what it
// returns, for every input.

var (
	oracleEmailPattern  = regexp.MustCompile(`[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`)
	oracleChangePattern = regexp.MustCompile(`(?is)^(.*?):?\s*\bfrom\s+(.*?)\s+to\s+(.*?)\s*$`)
)

func parseOperationDetailRegexp(s string) Detail {
	d := Detail{Text: s}
	text := strings.TrimSpace(s)
	if text == "" {
		return d
	}
	object, rest, found := strings.Cut(text, "  - ")
	if !found {
		object, rest, found = strings.Cut(text, " - ")
	}
	if !found {
		object, rest = "", text
	}
	d.Object = strings.TrimSpace(object)
	rest = strings.TrimSpace(rest)
	key := rest
	if m := oracleChangePattern.FindStringSubmatch(rest); m != nil {
		key = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(m[1]), ":"))
		d.From, d.To = strings.TrimSpace(m[2]), strings.TrimSpace(m[3])
		d.Parsed = true
	}
	if found {
		d.Parsed = true
	}
	if oracleEmailPattern.MatchString(key) && strings.TrimSpace(oracleEmailPattern.FindString(key)) == key {
		d.TargetUser = strings.ToLower(key)
	} else {
		d.Setting = key
	}
	if d.TargetUser == "" {
		if m := oracleEmailPattern.FindString(d.Object); m != "" {
			d.TargetUser = strings.ToLower(m)
		}
	}
	for _, v := range groupVerbs {
		if strings.HasPrefix(d.Object, v) {
			d.Group = strings.TrimSpace(strings.TrimPrefix(d.Object, v))
			break
		}
	}
	for _, v := range roleVerbs {
		if strings.HasPrefix(d.Object, v) {
			d.Role = strings.TrimSpace(strings.TrimPrefix(d.Object, v))
			break
		}
	}
	isRoleChange := strings.Contains(strings.ToLower(d.Setting), "role") || strings.HasPrefix(d.Object, "Change Role")
	switch {
	case isRoleChange && d.To != "":
		d.Role = d.To
	case d.Role == "" && (d.Object == "Add Role" || d.Object == "Delete Role" || d.Object == "Create Role"):
		d.Role = key
		d.Setting = ""
	}
	return d
}
