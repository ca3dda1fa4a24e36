package zoomsim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// reportKind is one of the two report endpoints.
type reportKind int

const (
	operationReport reportKind = iota
	activityReport
)

func (k reportKind) logType() string {
	if k == operationReport {
		return LogTypeOperation
	}
	return LogTypeActivity
}

// scopes lists the scopes that grant the report; any one is enough.
func (k reportKind) scopes() []string {
	if k == operationReport {
		return []string{ScopeReportRead, "report:read:operation_logs:admin"}
	}
	return []string{ScopeReportRead, "report:read:user_activities:admin"}
}

// Paging limits of both reports.
const (
	defaultPageSize = 30
	maxPageSize     = 300
	// maxRangeDays is the longest from..to span accepted. Zoom says "one month"; the
	// simulator takes the shortest month-like reading (30 days between the dates, 31 days of
	// data) so a client that passes here cannot be clamped by Zoom.
	maxRangeDays = 30
	// retentionMonths is how far back from may reach.
	retentionMonths = 6
)

// categoryFilters maps the category_type parameter to the category_type values of records.
// "all" (or no parameter) returns every category, including "User Group" and "Meeting",
// which have no filter value of their own.
func categoryFilter(param string) (string, bool) {
	switch param {
	case "", "all":
		return "", true
	case "user":
		return "User", true
	case "user_settings":
		return "User Settings", true
	case "account":
		return "Account", true
	case "billing":
		return "Billing", true
	case "im":
		return "IM", true
	case "recording":
		return "Recording", true
	case "phone_contacts":
		return "Phone Contacts", true
	case "webinar":
		return "Webinar", true
	case "sub_account":
		return "Sub Account", true
	case "role":
		return "Role", true
	case "zoom_rooms":
		return "Zoom Rooms", true
	}
	return "", false
}

const categoryValues = "all, user, user_settings, account, billing, im, recording, phone_contacts, webinar, sub_account, role, zoom_rooms"

// reportQuery is a validated report request.
type reportQuery struct {
	from, to  time.Time // whole UTC days; to is inclusive
	pageSize  int
	category  string // record category_type to keep; "" keeps all
	pageToken string
}

// window names the paging window a page token is bound to.
func (q reportQuery) window(k reportKind) string {
	return fmt.Sprintf("%d|%s|%s|%d|%s", k, q.from.Format(time.DateOnly), q.to.Format(time.DateOnly), q.pageSize, q.category)
}

// pageState is what a next_page_token stands for.
type pageState struct {
	window string
	asOf   time.Time // record visibility is frozen at page 1, so offsets stay stable
	offset int
	issued time.Time
}

// handleReport serves GET /v2/report/operationlogs and /v2/report/activities. The order of
// checks is: authentication, authorization, rate limits, injected failures, parameters.
func (s *Server) handleReport(w http.ResponseWriter, r *http.Request, k reportKind) {
	ctx := r.Context()
	if s.cfg.Latency > 0 && !sleep(ctx, s.cfg.Latency) {
		return
	}
	now := s.now()
	s.mu.Lock()
	s.stats.ReportRequests++
	tok, msg := s.authenticate(r, now)
	if tok == nil {
		s.stats.Unauthorized++
		s.mu.Unlock()
		writeZoomError(w, http.StatusUnauthorized, CodeInvalidToken, msg, nil)
		return
	}
	if !slices.ContainsFunc(k.scopes(), func(sc string) bool { return slices.Contains(tok.scopes, sc) }) {
		s.stats.Forbidden++
		s.mu.Unlock()
		writeZoomError(w, http.StatusBadRequest, CodeMissingScopes,
			"Invalid access token, does not contain scopes:["+strings.Join(k.scopes(), ", ")+"].", nil)
		return
	}
	if s.cfg.NoReportPermission {
		s.stats.Forbidden++
		s.mu.Unlock()
		writeZoomError(w, http.StatusBadRequest, CodeNoPermission, msgNoPermission, nil)
		return
	}
	if t := s.throttle(now); t != nil {
		s.mu.Unlock()
		t.write(w)
		return
	}
	f := s.drawFaults()
	s.mu.Unlock()

	if f.slow {
		s.count(func(st *Stats) { st.Slowed++ })
		if !sleep(ctx, s.faultsSnapshot().Slow) {
			return
		}
	}
	switch {
	case f.serverError != 0:
		s.count(func(st *Stats) { st.ServerErrors++ })
		if f.emptyBody {
			w.WriteHeader(f.serverError)
			return
		}
		writeZoomError(w, f.serverError, f.serverError, http.StatusText(f.serverError), nil)
		return
	case f.html != 0:
		s.count(func(st *Stats) { st.ServerErrors++ })
		writeHTMLError(w, f.html)
		return
	}

	q, verr := parseReportQuery(r.URL.Query(), k, now)
	if verr != nil {
		s.count(func(st *Stats) { st.ValidationErrors++ })
		writeJSON(w, http.StatusBadRequest, verr)
		return
	}
	body, n, ok := s.page(k, q, now)
	if !ok {
		s.count(func(st *Stats) { st.ValidationErrors++; st.PageTokensRejected++ })
		writeZoomError(w, http.StatusBadRequest, CodeValidation, msgBadPageToken, nil)
		return
	}
	s.mu.Lock()
	remaining := s.cfg.DailyLimit - s.dayCount
	if f.truncate {
		s.stats.Truncated++
	} else {
		s.stats.ReportPages++
		s.stats.RecordsServed += n
	}
	s.mu.Unlock()
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("X-RateLimit-Category", "Heavy")
	if s.cfg.DailyLimit > 0 {
		h.Set("X-RateLimit-Limit", strconv.Itoa(s.cfg.DailyLimit))
		h.Set("X-RateLimit-Remaining", strconv.Itoa(max(remaining, 0)))
	}
	if f.truncate {
		// Cut inside the JSON so that no prefix can be mistaken for a whole page.
		body = body[:len(body)/2]
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

func (s *Server) count(f func(*Stats)) {
	s.mu.Lock()
	f(&s.stats)
	s.mu.Unlock()
}

func (s *Server) faultsSnapshot() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}

// parseReportQuery validates a report request's parameters as Zoom does, answering the first
// problem with code 300.
func parseReportQuery(v url.Values, k reportKind, now time.Time) (reportQuery, *zoomError) {
	today := now.UTC().Truncate(24 * time.Hour)
	fieldErr := func(field, msg string) *zoomError {
		return &zoomError{Code: CodeValidation, Message: msgValidationFailed, Errors: []fieldError{{Field: field, Message: msg}}}
	}
	var q reportQuery
	date := func(name string) (time.Time, bool, *zoomError) {
		raw := v.Get(name)
		if raw == "" {
			return time.Time{}, false, nil
		}
		t, err := time.Parse(time.DateOnly, raw)
		if err != nil {
			return time.Time{}, false, fieldErr(name, "Invalid date "+strconv.Quote(raw)+": use the format yyyy-mm-dd.")
		}
		return t, true, nil
	}
	from, hasFrom, zerr := date("from")
	if zerr != nil {
		return q, zerr
	}
	to, hasTo, zerr := date("to")
	if zerr != nil {
		return q, zerr
	}
	if k == operationReport {
		// Both dates are required by the OpenAPI description of operation logs.
		if !hasFrom {
			return q, fieldErr("from", "from is required.")
		}
		if !hasTo {
			return q, fieldErr("to", "to is required.")
		}
	}
	// Activities without dates: Zoom's default is undocumented; the simulator reads today
	// only, so a client that forgets the dates sees little rather than a silent month.
	if !hasTo {
		to = today
	}
	if !hasFrom {
		from = to
	}
	switch {
	case from.After(to):
		return q, &zoomError{Code: CodeValidation, Message: "The from date must not be later than the to date."}
	case to.Sub(from) > maxRangeDays*24*time.Hour:
		return q, &zoomError{Code: CodeValidation, Message: "The date range between from and to must not exceed one month."}
	case from.Before(today.AddDate(0, -retentionMonths, 0)):
		return q, &zoomError{Code: CodeValidation, Message: "The from date must fall within the last 6 months."}
	}
	q.from, q.to = from, to
	q.pageSize = defaultPageSize
	if raw := v.Get("page_size"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > maxPageSize {
			return q, fieldErr("page_size", "page_size must be a whole number between 1 and 300.")
		}
		q.pageSize = n
	}
	if k == operationReport {
		cat, ok := categoryFilter(v.Get("category_type"))
		if !ok {
			return q, fieldErr("category_type", "Invalid category_type "+strconv.Quote(v.Get("category_type"))+": use one of "+categoryValues+".")
		}
		q.category = cat
	}
	q.pageToken = v.Get("next_page_token")
	return q, nil
}

// page builds one report page as JSON and returns it with its record count. It returns
// ok=false when the page token is unknown, expired, bound to another window, or expired by a
// fault.
func (s *Server) page(k reportKind, q reportQuery, now time.Time) (body []byte, n int, ok bool) {
	window := q.window(k)
	asOf, offset := now, 0
	s.mu.Lock()
	if q.pageToken != "" {
		st, found := s.pages[q.pageToken]
		if !found || now.Sub(st.issued) > s.cfg.PageTokenTTL || st.window != window {
			s.mu.Unlock()
			return nil, 0, false
		}
		if s.faults.ExpirePageTokens && !s.expiredWindow[window] {
			s.expiredWindow[window] = true
			s.mu.Unlock()
			return nil, 0, false
		}
		asOf, offset = st.asOf, st.offset
	}
	s.mu.Unlock()

	set := s.ops
	if k == activityReport {
		set = s.acts
	}
	var recs [][]byte
	more := false
	skipped := 0
	for _, r := range set.between(q.from, q.to.Add(24*time.Hour)) {
		if r.visible.After(asOf) || (q.category != "" && r.category != q.category) {
			continue
		}
		if skipped < offset {
			skipped++
			continue
		}
		if len(recs) == q.pageSize {
			more = true
			break
		}
		recs = append(recs, r.raw)
	}
	next := ""
	if more {
		next = s.newPageToken(pageState{window: window, asOf: asOf, offset: offset + len(recs), issued: now})
	}

	var b bytes.Buffer
	b.Grow(64 + len(recs)*200)
	if k == operationReport {
		fmt.Fprintf(&b, `{"next_page_token":%q,"page_size":%d,"operation_logs":[`, next, q.pageSize)
	} else {
		fmt.Fprintf(&b, `{"from":%q,"to":%q,"page_size":%d,"next_page_token":%q,"activity_logs":[`,
			q.from.Format(time.RFC3339), q.to.Format(time.RFC3339), q.pageSize, next)
	}
	for i, raw := range recs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(raw)
	}
	b.WriteString("]}")
	return b.Bytes(), len(recs), true
}

// newPageToken stores st under a fresh token. Tokens are derived from the seed and a counter
// (not crypto/rand) so that a replayed request sequence yields the same bytes; they look like
// Zoom's 35-character tokens.
func (s *Server) newPageToken(st pageState) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pageCount++
	if s.pageCount%256 == 0 {
		for tok, old := range s.pages {
			if st.issued.Sub(old.issued) > s.cfg.PageTokenTTL {
				delete(s.pages, tok)
			}
		}
	}
	var seed [16]byte
	binary.BigEndian.PutUint64(seed[:8], uint64(s.cfg.Seed))
	binary.BigEndian.PutUint64(seed[8:], s.pageCount)
	sum := sha256.Sum256(seed[:])
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	tok := make([]byte, 35)
	for i := range tok {
		tok[i] = alphabet[int(sum[i%len(sum)]^byte(i/len(sum)*7))%len(alphabet)]
	}
	s.pages[string(tok)] = &st
	return string(tok)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// writeHTMLError answers like a proxy in front of Zoom that lost its upstream.
func writeHTMLError(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(status)
	text := fmt.Sprintf("%d %s", status, http.StatusText(status))
	fmt.Fprintf(w, "<html>\r\n<head><title>%s</title></head>\r\n<body>\r\n<center><h1>%s</h1></center>\r\n</body>\r\n</html>\r\n", text, text)
}
