package detect

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"text/template"
	"time"

	"github.com/expr-lang/expr/vm"

	"github.com/zoomwatch/zoomwatch/internal/alert"
	"github.com/zoomwatch/zoomwatch/internal/event"
)

// Options configure an Engine.
type Options struct {
	// NoDedup raises one alert per matching event, bypassing State.
	NoDedup bool
	// Source names the Zoom source of raw records that carry none (envelopes name their own).
	Source string
	// Logger receives condition errors; nil discards them.
	Logger *slog.Logger
	// Now stands in for the ingestion time of raw records without a usable time.
	Now func() time.Time
}

// Engine evaluates a RuleSet against events and turns matches into alerts through State. It is
// safe for concurrent use; each goroutine evaluating events uses its own Worker.
type Engine struct {
	rules   atomic.Pointer[RuleSet]
	state   State
	opts    Options
	admins  *adminCache
	errors  ruleCounts // condition failures
	learned ruleCounts // first sightings remembered without an alert (Rule.FirstSeenLearn)

	mu     sync.Mutex // guards detect and matchBuf
	detect *Worker
	// matchBuf is DetectEnvelopeJSON's reused match slice.
	matchBuf []Match

	// noGuards turns guard pre-checks off, for tests proving they change no verdict;
	// noAbsorb keeps repeats of counted tuples (absorb.go), for tests proving that dropping
	// them changes no alert.
	noGuards, noAbsorb bool
	// absorbSeed hashes records for absorb; unacked holds the tuples whose events fired an
	// alert not yet acknowledged, by alert ID.
	absorbSeed maphash.Seed
	unackedMu  sync.Mutex
	unacked    map[string][]*absorbed
	// parseDetail parses operation_detail; a field so benchmarks can measure alternatives.
	parseDetail func(string) event.Detail
	// watching caches State.WatchingSince by rule ID: it never changes once stored.
	watchingMu sync.Mutex
	watching   map[string]time.Time
}

// NewEngine returns an engine over rs keeping its memory in st.
func NewEngine(rs *RuleSet, st State, opts Options) *Engine {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Source == "" {
		opts.Source = "cli"
	}
	e := &Engine{state: st, opts: opts, parseDetail: event.ParseOperationDetail,
		absorbSeed: maphash.MakeSeed(), unacked: map[string][]*absorbed{}, watching: map[string]time.Time{}}
	e.admins = newAdminCache(st, time.Now, func(err error) {
		opts.Logger.Warn("admin state lookup failed", "error", err.Error())
	})
	e.rules.Store(rs)
	return e
}

// SetRules swaps the rule set (after tuning); workers pick it up on their next event.
func (e *Engine) SetRules(rs *RuleSet) { e.rules.Store(rs) }

// Rules returns the rule set in force.
func (e *Engine) Rules() *RuleSet { return e.rules.Load() }

// ConditionErrors returns how many times each rule's condition failed at run time.
func (e *Engine) ConditionErrors() map[string]int64 { return e.errors.snapshot() }

// Learned returns, per rule, how many first sightings it remembered without an alert because
// they fell in its learning period (Rule.FirstSeenLearn), so a user who sees no alert from
// such a rule can tell it was learning.
func (e *Engine) Learned() map[string]int64 { return e.learned.snapshot() }

// ruleCounts counts something per rule ID, safely for concurrent workers.
type ruleCounts struct{ m sync.Map } // rule ID -> *atomic.Int64

func (c *ruleCounts) add(ruleID string) {
	n, _ := c.m.LoadOrStore(ruleID, new(atomic.Int64))
	n.(*atomic.Int64).Add(1)
}

func (c *ruleCounts) snapshot() map[string]int64 {
	out := map[string]int64{}
	c.m.Range(func(k, v any) bool {
		out[k.(string)] = v.(*atomic.Int64).Load()
		return true
	})
	return out
}

// Match is one rule matching one event. Everything in it is owned (copied from the input).
type Match struct {
	// Rule matched; Title, DedupKey, Distinct and FirstSeenKey are its templates rendered
	// over the event; EventID, Source, LogType and Time identify the event.
	Rule         *Rule
	Title        string
	DedupKey     string
	Distinct     string
	FirstSeenKey string
	EventID      string
	Source       string
	LogType      event.LogType
	Time         time.Time
	// Sample is the event's raw Zoom record.
	Sample json.RawMessage
	// Quiet says the rule's FirstSeenAlertIf did not hold: Decide remembers the first
	// sighting and never alerts on it. A quiet match carries only Rule, LogType, Time and
	// FirstSeenKey.
	Quiet bool

	// absorbed is the tuple Decide confirms as counted (absorb.go).
	absorbed *absorbed
}

// Worker evaluates events on one goroutine, reusing its decoder, VM and environment so the
// hot path allocates nothing for events no rule matches.
type Worker struct {
	eng    *Engine
	dec    decoder
	vm     vm.VM
	env    Env
	sys    sysContext
	raw    []byte // current raw record
	isEnv  bool
	envID  string
	emails []string
	ips    []string
	// lazy holds the need bits not yet filled for the current event.
	lazy         uint8
	canon        []byte
	canonMembers []canonicalMember
	// lastErr is the last condition error, for inline tests.
	lastErr error
	// bail is set by a native condition that leaves the event to the VM; ptr is the element
	// of the predicate being evaluated (#); lowBuf holds the event's text lower-cased for
	// textContains, in the state lowState says.
	bail     bool
	ptr      any
	lowBuf   []byte
	lowGrams bigramSet
	lowState uint8
	// matchBuf is match's scratch; idBuf the input of raw records' event ID digests.
	matchBuf []byte
	idBuf    []byte
	// curID is the current event's ID once computed ("" until then).
	curID string
	// timeText is a raw record's time, parsed when needTime is filled.
	timeText string
	// noted are the operators this worker has noted as admins (see noteAdmin), each
	// mapped to itself (an owned copy); lastNoted is the latest.
	noted     map[string]string
	lastNoted string
	// absorbed are the counted tuples of distinct-threshold rules, keyed by absorbKey's
	// contents (absorb.go).
	absorbed   map[string]*absorbed
	absorbSlab []absorbed
	absorbKey  []byte
	// inOrder is set by DecideInOrder.
	inOrder bool
	// actorVerdicts are recent verdicts of rules whose condition reads only the actor
	// (Rule.actorOnly), round robin from nextVerdict.
	actorVerdicts [4]actorVerdict
	nextVerdict   int
}

// actorVerdict is a rule's verdict for one actor; the actor is kept in a reused buffer.
type actorVerdict struct {
	rule  *Rule
	actor []byte
	v     bool
}

// actorVerdict returns r's remembered verdict for the current actor. An operator's records
// come in runs, and a condition that reads only the actor (admin actions outside the allowed
// domains) has the same answer for all of them.
func (w *Worker) actorVerdict(r *Rule) (v, ok bool) {
	for i := range w.actorVerdicts {
		if m := &w.actorVerdicts[i]; m.rule == r && bytesToString(m.actor) == w.env.Actor {
			return m.v, true
		}
	}
	return false, false
}

// rememberVerdict keeps r's verdict v for the current actor, in r's slot if it has one.
func (w *Worker) rememberVerdict(r *Rule, v bool) {
	i := 0
	for i < len(w.actorVerdicts) && w.actorVerdicts[i].rule != r {
		i++
	}
	if i == len(w.actorVerdicts) {
		i, w.nextVerdict = w.nextVerdict, (w.nextVerdict+1)%len(w.actorVerdicts)
	}
	m := &w.actorVerdicts[i]
	m.rule, m.actor, m.v = r, append(m.actor[:0], w.env.Actor...), v
}

// DecideInOrder promises that the worker's caller passes every match it returns to Decide, in
// the order returned and before any match of a later call; acknowledges each alert before it
// decides the next match; and stops at the first error — as zoomwatch detect does, deciding on
// one goroutine what its workers evaluated a batch earlier. The worker then also drops repeats
// of tuples whose first match is still on its way to Decide (absorb.go), which it otherwise
// must send to State until Decide reports back.
func (w *Worker) DecideInOrder() { w.inOrder = true }

// NewWorker returns a worker for one goroutine.
func (e *Engine) NewWorker() *Worker {
	w := &Worker{eng: e}
	w.sys.admins, w.sys.clockRead = e.admins, e.admins.now
	w.env.setHelpers(&w.sys)
	return w
}

// EvalJSON evaluates one input object — an envelope, a raw Zoom record, or a Zoom report page
// of records — appending matches to dst. A DecodeError means the input was not a readable
// object; a record of unknown shape is an error too.
func (w *Worker) EvalJSON(ctx context.Context, data []byte, dst []Match) ([]Match, error) {
	if err := w.dec.object(data); err != nil {
		return dst, err
	}
	f := &w.dec.f
	switch {
	case f.isEnvelope(data):
		return w.evalEnvelopeJSON(ctx, data, dst)
	case f.isPage(data):
		// A bad record in a page is reported but does not hide the page's other records.
		page, lt := f.page, f.pageLT
		var firstErr error
		i := skipWS(data, page.start+1)
		for n := 1; data[i] != ']'; n++ {
			end, err := skipValue(data, i, 0)
			if err != nil {
				return dst, err
			}
			rec := data[i:end]
			if err := w.dec.object(rec); err != nil {
				firstErr = cmpOr(firstErr, fmt.Errorf("page record %d: %w", n, err))
			} else if dst, err = w.evalRecord(ctx, rec, lt, dst); err != nil {
				firstErr = cmpOr(firstErr, fmt.Errorf("page record %d: %w", n, err))
			}
			i = skipWS(data, end)
			if data[i] == ',' {
				i = skipWS(data, i+1)
			}
		}
		return dst, firstErr
	}
	lt, err := f.logTypeOf()
	if err != nil {
		return dst, err
	}
	return w.evalRecord(ctx, data, lt, dst)
}

// indexKey is what the rule index of lt is keyed by (typeIndex): an operation's category,
// an activity's type.
func indexKey(lt event.LogType, env *Env) string {
	if lt == event.Activity {
		return env.Action
	}
	return env.Category
}

// candidates returns the enabled rules indexed for lt and category.
func (w *Worker) candidates(rs *RuleSet, lt event.LogType, category string) []*Rule {
	ix := rs.indexOf(lt)
	if ix == nil {
		return nil
	}
	if len(ix.byCategory) == 0 || category == "" {
		return ix.any
	}
	category = strings.TrimSpace(category)
	// Two ASCII strings of different lengths never fold to each other (only some non-ASCII
	// runes fold onto ASCII letters), which settles most categories without EqualFold.
	plain := isASCII(category)
	for i := range ix.byCategory {
		cr := &ix.byCategory[i]
		if (!plain || !cr.ascii || len(cr.category) == len(category)) && strings.EqualFold(category, cr.category) {
			return cr.rules
		}
	}
	return ix.any
}

func (w *Worker) evalRecord(ctx context.Context, rec []byte, lt event.LogType, dst []Match) ([]Match, error) {
	rs := w.eng.rules.Load()
	f := &w.dec.f
	d := &w.dec
	env := &w.env
	category, operator := f.typ, "" // an activity's type stands for its category (typeIndex)
	if lt == event.Operation {
		category, operator = f.categoryType, d.lower(strings.TrimSpace(f.operator))
	}
	cands := w.candidates(rs, lt, category)
	if lt == event.Operation && rs.usesAdmin {
		w.noteAdmin(ctx, operator, f.time)
	}
	if len(cands) == 0 {
		return dst, nil
	}
	env.reset()
	env.LogType, env.Source = string(lt), w.eng.opts.Source
	w.emails, w.ips = w.emails[:0], w.ips[:0]
	w.lazy = 0
	switch lt {
	case event.Operation:
		env.Actor = operator
		env.Category, env.Action, env.Text = f.categoryType, f.action, f.operationDetail
		// operation_detail parsing and e-mail extraction wait until a rule needs them.
		w.lazy = needDetail | needEmails
	case event.Activity:
		env.Actor = d.lower(strings.TrimSpace(f.email))
		env.Action, env.ClientType, env.Version, env.Parsed = f.typ, f.clientType, f.version, true
		w.lazy = needEmails // the actor's, extracted when a rule reads emails
		if ip := strings.TrimSpace(f.ipAddress); ip != "" {
			w.ips = append(w.ips, ip)
		}
	}
	env.Emails, env.IPs = nilIfEmpty(w.emails), nilIfEmpty(w.ips)
	if len(w.ips) > 0 {
		env.IP = w.ips[0]
	}
	// The time is parsed by fill, for matches and conditions that read it.
	w.timeText = f.time
	w.lazy |= needTime
	w.raw, w.isEnv, w.envID = rec, false, ""
	return w.run(ctx, cands, dst), nil
}

func (w *Worker) evalEnvelopeJSON(ctx context.Context, data []byte, dst []Match) ([]Match, error) {
	rs := w.eng.rules.Load()
	f := &w.dec.f
	d := &w.dec
	env := &w.env
	lt := event.LogType(f.logType)
	if !lt.Valid() {
		return dst, fmt.Errorf("envelope %s: unknown log type %q", f.id, f.logType)
	}
	env.reset()
	env.LogType, env.Source, env.Actor = f.logType, f.source, f.actor
	if err := d.detailInto(data, f.detail, env); err != nil {
		return dst, err
	}
	if lt == event.Operation && rs.usesAdmin {
		w.noteAdmin(ctx, env.Actor, f.time)
	}
	cands := w.candidates(rs, lt, indexKey(lt, env))
	if len(cands) == 0 {
		return dst, nil
	}
	var err error
	if w.emails, err = d.stringArray(data, f.emails, w.emails[:0]); err != nil {
		return dst, err
	}
	if w.ips, err = d.stringArray(data, f.ips, w.ips[:0]); err != nil {
		return dst, err
	}
	env.Emails, env.IPs = nilIfEmpty(w.emails), nilIfEmpty(w.ips)
	if len(w.ips) > 0 {
		env.IP = w.ips[0]
	}
	if t, ok := parseTime(f.time); ok {
		env.Time = t
	}
	w.raw, w.isEnv, w.envID, w.lazy = data[f.raw.start:f.raw.end], true, f.id, 0
	return w.run(ctx, cands, dst), nil
}

// noteAdmin notes an operator for is_admin, seen at the record time timeText. email may alias
// the input, which is reused after the event, so what the engine keeps is a copy; the worker
// remembers whom it already noted, so an operator is copied and noted once, not on every
// record.
func (w *Worker) noteAdmin(ctx context.Context, email, timeText string) {
	if email == "" || email == w.lastNoted {
		return // an operator's records usually come in runs
	}
	if owned, ok := w.noted[email]; ok {
		w.lastNoted = owned
		return
	}
	if w.noted == nil || len(w.noted) >= maxNoted {
		w.noted = map[string]string{}
	}
	email = strings.Clone(email)
	w.noted[email], w.lastNoted = email, email
	at, _ := parseTime(timeText) // the record's time; zero (read as now) when unreadable
	w.eng.admins.note(ctx, email, at)
}

// maxNoted bounds Worker.noted; past it the set starts over (noting again is harmless).
const maxNoted = 4096

// EvalEnvelope evaluates a decoded envelope.
func (w *Worker) EvalEnvelope(ctx context.Context, e *event.Envelope, dst []Match) []Match {
	rs := w.eng.rules.Load()
	env := &w.env
	env.reset()
	env.LogType, env.Source, env.Actor, env.Time = string(e.LogType), e.Source, e.Actor, e.Time
	env.Emails, env.IPs = e.Emails, e.IPs
	env.setDetail(&e.Detail)
	if len(e.IPs) > 0 {
		env.IP = e.IPs[0]
	}
	if e.LogType == event.Operation && rs.usesAdmin {
		w.eng.admins.note(ctx, e.Actor, e.Time)
	}
	cands := w.candidates(rs, e.LogType, indexKey(e.LogType, env))
	if len(cands) == 0 {
		return dst
	}
	w.raw, w.isEnv, w.envID, w.lazy = e.Raw, true, e.ID, 0
	return w.run(ctx, cands, dst)
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// run evaluates cands against w.env.
func (w *Worker) run(ctx context.Context, cands []*Rule, dst []Match) []Match {
	w.sys.ctx, w.sys.raw = ctx, w.raw
	w.lowState, w.curID = lowUnknown, ""
	env := &w.env
	for _, r := range cands {
		if r.isSuppressed(env) {
			continue
		}
		if !r.text.empty() && !w.eng.noGuards && w.lowerText() && !r.text.mayMatch(w.lowGrams) {
			continue // the text lacks a literal the condition requires
		}
		env.Params = r.Params
		ok, err := w.verdict(r)
		if err != nil {
			w.lastErr = err
			w.eng.conditionError(r, w.eventID(), err)
			continue
		}
		if !ok {
			continue
		}
		var counted *absorbed
		if w.absorbs(r) {
			var drop bool
			if drop, counted = w.absorb(r); drop {
				continue
			}
		}
		quiet, err := w.quiet(r)
		var m Match
		switch {
		case err != nil:
		case quiet && w.eng.opts.NoDedup:
			continue // nothing to remember, and no alert
		case quiet:
			m, err = w.quietMatch(r)
		default:
			m, err = w.match(r)
		}
		if err != nil {
			w.forget(counted)
			w.lastErr = err
			w.eng.conditionError(r, w.eventID(), err)
			continue
		}
		m.absorbed = counted
		dst = append(dst, m)
	}
	return dst
}

// quiet says a match of r on the current event is a quiet first sighting (Match.Quiet):
// r's FirstSeenAlertIf does not hold.
func (w *Worker) quiet(r *Rule) (bool, error) {
	if r.alertIf == nil {
		return false, nil
	}
	alert, err := w.alertIf(r)
	return !alert, err
}

// alertIf evaluates r's FirstSeenAlertIf on the current event, natively unless that leaves
// the event to the VM.
func (w *Worker) alertIf(r *Rule) (bool, error) {
	if r.alertNative != nil && !w.eng.noGuards {
		w.bail = false
		if ok := r.alertNative(w); !w.bail {
			return ok, nil
		}
	}
	w.fillMatch(r)
	out, err := w.vm.Run(r.alertIf, &w.env)
	if err != nil {
		return false, fmt.Errorf("first_seen_alert_if: %w", err)
	}
	ok, _ := out.(bool)
	return ok, nil
}

// verdict evaluates r's condition on the current event: natively when it compiled to Go and
// does not bail out, else by the VM after the literal guards.
func (w *Worker) verdict(r *Rule) (bool, error) {
	if !w.eng.noGuards {
		if g := r.guards; len(g) == 1 && g[0].native != nil {
			if r.actorOnly {
				if v, ok := w.actorVerdict(r); ok {
					return v, nil
				}
			}
			w.bail = false
			if ok := g[0].native(w); !w.bail {
				if r.actorOnly {
					w.rememberVerdict(r, ok)
				}
				return ok, nil
			}
		} else if !w.guardsPass(r) {
			return false, nil
		}
	}
	if w.lazy&r.needs != 0 {
		w.fill(r.needs)
	}
	out, err := w.vm.Run(r.program, &w.env)
	if err != nil {
		return false, err
	}
	ok, _ := out.(bool)
	return ok, nil
}

// eventID returns the current event's ID, computing a raw record's identity when needed.
func (w *Worker) eventID() string {
	if w.curID != "" {
		return w.curID // an owned copy, shared by every match of the event
	}
	if w.isEnv {
		w.curID = strings.Clone(w.envID)
	} else {
		w.curID = w.recordID(w.env.Source, event.LogType(w.env.LogType), w.raw)
	}
	return w.curID
}

// fill completes the lazily filled parts of a raw operation record.
func (w *Worker) fill(needs uint8) {
	env := &w.env
	if w.lazy&needs&needDetail != 0 {
		detail := w.eng.parseDetail(env.Text)
		detail.Category, detail.Action = env.Category, env.Action
		env.setDetail(&detail)
	}
	if w.lazy&needs&needTime != 0 {
		if t, ok := parseTime(w.timeText); ok {
			env.Time = t
		} else {
			env.Time = w.eng.opts.Now().UTC().Truncate(time.Second)
		}
	}
	if w.lazy&needs&needEmails != 0 {
		w.emails = w.dec.appendEmails(w.emails[:0], env.Actor)
		w.emails = w.dec.appendEmails(w.emails, env.Text)
		env.Emails = nilIfEmpty(w.emails)
	}
	w.lazy &^= needs
}

// fillMatch completes what building a match of r reads: the fields of its templates and
// FirstSeenAlertIf, and the time.
func (w *Worker) fillMatch(r *Rule) {
	if needs := r.matchNeeds | needTime; w.lazy&needs != 0 {
		w.fill(needs)
	}
}

func (w *Worker) match(r *Rule) (Match, error) {
	env := &w.env
	w.fillMatch(r)
	m := Match{
		Rule: r, EventID: w.eventID(), Source: env.Source,
		LogType: event.LogType(env.LogType), Time: env.Time,
	}
	// The sample and the rendered strings share one allocation, built in a reused buffer:
	// [sample | source (envelopes) | title | dedup key | distinct | first-seen key]. A raw
	// record's source is the engine's own string; an envelope's aliases the input.
	b := append(w.matchBuf[:0], w.raw...)
	var ends [5]int
	ends[0] = len(b)
	if w.isEnv {
		b = append(b, env.Source...)
	}
	ends[1] = len(b)
	var err error
	for i, t := range []*textTemplate{r.title, r.dedupKey, r.distinct, r.firstSeen} {
		if t != nil {
			if b, err = t.appendTo(b, env); err != nil {
				w.matchBuf = b
				return m, err
			}
		}
		if i < 3 {
			ends[i+2] = len(b)
		}
	}
	w.matchBuf = b
	block := bytes.Clone(b)
	if ends[0] > 0 {
		m.Sample = json.RawMessage(block[:ends[0]:ends[0]]) // nil without a raw record, as before
	}
	if w.isEnv {
		m.Source = bytesToString(block[ends[0]:ends[1]])
	}
	m.Title = bytesToString(block[ends[1]:ends[2]])
	m.DedupKey = r.ID
	if r.dedupKey != nil {
		m.DedupKey = bytesToString(block[ends[2]:ends[3]])
	}
	m.Distinct = bytesToString(block[ends[3]:ends[4]])
	m.FirstSeenKey = bytesToString(block[ends[4]:])
	return m, nil
}

// quietID stands for the event ID of a quiet first sighting in State: nothing is ever raised
// for it, so its redeliveries need not be told from other sightings, and a raw record's ID is
// not computed for it. It also keeps a quiet sighting from alerting when redelivered after
// its user became an admin: a key's first sighting alerts or not once.
const quietID = "quiet"

// quietMatch is the match of a quiet first sighting (Match.Quiet): all Decide reads of it
// is the rule, the time and the first-seen key.
func (w *Worker) quietMatch(r *Rule) (Match, error) {
	env := &w.env
	w.fillMatch(r)
	m := Match{Rule: r, EventID: quietID, LogType: event.LogType(env.LogType), Time: env.Time, Quiet: true}
	b, err := r.firstSeen.appendTo(w.matchBuf[:0], env)
	w.matchBuf = b
	if err != nil {
		return m, err
	}
	m.FirstSeenKey = string(b)
	return m, nil
}

func execTemplate(t *template.Template, data any) (string, error) {
	var sb strings.Builder
	if err := t.Execute(&sb, data); err != nil {
		return "", err
	}
	return sb.String(), nil
}

func (e *Engine) conditionError(r *Rule, eventID string, err error) {
	e.errors.add(r.ID)
	e.opts.Logger.Error("rule condition failed", "rule_id", r.ID, "event_id", eventID, "error", oneLine(err.Error()))
}

// learning says whether a first sighting at t falls in r's learning period
// (Rule.FirstSeenLearn): before the rule began watching or less than the period after.
func (e *Engine) learning(ctx context.Context, r *Rule, t time.Time) (bool, error) {
	if r.FirstSeenLearn <= 0 {
		return false, nil
	}
	e.watchingMu.Lock()
	since, ok := e.watching[r.ID]
	e.watchingMu.Unlock()
	if !ok {
		var err error
		if since, err = e.state.WatchingSince(ctx, r.ID, t); err != nil {
			return false, err
		}
		e.watchingMu.Lock()
		e.watching[r.ID] = since
		e.watchingMu.Unlock()
	}
	return t.Before(since.Add(r.FirstSeenLearn)), nil
}

// Decide turns a match into an alert, or nil when grouping, thresholds or first-seen state
// absorb it. With Options.NoDedup every match is an alert. Matches may come in any order
// (State's buckets do not depend on it). An alert's ID is stable: a redelivered match whose
// alert was never acknowledged (Ack) yields the same alert again, with the same ID.
func (e *Engine) Decide(ctx context.Context, m Match) (*alert.Alert, error) {
	r := m.Rule
	if e.opts.NoDedup {
		a := alertOf(m)
		a.ID = EventAlertID(r.ID, m.EventID)
		return a, nil
	}
	if m.FirstSeenKey != "" {
		first, err := e.state.FirstSeen(ctx, r.ID+"|"+m.FirstSeenKey, m.EventID, m.Time, r.FirstSeenTTL)
		if err != nil {
			return nil, fmt.Errorf("rule %s: first-seen state: %w", r.ID, err)
		}
		if !first {
			return nil, nil
		}
		// Asked for quiet sightings too, so the rule's watching begins with its first
		// sighting of any kind.
		learning, err := e.learning(ctx, r, m.Time)
		if err != nil {
			return nil, fmt.Errorf("rule %s: first-seen state: %w", r.ID, err)
		}
		if m.Quiet || learning {
			if !m.Quiet {
				e.learned.add(r.ID)
			}
			e.decided(m, Decision{})
			return nil, nil
		}
	}
	d, err := e.state.Observe(ctx, Observation{
		RuleID: r.ID, Key: m.DedupKey, EventID: m.EventID, Time: m.Time,
		Period: r.DedupPeriod, Threshold: r.Threshold, Distinct: m.Distinct,
	})
	if err != nil {
		return nil, fmt.Errorf("rule %s: dedup state: %w", r.ID, err)
	}
	e.decided(m, d)
	if !d.Fire {
		return nil, nil
	}
	a := alertOf(m)
	a.ID, a.EventCount, a.FirstSeen, a.LastSeen = d.AlertID, d.Count, d.First, d.Last
	if len(d.EventIDs) > 0 {
		a.EventIDs = d.EventIDs
	}
	return a, nil
}

// alertOf is the alert of m's event alone; Decide built one for every match before knowing
// whether it fired, most of which do not.
func alertOf(m Match) *alert.Alert {
	r := m.Rule
	return &alert.Alert{
		RuleID: r.ID, Name: r.Name, Severity: r.Severity, Title: m.Title, DedupKey: m.DedupKey,
		EventCount: 1, FirstSeen: m.Time, LastSeen: m.Time, Source: m.Source,
		LogType: string(m.LogType), Runbook: r.Runbook, Reference: r.Reference, MITRE: r.MITRE,
		EventIDs: []string{m.EventID}, Samples: []json.RawMessage{m.Sample},
	}
}

// Ack records that a was delivered, so redelivering the event that raised it no longer raises
// it again (State.Ack). Call it after each alert is delivered; until then the alert is
// repeated for redeliveries. With Options.NoDedup there is nothing to record.
func (e *Engine) Ack(ctx context.Context, a alert.Alert) error {
	if e.opts.NoDedup || a.ID == "" {
		return nil
	}
	if err := e.state.Ack(ctx, a.ID); err != nil {
		return fmt.Errorf("rule %s: acknowledge alert %s: %w", a.RuleID, a.ID, err)
	}
	e.acked(a.ID)
	return nil
}

// Detect implements the pipeline's detector: evaluate a batch of envelopes, in order, and
// return the alerts raised, each alert ID once (a batch holding an event twice repeats its
// unacknowledged alert, which one delivery serves).
func (e *Engine) Detect(ctx context.Context, batch []event.Envelope) ([]alert.Alert, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	w := e.callWorker()
	var (
		out     []alert.Alert
		matches []Match
		err     error
		ids     = map[string]bool{}
	)
	for i := range batch {
		matches = w.EvalEnvelope(ctx, &batch[i], matches[:0])
		if out, err = e.decideInto(ctx, matches, out, ids); err != nil {
			return out, err
		}
	}
	return out, nil
}

// callWorker is the worker of Detect and DetectEnvelopeJSON, whose callers hold e.mu.
func (e *Engine) callWorker() *Worker {
	if e.detect == nil {
		e.detect = e.NewWorker()
	}
	e.detect.sys.clockUses = 0 // a call may come long after the previous one
	return e.detect
}

// decideInto decides ms in order, appending the alerts raised to out; with ids, an alert ID
// already in it is not appended again (a batch holding an event twice repeats its
// unacknowledged alert, which one delivery serves).
func (e *Engine) decideInto(ctx context.Context, ms []Match, out []alert.Alert, ids map[string]bool) ([]alert.Alert, error) {
	for _, m := range ms {
		a, err := e.Decide(ctx, m)
		if err != nil {
			return out, err
		}
		if a == nil || ids[a.ID] {
			continue
		}
		if ids != nil {
			ids[a.ID] = true
		}
		out = append(out, *a)
	}
	return out, nil
}

// EnvelopeInfo names the envelope DetectEnvelopeJSON evaluated.
type EnvelopeInfo struct {
	// ID, Source and LogType are the envelope's id, source and log_type, as far as it had
	// them (an InputError may come with some of them empty).
	ID, Source string
	LogType    event.LogType
}

// InputError is input DetectEnvelopeJSON cannot evaluate: not JSON, not an envelope, or an
// envelope without an id, a known log type or a raw record. Retrying it cannot help.
type InputError struct {
	// ID is the envelope's id when it has one.
	ID     string
	Reason string
}

// Error implements error.
func (e *InputError) Error() string {
	if e.ID != "" {
		return "envelope " + e.ID + ": " + e.Reason
	}
	return e.Reason
}

// DetectEnvelopeJSON is Detect for one envelope as the stream carries it: JSON bytes, read
// by the engine's own scanner, the path the benchmarks and the CLI take. Input it cannot
// evaluate is an *InputError; any other error is the state's, and evaluating the envelope
// again is safe (see Decide).
func (e *Engine) DetectEnvelopeJSON(ctx context.Context, data []byte) (EnvelopeInfo, []alert.Alert, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	w := e.callWorker()
	if err := w.dec.object(data); err != nil {
		return EnvelopeInfo{}, nil, &InputError{Reason: "not an envelope: " + err.Error()}
	}
	f := &w.dec.f
	// Owned copies: the fields alias data, which the caller may reuse.
	info := EnvelopeInfo{ID: strings.Clone(f.id), Source: strings.Clone(f.source), LogType: event.LogType(strings.Clone(f.logType))}
	switch {
	case !f.isEnvelope(data):
		return info, nil, &InputError{ID: info.ID, Reason: "not an envelope: no raw record object"}
	case info.ID == "":
		return info, nil, &InputError{Reason: "envelope has no id"}
	case !info.LogType.Valid():
		return info, nil, &InputError{ID: info.ID, Reason: fmt.Sprintf("unknown log_type %q", info.LogType)}
	}
	if _, ok := parseTime(f.time); f.time != "" && !ok {
		return info, nil, &InputError{ID: info.ID, Reason: fmt.Sprintf("time %q is not RFC 3339", f.time)}
	}
	matches, err := w.evalEnvelopeJSON(ctx, data, e.matchBuf[:0])
	e.matchBuf = matches[:0]
	if err != nil {
		return info, nil, &InputError{ID: info.ID, Reason: err.Error()}
	}
	out, err := e.decideInto(ctx, matches, nil, nil)
	return info, out, err
}

// cmpOr returns the first non-nil error.
func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// guardsPass checks r's guards, filling lazily parsed fields only when a guard reads them.
func (w *Worker) guardsPass(r *Rule) bool {
	return w.allPass(r.guards)
}

func (w *Worker) allPass(gs []guard) bool {
	for i := range gs {
		if !w.guardPasses(&gs[i]) {
			return false
		}
	}
	return true
}

func (w *Worker) guardPasses(g *guard) bool {
	if g.alts != nil {
		for _, alt := range g.alts {
			if w.allPass(alt) {
				return true
			}
		}
		return false
	}
	if w.lazy&g.needs != 0 {
		w.fill(g.needs)
	}
	return g.op(g.get(&w.env), g.lit)
}
