package pipeline

import (
	"context"
	"log/slog"

	"github.com/zoomwatch/zoomwatch/internal/detect"
)

// RuleTuning re-applies the rules/* and detect/* tuning parameters to the shipped rules before
// each batch. A rejected override is logged and the rule keeps its last good settings.
type RuleTuning struct {
	Engine *detect.Engine
	// Base is the rule set as shipped (plus any extra directory), before tuning.
	Base  *detect.RuleSet
	Tuner Tuner
	Log   *slog.Logger
}

// Retune implements Retuner.
func (r *RuleTuning) Retune(ctx context.Context) error {
	params, err := r.Tuner.Params(ctx)
	if err != nil {
		return err
	}
	next, errs := detect.Tune(r.Base, r.Engine.Rules(), detect.TuningFrom(params))
	for _, e := range errs {
		if r.Log != nil {
			r.Log.ErrorContext(ctx, "invalid rule tuning ignored", "error", e)
		}
	}
	r.Engine.SetRules(next)
	return nil
}
