package zoom

import (
	"context"
	"errors"
	"fmt"

	"github.com/zoomwatch/zoomwatch/internal/event"
)

// EndpointCheck is the outcome of reading one page of one report.
type EndpointCheck struct {
	// LogType and Path name the report.
	LogType event.LogType `json:"log_type"`
	Path    string        `json:"path"`
	// OK is true when the page was read.
	OK bool `json:"ok"`
	// Kind classifies the failure (KindOK when OK).
	Kind ErrorKind `json:"kind"`
	// Records is how many records the first page held.
	Records int `json:"records"`
	// More is true when Zoom offered a further page.
	More bool `json:"more,omitempty"`
	// Error is the failure's message (free of credentials), empty when OK.
	Error string `json:"error,omitempty"`
	// Err is the failure, for errors.As.
	Err error `json:"-"`
}

// VerifyResult is the outcome of Verify: one check per report, in event.LogTypes order.
type VerifyResult struct {
	Checks []EndpointCheck `json:"checks"`
}

// OK reports whether every report could be read.
func (r VerifyResult) OK() bool {
	for _, c := range r.Checks {
		if !c.OK {
			return false
		}
	}
	return len(r.Checks) > 0
}

// Verify reads the first page of each report for yesterday and today (UTC) to show that the
// credentials, scopes and admin rights are in place. It checks every report even if one fails;
// the error joins the failures, and the result says which report failed and why.
func (c *Client) Verify(ctx context.Context) (VerifyResult, error) {
	today := dateOf(c.cfg.Now())
	w := Window{From: today.AddDate(0, 0, -1), To: today}
	var res VerifyResult
	var errs []error
	for _, lt := range event.LogTypes {
		ep, err := endpointOf(lt)
		if err != nil {
			return res, err
		}
		chk := EndpointCheck{LogType: lt, Path: ep.path}
		p, err := c.page(ctx, ep, w, "")
		if err != nil {
			chk.Kind, chk.Error, chk.Err = KindOf(err), err.Error(), err
			errs = append(errs, fmt.Errorf("verify %s: %w", lt, err))
		} else {
			chk.OK, chk.Kind, chk.Records, chk.More = true, KindOK, len(p.records), p.next != ""
		}
		res.Checks = append(res.Checks, chk)
	}
	return res, errors.Join(errs...)
}
