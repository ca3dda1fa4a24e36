package detect

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"text/template"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"
	"github.com/goccy/go-yaml"
	yamlast "github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/zoomwatch/zoomwatch/internal/alert"
	"github.com/zoomwatch/zoomwatch/internal/event"
	"github.com/zoomwatch/zoomwatch/internal/tuning"
)

// Defaults for optional rule fields.
const (
	DefaultDedupPeriod  = time.Hour
	DefaultFirstSeenTTL = 90 * 24 * time.Hour
)

// LoadError is a rule file that does not load: which file, which line (0 when unknown) and why.
type LoadError struct {
	// File is the rule file's path, Line its 1-based line (0 when unknown), Reason the fault.
	File   string
	Line   int
	Reason string
}

// Error implements error as "file:line: reason".
func (e *LoadError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Reason)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Reason)
}

// ruleFile is the YAML schema of one rule file.
type ruleFile struct {
	ID             string         `yaml:"id"`
	Name           string         `yaml:"name"`
	Description    string         `yaml:"description"`
	LogTypes       []string       `yaml:"log_types"`
	Categories     []string       `yaml:"categories"`
	Severity       string         `yaml:"severity"`
	Enabled        *bool          `yaml:"enabled"`
	Condition      string         `yaml:"condition"`
	Title          string         `yaml:"title"`
	Dedup          dedupFile      `yaml:"dedup"`
	Threshold      *int           `yaml:"threshold"`
	Distinct       string         `yaml:"distinct"`
	FirstSeen      string         `yaml:"first_seen"`
	FirstSeenTTL   string         `yaml:"first_seen_ttl"`
	FirstSeenLearn string         `yaml:"first_seen_learn"`
	FirstSeenAlert string         `yaml:"first_seen_alert_if"`
	Params         map[string]any `yaml:"params"`
	Runbook        string         `yaml:"runbook"`
	Reference      string         `yaml:"reference"`
	MITRE          []string       `yaml:"mitre"`
	Tests          []testFile     `yaml:"tests"`
}

type dedupFile struct {
	Key    string `yaml:"key"`
	Period string `yaml:"period"`
}

type testFile struct {
	Name    string         `yaml:"name"`
	Expect  *bool          `yaml:"expect"`
	Title   string         `yaml:"title"`
	LogType string         `yaml:"log_type"`
	Params  map[string]any `yaml:"params"`
	Log     any            `yaml:"log"`
}

// Rule is one compiled detection rule. Rules are immutable once loaded; tuning produces a new
// Rule sharing the compiled program.
type Rule struct {
	// ID, Name, Description, Severity, Runbook, Reference and MITRE are the rule file's
	// fields of the same names; Enabled, Threshold, DedupPeriod and Params are after tuning.
	ID          string
	Name        string
	Description string
	// LogTypes are the log types the rule is evaluated for.
	LogTypes []event.LogType
	// Categories, lower-cased, restrict evaluation to operation logs of these categories.
	Categories  []string
	Severity    alert.Severity
	Enabled     bool
	Condition   string
	Threshold   int
	DedupPeriod time.Duration
	// Params are the rule's tunables after overrides, visible to conditions as params.
	Params    map[string]any
	Runbook   string
	Reference string
	MITRE     []string
	// Tests are the inline tests; see RuleSet.Test.
	Tests []RuleTest
	// FirstSeenTTL is how long a first_seen key is remembered after its last sighting.
	FirstSeenTTL time.Duration
	// FirstSeenLearn is how long a first_seen rule learns silently once it starts watching
	// (State.WatchingSince): a first sighting less than this after the rule's watching began,
	// or before it, is remembered without an alert, so the history read at install is taken as
	// the baseline instead of raising an alert for every key in it. Zero alerts from the start.
	FirstSeenLearn time.Duration
	// FirstSeenAlertIf is a second condition of a first_seen rule, tested only on events its
	// condition matched: a first sighting is remembered whenever the condition holds, and
	// alerts only when this holds too. Empty: every first sighting may alert. It keeps what a
	// rule remembers apart from whom it alerts on, so the memory does not depend on the order
	// events arrive in (a user's sign-ins before their first operation showed them an admin).
	FirstSeenAlertIf string
	// File is where the rule came from, for messages.
	File string

	program   *vm.Program
	title     *textTemplate
	dedupKey  *textTemplate // nil: the rule ID
	distinct  *textTemplate // nil: count events
	firstSeen *textTemplate // nil: no first-seen gate
	alertIf   *vm.Program   // nil: no FirstSeenAlertIf
	// alertNative is alertIf compiled into Go for the rule's params, when it could be.
	alertNative func(*Worker) bool
	suppressed  map[string]map[string]bool
	// needs says what the condition reads that raw operation records fill lazily;
	// matchNeeds adds what the templates and FirstSeenAlertIf read.
	needs, matchNeeds uint8
	// guards are literal tests the condition requires; see guard.
	guards []guard
	// text is what the condition requires of the text's bigrams (textNeedsOf).
	text textNeeds
	// paramGates are the condition's leading tests of params alone (paramGatesOf).
	paramGates []func(*Worker) bool
	// actorOnly says the condition reads only the actor and params, so a worker may reuse its
	// verdict for the next event of the same actor (Worker.actorVerdict).
	actorOnly bool
	// actions are the lower-cased activity types (Sign in, Sign out) one of which the
	// condition requires (actionsOf); nil when it does not say.
	actions []string
}

// RuleTest is one inline test case of a rule.
type RuleTest struct {
	// Name describes the case; Expect says whether the rule must match (and, with
	// first_seen_alert_if, be able to alert); Title, when set, is the expected title of the
	// match; LogType overrides inference; Params, when set, replace params of the same names
	// for this case; Log is the record.
	Name    string
	Expect  bool
	Title   string
	LogType event.LogType
	Params  map[string]any
	Log     json.RawMessage
}

// RuleSet is a loaded, validated set of rules indexed for evaluation.
type RuleSet struct {
	rules []*Rule
	// index holds a typeIndex per log type, in the order of event.LogTypes (see indexOf).
	index [len(event.LogTypes)]*typeIndex
	// minSeverity keeps rules below it out of the index (tuning detect/min_severity).
	minSeverity alert.Severity
	// usesAdmin says some indexed condition calls is_admin, so operators must be noted.
	usesAdmin bool
}

// logTypeSlot is lt's position in event.LogTypes, or -1: two string comparisons, cheaper per
// event than the map the index used to be.
func logTypeSlot(lt event.LogType) int {
	for i, known := range event.LogTypes {
		if lt == known {
			return i
		}
	}
	return -1
}

// indexOf returns the rules indexed for lt, or nil.
func (rs *RuleSet) indexOf(lt event.LogType) *typeIndex {
	if slot := logTypeSlot(lt); slot >= 0 {
		return rs.index[slot]
	}
	return nil
}

// typeIndex lists the rules to evaluate for one log type: the ones for every category and,
// per lower-cased category, the ones that declared it. For activity logs, whose records have
// no category, the activity type takes its place: a sign-out is not evaluated against rules
// whose conditions require a sign-in.
type typeIndex struct {
	any        []*Rule
	byCategory []categoryRules
}

// categoryRules are the rules to evaluate for one lower-cased category: the typeIndex's any
// rules followed by the ones that declared it.
type categoryRules struct {
	category string
	ascii    bool // category is ASCII
	rules    []*Rule
}

// Rules returns the rules sorted by ID. The slice must not be modified.
func (rs *RuleSet) Rules() []*Rule { return rs.rules }

// Rule returns the rule with the given ID.
func (rs *RuleSet) Rule(id string) (*Rule, bool) {
	for _, r := range rs.rules {
		if r.ID == id {
			return r, true
		}
	}
	return nil, false
}

// LoadFS loads every *.yaml and *.yml file in dir of fsys (not recursing). Any bad file fails
// the whole load.
func LoadFS(fsys fs.FS, dir string) (*RuleSet, error) {
	return loadFS(fsys, dir, "")
}

// LoadDir loads the rule files of a directory on disk; errors name files by their path.
func LoadDir(dir string) (*RuleSet, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("rules directory: %w", err)
	}
	return loadFS(os.DirFS(dir), ".", dir)
}

// loadFS loads dir of fsys, naming files as prefix/name in errors when prefix is set.
func loadFS(fsys fs.FS, dir, prefix string) (*RuleSet, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read rules directory %s: %w", path.Join(prefix, dir), err)
	}
	var rules []*Rule
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !(strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")) {
			continue
		}
		file := path.Join(dir, name)
		data, err := fs.ReadFile(fsys, file)
		if err != nil {
			return nil, fmt.Errorf("read rule %s: %w", file, err)
		}
		shown := file
		if prefix != "" {
			shown = filepath.Join(prefix, file)
		}
		r, err := ParseRule(shown, data)
		if err != nil {
			return nil, err
		}
		rules = append(rules, r)
	}
	return NewRuleSet(rules...)
}

// NewRuleSet indexes rules; duplicate IDs are an error naming both files.
func NewRuleSet(rules ...*Rule) (*RuleSet, error) {
	return newRuleSet("", rules)
}

func newRuleSet(minSeverity alert.Severity, rules []*Rule) (*RuleSet, error) {
	seen := map[string]*Rule{}
	rs := &RuleSet{minSeverity: minSeverity}
	for _, r := range rules {
		if prev, dup := seen[r.ID]; dup {
			return nil, &LoadError{File: r.File, Reason: fmt.Sprintf("duplicate rule id %q (also in %s)", r.ID, prev.File)}
		}
		seen[r.ID] = r
		rs.rules = append(rs.rules, r)
	}
	sort.Slice(rs.rules, func(i, j int) bool { return rs.rules[i].ID < rs.rules[j].ID })
	for _, r := range rs.rules {
		if !r.Enabled || severityRank(r.Severity) < severityRank(minSeverity) || r.inert() {
			continue
		}
		if strings.Contains(r.Condition, "is_admin") || strings.Contains(r.FirstSeenAlertIf, "is_admin") {
			rs.usesAdmin = true
		}
		for _, lt := range r.LogTypes {
			slot := logTypeSlot(lt)
			if slot < 0 {
				continue // ParseRule accepts only the known log types
			}
			ix := rs.index[slot]
			if ix == nil {
				ix = &typeIndex{}
				rs.index[slot] = ix
			}
			keys := r.Categories
			if lt == event.Activity && len(keys) == 0 {
				keys = r.actions
			}
			if len(keys) == 0 {
				ix.any = append(ix.any, r)
				continue
			}
			for _, c := range keys {
				ix.add(c, r)
			}
		}
	}
	// Each category's list is evaluated after the rules for every category; joined once
	// here, an event's candidates are a lookup, not a copy.
	for _, ix := range rs.index {
		if ix == nil {
			continue
		}
		for i := range ix.byCategory {
			cr := &ix.byCategory[i]
			cr.rules = append(append([]*Rule(nil), ix.any...), cr.rules...)
		}
	}
	return rs, nil
}

// Merge returns a set holding the rules of rs and other; duplicate IDs fail.
func (rs *RuleSet) Merge(other *RuleSet) (*RuleSet, error) {
	return newRuleSet(rs.minSeverity, append(append([]*Rule(nil), rs.rules...), other.rules...))
}

// ParseRule parses and compiles one rule file; file names it in errors.
func ParseRule(file string, data []byte) (*Rule, error) {
	astFile, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, yamlError(file, err)
	}
	var rf ruleFile
	if err := unmarshalYAML(data, &rf); err != nil {
		return nil, yamlError(file, err)
	}
	fail := func(field, format string, args ...any) error {
		return &LoadError{File: file, Line: fieldLine(astFile, field), Reason: fmt.Sprintf(format, args...)}
	}
	r := &Rule{
		ID: strings.TrimSpace(rf.ID), Name: rf.Name, Description: rf.Description,
		Condition: rf.Condition, Runbook: rf.Runbook, Reference: rf.Reference,
		MITRE: rf.MITRE, File: file, Enabled: true, Threshold: 1,
		DedupPeriod: DefaultDedupPeriod, FirstSeenTTL: DefaultFirstSeenTTL,
		Params: rf.Params,
	}
	if r.Params == nil {
		r.Params = map[string]any{}
	}
	if r.ID == "" {
		return nil, fail("$.id", "id is required")
	}
	if strings.ContainsAny(r.ID, " \t/") {
		return nil, fail("$.id", "id %q must not contain spaces or slashes", r.ID)
	}
	if strings.TrimSpace(r.Name) == "" {
		return nil, fail("$.name", "name is required")
	}
	if len(rf.LogTypes) == 0 {
		return nil, fail("$.log_types", "log_types is required (%s or %s)", event.Operation, event.Activity)
	}
	for _, s := range rf.LogTypes {
		lt := event.LogType(s)
		if !lt.Valid() {
			return nil, fail("$.log_types", "unknown log type %q (want %s or %s)", s, event.Operation, event.Activity)
		}
		r.LogTypes = append(r.LogTypes, lt)
	}
	for _, c := range rf.Categories {
		c = strings.ToLower(strings.TrimSpace(c))
		if c == "" {
			return nil, fail("$.categories", "empty category")
		}
		r.Categories = append(r.Categories, c)
	}
	sev, err := ParseSeverity(rf.Severity)
	if err != nil {
		return nil, fail("$.severity", "%v", err)
	}
	r.Severity = sev
	if rf.Enabled != nil {
		r.Enabled = *rf.Enabled
	}
	if strings.TrimSpace(r.Condition) == "" {
		return nil, fail("$.condition", "condition is required")
	}
	prog, err := expr.Compile(rewriteMatchesCalls(r.Condition), exprOptions()...)
	if err != nil {
		return nil, fail("$.condition", "condition does not compile: %s", oneLine(err.Error()))
	}
	r.program = prog
	node := prog.Node()
	r.needs = programNeeds(prog)
	r.text = textNeedsOf(node)
	r.paramGates = paramGatesOf(node)
	r.actorOnly = readsOnlyActor(node)
	r.actions = actionsOf(node)
	if strings.TrimSpace(rf.Title) == "" {
		return nil, fail("$.title", "title is required")
	}
	if r.title, err = newTextTemplate("title", rf.Title); err != nil {
		return nil, fail("$.title", "%v", err)
	}
	if rf.Dedup.Key != "" {
		if r.dedupKey, err = newTextTemplate("dedup.key", rf.Dedup.Key); err != nil {
			return nil, fail("$.dedup.key", "%v", err)
		}
	}
	if rf.Dedup.Period != "" {
		d, err := tuning.ParseDuration(rf.Dedup.Period)
		if err != nil || d <= 0 {
			return nil, fail("$.dedup.period", "dedup.period %q must be a positive duration like 1h, 90m or 1d", rf.Dedup.Period)
		}
		r.DedupPeriod = d
	}
	if rf.Threshold != nil {
		if *rf.Threshold < 1 {
			return nil, fail("$.threshold", "threshold must be at least 1, got %d", *rf.Threshold)
		}
		r.Threshold = *rf.Threshold
	}
	if rf.Distinct != "" {
		if r.distinct, err = newTextTemplate("distinct", rf.Distinct); err != nil {
			return nil, fail("$.distinct", "%v", err)
		}
	}
	if rf.FirstSeen != "" {
		if r.firstSeen, err = newTextTemplate("first_seen", rf.FirstSeen); err != nil {
			return nil, fail("$.first_seen", "%v", err)
		}
	}
	if rf.FirstSeenTTL != "" {
		d, err := tuning.ParseDuration(rf.FirstSeenTTL)
		if err != nil || d <= 0 {
			return nil, fail("$.first_seen_ttl", "first_seen_ttl %q must be a positive duration like 90d", rf.FirstSeenTTL)
		}
		r.FirstSeenTTL = d
	}
	if rf.FirstSeenLearn != "" {
		if r.firstSeen == nil {
			return nil, fail("$.first_seen_learn", "first_seen_learn needs first_seen: it is how long first sightings are learned without alerts")
		}
		d, err := tuning.ParseDuration(rf.FirstSeenLearn)
		if err != nil || d < 0 {
			return nil, fail("$.first_seen_learn", "first_seen_learn %q must be a duration like 7d, or 0 to alert from the start", rf.FirstSeenLearn)
		}
		r.FirstSeenLearn = d
	}
	r.matchNeeds = r.needs
	if strings.TrimSpace(rf.FirstSeenAlert) != "" {
		if r.firstSeen == nil {
			return nil, fail("$.first_seen_alert_if", "first_seen_alert_if needs first_seen: it says which first sightings alert")
		}
		prog, err := expr.Compile(rewriteMatchesCalls(rf.FirstSeenAlert), exprOptions()...)
		if err != nil {
			return nil, fail("$.first_seen_alert_if", "first_seen_alert_if does not compile: %s", oneLine(err.Error()))
		}
		r.FirstSeenAlertIf, r.alertIf = rf.FirstSeenAlert, prog
		r.matchNeeds |= programNeeds(prog)
	}
	r.compileNative()
	for _, t := range []*textTemplate{r.title, r.dedupKey, r.distinct, r.firstSeen} {
		if t != nil {
			r.matchNeeds |= t.needs
		}
	}
	for _, m := range rf.MITRE {
		if !mitrePattern.MatchString(m) {
			return nil, fail("$.mitre", "MITRE tag %q is not TACTIC or TACTIC:TECHNIQUE, e.g. TA0005:T1556 or TA0004:T1098.003", m)
		}
	}
	if r.Reference != "" {
		if u, err := url.Parse(r.Reference); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fail("$.reference", "reference %q is not an http(s) URL", r.Reference)
		}
	}
	for i, tf := range rf.Tests {
		field := fmt.Sprintf("$.tests[%d]", i)
		t := RuleTest{Name: tf.Name, Title: tf.Title, Params: tf.Params}
		if strings.TrimSpace(t.Name) == "" {
			return nil, fail(field, "test %d has no name", i+1)
		}
		if tf.Expect == nil {
			return nil, fail(field, "test %q has no expect (true or false)", t.Name)
		}
		t.Expect = *tf.Expect
		if tf.LogType != "" {
			lt := event.LogType(tf.LogType)
			if !lt.Valid() {
				return nil, fail(field+".log_type", "test %q: unknown log type %q", t.Name, tf.LogType)
			}
			t.LogType = lt
		}
		switch l := tf.Log.(type) {
		case nil:
			return nil, fail(field, "test %q has no log", t.Name)
		case string:
			if !json.Valid([]byte(l)) {
				return nil, fail(field+".log", "test %q: log is not valid JSON", t.Name)
			}
			t.Log = json.RawMessage(l)
		case map[string]any:
			b, err := json.Marshal(l)
			if err != nil {
				return nil, fail(field+".log", "test %q: log: %v", t.Name, err)
			}
			t.Log = b
		default:
			return nil, fail(field+".log", "test %q: log must be a JSON object", t.Name)
		}
		if len(t.Params) > 0 {
			if _, err := r.withTestParams(t.Params); err != nil {
				var oe *OverrideError
				if errors.As(err, &oe) {
					err = errors.New(oe.Reason)
				}
				return nil, fail(field+".params", "test %q: %v", t.Name, err)
			}
		}
		r.Tests = append(r.Tests, t)
	}
	return r, nil
}

// programNeeds says what a compiled expression reads that raw operation records fill lazily.
func programNeeds(p *vm.Program) uint8 {
	var ids identCollector
	node := p.Node()
	ast.Walk(&node, &ids)
	return ids.needs
}

// compileNative compiles the condition's guards and FirstSeenAlertIf into Go for the rule's
// params, as they have them built in.
func (r *Rule) compileNative() {
	r.guards = guardsOf(r.program.Node(), r.Params)
	r.alertNative = nil
	if r.alertIf != nil {
		r.alertNative = (&nativeCompiler{params: r.Params, bound: true}).condition(r.alertIf.Node())
	}
}

// withTestParams returns a copy of r with an inline test's params applied as tuning would.
func (r *Rule) withTestParams(params map[string]any) (*Rule, error) {
	text, err := json.Marshal(map[string]any{"params": params})
	if err != nil {
		return nil, fmt.Errorf("params: %w", err)
	}
	return r.withOverride(string(text))
}

var mitrePattern = regexp.MustCompile(`^TA[0-9]{4}(:T[0-9]{4}(\.[0-9]{3})?)?$`)

// ParseSeverity accepts a severity name in any case.
func ParseSeverity(s string) (alert.Severity, error) {
	switch sev := alert.Severity(strings.ToUpper(strings.TrimSpace(s))); sev {
	case alert.Info, alert.Low, alert.Medium, alert.High, alert.Critical:
		return sev, nil
	}
	return "", fmt.Errorf("severity %q is not one of INFO, LOW, MEDIUM, HIGH, CRITICAL", s)
}

// severityRank orders severities for min_severity filtering.
func severityRank(s alert.Severity) int {
	switch s {
	case alert.Info:
		return 0
	case alert.Low:
		return 1
	case alert.Medium:
		return 2
	case alert.High:
		return 3
	case alert.Critical:
		return 4
	}
	return -1
}

func parseTemplate(name, text string) (*template.Template, error) {
	t, err := template.New(name).Option("missingkey=zero").Funcs(templateFuncs).Parse(text)
	if err != nil {
		return nil, fmt.Errorf("%s template: %s", name, oneLine(err.Error()))
	}
	// Execute once over an empty event so references to unknown fields fail at load, not on
	// the first match.
	var sb strings.Builder
	if err := t.Execute(&sb, (&Env{Params: map[string]any{}}).templateData()); err != nil {
		return nil, fmt.Errorf("%s template: %s", name, oneLine(err.Error()))
	}
	return t, nil
}

var templateFuncs = template.FuncMap{
	"lower":  strings.ToLower,
	"upper":  strings.ToUpper,
	"domain": domain,
	"join":   strings.Join,
}

// yamlError turns a goccy/go-yaml error into a LoadError with its line.
func yamlError(file string, err error) error {
	var ye yaml.Error
	if errors.As(err, &ye) {
		line := 0
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			line = tk.Position.Line
		}
		return &LoadError{File: file, Line: line, Reason: oneLine(ye.GetMessage())}
	}
	return &LoadError{File: file, Reason: oneLine(err.Error())}
}

// fieldLine finds the line of a YAML path in the file, or 0.
func fieldLine(f *yamlast.File, p string) int {
	yp, err := yaml.PathString(p)
	if err != nil {
		return 0
	}
	n, err := yp.FilterFile(f)
	if err != nil || n == nil {
		if i := strings.LastIndexAny(p, ".["); i > 1 {
			return fieldLine(f, p[:i])
		}
		return 0
	}
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		return tk.Position.Line
	}
	return 0
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// unmarshalYAML decodes strictly and turns a panic inside the YAML library (seen on malformed
// custom tags) into an error, so one bad file cannot crash the detector.
func unmarshalYAML(data []byte, v any) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("YAML decoder failed on this file: %v", p)
		}
	}()
	return yaml.UnmarshalWithOptions(data, v, yaml.DisallowUnknownField())
}

func (ix *typeIndex) add(category string, r *Rule) {
	for i := range ix.byCategory {
		if ix.byCategory[i].category == category {
			ix.byCategory[i].rules = append(ix.byCategory[i].rules, r)
			return
		}
	}
	ix.byCategory = append(ix.byCategory, categoryRules{category: category, ascii: isASCII(category), rules: []*Rule{r}})
}
