package onboard

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strings"

	"github.com/zoomwatch/zoomwatch/internal/event"
	"github.com/zoomwatch/zoomwatch/internal/zoom"
)

//go:embed templates/page.html templates/style.css
var templateFS embed.FS

// pages is the parsed page template and its stylesheet, with the stylesheet's CSP hash. It is
// built once per Handler (no package-level state).
type pages struct {
	tmpl  *template.Template
	style template.CSS
	csp   string
}

func loadPages() (*pages, error) {
	css, err := templateFS.ReadFile("templates/style.css")
	if err != nil {
		return nil, fmt.Errorf("read page stylesheet: %w", err)
	}
	tmpl, err := template.ParseFS(templateFS, "templates/page.html")
	if err != nil {
		return nil, fmt.Errorf("parse page template: %w", err)
	}
	sum := sha256.Sum256(css)
	return &pages{
		tmpl:  tmpl,
		style: template.CSS(css), // our own embedded file, not input
		// No scripts, images, fonts or forms; only the one inline stylesheet, pinned by hash
		// rather than 'unsafe-inline' so injected markup could not style the page either.
		csp: "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
			"'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
	}, nil
}

// setSecurityHeaders sets the headers every response carries, redirects included.
func (p *pages) setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", p.csp)
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
}

// page is what the template shows. Every field is plain text; html/template escapes it.
type page struct {
	Status     int
	Kind       OutcomeKind
	Tone       string // ok, warn, error, info
	Title      string
	Lead       string
	Facts      []fact
	Checks     []checkRow
	StepsTitle string
	Steps      []string
	Style      template.CSS
	// Index is the explanation page, which reports no outcome.
	Index bool
}

// ToneLabel is the word the badge shows, so the tone is not carried by colour alone.
func (p page) ToneLabel() string {
	switch p.Tone {
	case "ok":
		return "Success"
	case "warn":
		return "Needs attention"
	case "error":
		return "Failed"
	}
	return "Setup"
}

type fact struct {
	Name, Value string
	Code        bool
}

type checkRow struct {
	Report, Path, Result, Records string
	OK                            bool
}

// render writes pg with the security headers.
func (p *pages) render(w http.ResponseWriter, pg page) {
	pg.Style = p.style
	if pg.StepsTitle == "" {
		pg.StepsTitle = "What to do"
	}
	var buf bytes.Buffer
	if err := p.tmpl.Execute(&buf, pg); err != nil {
		// The template is ours and its data plain strings; this cannot happen short of a
		// programming error, which the golden tests catch.
		http.Error(w, "page could not be rendered", http.StatusInternalServerError)
		return
	}
	p.setSecurityHeaders(w.Header())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(pg.Status)
	_, _ = w.Write(buf.Bytes())
}

// pageContext is what a page may mention besides the outcome.
type pageContext struct {
	RedirectURL string
	Sources     []string
	TTLMinutes  int
}

const restart = "Open the setup link from your deployment again (…/start?source=…&setup=…) and choose Allow on Zoom's page."

// pageFor describes an outcome to the admin: what happened and what to do.
func pageFor(o Outcome, pc pageContext) page {
	src := o.Source
	if src == "" {
		src = "(unknown)"
	}
	pg := page{Kind: o.Kind}
	switch o.Kind {
	case Connected:
		pg.Status, pg.Tone = http.StatusOK, "ok"
		pg.Title = "Zoom is connected"
		pg.Lead = "zoomwatch stored the tokens for source “" + src + "” and read both audit reports. The poller picks them up on its next run, within five minutes."
		pg.Facts = connectedFacts(o)
		pg.Checks = checkRows(o.Verify)
		pg.StepsTitle = "Next"
		pg.Steps = []string{
			"You can close this page. Alerts arrive by email and Slack as configured in your deployment.",
			"Keep the setup link private: whoever holds it can connect a Zoom account in place of this one.",
		}
	case ConnectedUnverified:
		pg.Status, pg.Tone = http.StatusOK, "warn"
		pg.Title = "Connected, but the reports could not be read yet"
		pg.Lead = "zoomwatch stored the tokens for source “" + src + "”, but reading the audit reports failed for a reason that is usually temporary (" + failureKinds(o.Verify) + ")."
		pg.Facts = connectedFacts(o)
		pg.Checks = checkRows(o.Verify)
		pg.Steps = []string{
			"Nothing to do if this was a rate limit or a network problem: the poller tries again every five minutes and raises an alarm if it keeps failing.",
			"If the alarm fires, the poller's log names the failing report and Zoom's answer.",
		}
	case MissingScopes:
		pg.Status, pg.Tone = http.StatusForbidden, "error"
		pg.Title = "The Zoom app is missing a scope"
		pg.Lead = "Zoom accepted the connection for source “" + src + "”, but the app may not read the audit reports (Zoom error 4700)."
		pg.Facts = connectedFacts(o)
		pg.Checks = checkRows(o.Verify)
		pg.Steps = []string{
			"In the Zoom App Marketplace, open your app, go to Scopes and add " + zoom.ScopeReportRead +
				" (or the granular " + zoom.ScopeOperationLogsRead + " and " + zoom.ScopeUserActivitiesRead + ").",
			restart + " Zoom asks again because the scopes changed.",
		}
	case NoReportPermission:
		pg.Status, pg.Tone = http.StatusForbidden, "error"
		pg.Title = "Your Zoom user cannot view reports"
		pg.Lead = "Zoom accepted the connection for source “" + src + "”, but the user who allowed it lacks the admin rights to view reports (Zoom error 200)."
		pg.Facts = connectedFacts(o)
		pg.Checks = checkRows(o.Verify)
		pg.Steps = []string{
			"Sign in to Zoom as an owner or admin whose role may view reports (Admin Activity Logs and Sign In/Sign Out), or ask the account owner to add that right to your role under User Management → Roles.",
			restart,
		}
	case AccessDenied:
		pg.Status, pg.Tone = http.StatusForbidden, "warn"
		pg.Title = "Access was not allowed"
		pg.Lead = "Zoom reports that access was declined, so zoomwatch cannot read this Zoom account. Nothing was stored."
		pg.Steps = []string{restart}
	case ZoomRefused:
		pg.Status, pg.Tone = http.StatusBadGateway, "error"
		pg.Title = "Zoom did not authorize zoomwatch"
		pg.Lead = "Zoom sent back the error “" + o.ZoomError + "”. Nothing was stored."
		pg.Steps = []string{
			"Check in the Zoom App Marketplace that the app is activated and that its Redirect URL is exactly " + pc.RedirectURL + ".",
			restart,
		}
	case BadState:
		pg.Status, pg.Tone = http.StatusBadRequest, "error"
		pg.Title = "This authorization response is not valid"
		pg.Lead = "The response did not come from a request this zoomwatch deployment started, so it was ignored. Nothing was stored."
		pg.Steps = []string{
			"If you did not start connecting Zoom just now, someone may have sent you this link: do not continue, and tell your security team.",
			restart,
		}
	case ExpiredState:
		pg.Status, pg.Tone = http.StatusBadRequest, "warn"
		pg.Title = "This authorization took too long"
		pg.Lead = fmt.Sprintf("An authorization must finish within %d minutes of opening the setup link. Nothing was stored.", pc.TTLMinutes)
		pg.Steps = []string{restart}
	case ReplayedState:
		pg.Status, pg.Tone = http.StatusBadRequest, "warn"
		pg.Title = "This authorization response was already used"
		pg.Lead = "Each response from Zoom can be used once, and this one was used before (reloading the page or going back can cause this). Nothing new was stored."
		pg.Steps = []string{
			"If the earlier attempt showed “Zoom is connected”, you are done.",
			"Otherwise: " + restart,
		}
	case OtherBrowser:
		pg.Status, pg.Tone = http.StatusBadRequest, "warn"
		pg.Title = "Finish in the browser you started in"
		pg.Lead = "This response belongs to an authorization started in another browser or tab, or the browser did not keep zoomwatch's cookie. Nothing was stored."
		pg.Steps = []string{
			"Allow cookies for this site, and do not start a second authorization while one is open.",
			restart,
		}
	case CodeRejected:
		pg.Status, pg.Tone = http.StatusBadRequest, "error"
		pg.Title = "Zoom rejected the authorization code"
		pg.Lead = "The code from Zoom expired (codes last five minutes), was already used, or belongs to another Redirect URL. Nothing was stored."
		pg.Steps = []string{
			restart + " Finish within a few minutes.",
			"If it keeps happening, check that the app's Redirect URL is exactly " + pc.RedirectURL + ".",
		}
	case BadClient:
		pg.Status, pg.Tone = http.StatusBadGateway, "error"
		pg.Title = "Zoom rejected the app's Client ID or Client Secret"
		pg.Lead = "The code could not be exchanged because Zoom did not accept the credentials stored for source “" + src + "”. Nothing was stored."
		pg.Steps = []string{
			"Copy the Client ID and Client Secret from the app's App Credentials page in the Zoom App Marketplace into the source's secret (client_id, client_secret).",
			restart,
		}
	case ZoomUnavailable:
		pg.Status, pg.Tone = http.StatusBadGateway, "error"
		pg.Title = "Zoom could not be reached"
		pg.Lead = "The token request to Zoom failed without an answer zoomwatch could use (" + string(zoom.KindOf(o.Err)) + "). Nothing was stored."
		pg.Steps = []string{"Wait a few minutes, then: " + restart}
	case StoreFailed:
		pg.Status, pg.Tone = http.StatusInternalServerError, "error"
		pg.Title = "The source's secret could not be read or written"
		pg.Lead = "zoomwatch could not use the secret of source “" + src + "”, so the connection was not saved."
		pg.Steps = []string{
			"Check that the onboarding function may read and write the source's secret; its log has the details.",
			restart,
		}
	case NotConfigured:
		pg.Status, pg.Tone = http.StatusConflict, "warn"
		pg.Title = "Enter the app's credentials first"
		pg.Lead = "Source “" + src + "” has no Client ID or Client Secret yet, so zoomwatch cannot ask Zoom for access."
		pg.Steps = []string{
			"Put the OAuth app's Client ID and Client Secret into the source's secret (client_id, client_secret, auth_type \"oauth\").",
			"Then open the setup link again.",
		}
	case BadSetupToken:
		pg.Status, pg.Tone = http.StatusForbidden, "error"
		pg.Title = "This setup link is not valid"
		pg.Lead = "The setup token is missing or wrong, so zoomwatch will not start connecting a Zoom account."
		pg.Steps = []string{"Use the complete setup link from your deployment: its setup token is kept in the deployment's setup secret in AWS Secrets Manager."}
	case UnknownSource:
		pg.Status, pg.Tone = http.StatusNotFound, "error"
		pg.Title = "Unknown source"
		pg.Lead = "This deployment has no Zoom source “" + src + "” that connects through an OAuth app."
		if len(pc.Sources) == 0 {
			pg.Steps = []string{"Add a source with auth_type \"oauth\" to the deployment's configuration, deploy, then use its setup link."}
		} else {
			pg.Steps = []string{"Use one of: " + strings.Join(pc.Sources, ", ") + "."}
		}
	case NotFound:
		pg.Status, pg.Tone = http.StatusNotFound, "error"
		pg.Title = "Page not found"
		pg.Lead = "This address serves only the Zoom connection pages."
	default: // BadRequest
		pg.Kind = BadRequest
		pg.Status, pg.Tone = http.StatusBadRequest, "error"
		pg.Title = "This request cannot be served"
		pg.Lead = "The request is missing what this page needs. Nothing was stored."
		pg.Steps = []string{restart}
	}
	return pg
}

// indexPage explains the setup and shows the Redirect URL to register in the Zoom app.
func indexPage(pc pageContext) page {
	return page{
		Status: http.StatusOK,
		Kind:   "index",
		Index:  true,
		Tone:   "info",
		Title:  "Connect a Zoom account to zoomwatch",
		Lead:   "zoomwatch reads your Zoom account's admin operation logs and sign-in activity to alert on risky changes. Connecting takes one OAuth app and one click.",
		Facts: []fact{
			{Name: "Redirect URL", Value: pc.RedirectURL, Code: true},
			{Name: "Scope", Value: zoom.ScopeReportRead, Code: true},
			{Name: "or, granular", Value: zoom.ScopeOperationLogsRead + " " + zoom.ScopeUserActivitiesRead, Code: true},
		},
		StepsTitle: "How to connect",
		Steps: []string{
			"In the Zoom App Marketplace, create a General (OAuth) app that an admin installs for the account.",
			"Paste the Redirect URL above into the app's OAuth Redirect URL and its OAuth allow list.",
			"Add the scope above (or both granular scopes).",
			"Store the app's Client ID and Client Secret in the source's secret.",
			"Open the setup link from your deployment (…/start?source=…&setup=…), sign in as a Zoom admin who can view reports, and choose Allow.",
		},
	}
}

func connectedFacts(o Outcome) []fact {
	f := []fact{{Name: "Source", Value: o.Source}}
	if len(o.Scopes) > 0 {
		f = append(f, fact{Name: "Scopes granted", Value: strings.Join(o.Scopes, " "), Code: true})
	}
	return f
}

// reportNames are the reports as an admin knows them from Zoom's admin portal.
func reportName(lt event.LogType) string {
	switch lt {
	case event.Operation:
		return "Operation logs"
	case event.Activity:
		return "Sign-in/sign-out activity"
	}
	return string(lt)
}

func checkRows(v zoom.VerifyResult) []checkRow {
	rows := make([]checkRow, 0, len(v.Checks))
	for _, c := range v.Checks {
		r := checkRow{Report: reportName(c.LogType), Path: c.Path, OK: c.OK}
		if c.OK {
			r.Result = "Readable"
			r.Records = fmt.Sprintf("%d", c.Records)
			if c.More {
				r.Records += "+ (more pages)"
			}
		} else {
			r.Result = "Not readable: " + checkProblem(c)
			r.Records = "–"
		}
		rows = append(rows, r)
	}
	return rows
}

// checkProblem says in a few words why a report could not be read.
func checkProblem(c zoom.EndpointCheck) string {
	var perm *zoom.PermissionError
	if errors.As(c.Err, &perm) {
		if perm.MissingScopes {
			return "the app lacks a report scope (Zoom error 4700)"
		}
		return "the user may not view reports (Zoom error 200)"
	}
	switch c.Kind {
	case zoom.KindRateLimit:
		return "rate limited by Zoom"
	case zoom.KindDailyLimit:
		return "Zoom's daily request limit is reached"
	case zoom.KindNetwork, zoom.KindCanceled:
		return "Zoom did not answer in time"
	case zoom.KindAuth, zoom.KindGrantRejected:
		return "Zoom refused the new token"
	case zoom.KindBadResponse:
		return "Zoom's answer was not a report page"
	}
	return "unexpected error (" + string(c.Kind) + ")"
}

func failureKinds(v zoom.VerifyResult) string {
	var ks []string
	for _, c := range v.Checks {
		if !c.OK {
			ks = append(ks, reportName(c.LogType)+": "+checkProblem(c))
		}
	}
	if len(ks) == 0 {
		return "no report was checked"
	}
	return strings.Join(ks, "; ")
}
