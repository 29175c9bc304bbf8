package graph

import (
	"context"
	"fmt"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/graph/model"
	"github.com/monobase/monobase/ratelimit"
)

// WithRateLimits makes the admin API apply the rules in force: the
// superuser sign-in counts against _superusers:authWithPassword (and
// *:auth), and updateSettings changes rl at once. Without it nothing is
// limited by the rules and settings.rateLimits is read from the database
// (defaults when never saved).
func WithRateLimits(rl *ratelimit.Rules) Option { return func(r *Resolver) { r.rl = rl } }

// superuserSignIn are the rate limit actions of authWithPassword, most
// specific first (as dynschema's <user>AuthWithPassword).
var superuserSignIn = []string{"authWithPassword", "auth"}

// rateLimitSettings returns the rules in force, else the stored ones.
func (r *Resolver) rateLimitSettings(ctx context.Context) (ratelimit.Settings, error) {
	if r.rl != nil {
		return r.rl.Settings(), nil
	}
	s, err := ratelimit.Load(ctx, r.db, ratelimit.DefaultSettings())
	if err != nil {
		return s, fmt.Errorf("load rate limits: %w", err)
	}
	return s, nil
}

// rateLimitsOut returns the admin API view of s: audience null for both.
func rateLimitsOut(s ratelimit.Settings) *model.RateLimitSettings {
	out := &model.RateLimitSettings{Enabled: s.Enabled, Rules: make([]*model.RateLimitRule, 0, len(s.Rules))}
	for _, rule := range s.Rules {
		var aud *string
		if rule.Audience != ratelimit.AudienceAll {
			aud = &rule.Audience
		}
		out.Rules = append(out.Rules, &model.RateLimitRule{Label: rule.Label, MaxRequests: rule.MaxRequests, Duration: rule.Duration, Audience: aud})
	}
	return out
}

// applyRateLimitsInput sets what in gives: enabled, and the whole list of
// rules.
func applyRateLimitsInput(s *ratelimit.Settings, in *model.RateLimitSettingsInput) {
	if in.Enabled != nil {
		s.Enabled = *in.Enabled
	}
	if in.Rules != nil {
		s.Rules = make([]ratelimit.Rule, 0, len(in.Rules))
		for _, r := range in.Rules {
			rule := ratelimit.Rule{Label: r.Label, MaxRequests: r.MaxRequests, Duration: r.Duration}
			if r.Audience != nil {
				rule.Audience = *r.Audience
			}
			s.Rules = append(s.Rules, rule)
		}
	}
}

// invalidSettings joins the BAD_USER_INPUT errors of the groups' checks
// into one naming every invalid field; another error is returned as is.
func invalidSettings(errs ...error) error {
	var fe apperr.FieldErrors
	for _, err := range errs {
		if err == nil {
			continue
		}
		e := apperr.As(err)
		if e == nil || e.Code != apperr.Invalid {
			return err
		}
		for field, f := range e.Fields {
			fe.Add(field, f.Code, "%s", f.Message)
		}
	}
	return fe.Err("invalid settings")
}
