package dynschema

import (
	"context"

	"github.com/99designs/gqlgen/graphql"

	"github.com/monobase/monobase/ratelimit"
)

// RateLimiter applies the operation rules of settings.rateLimits
// (ratelimit.Rules).
type RateLimiter interface {
	// Operation returns nil and counts one request when an operation on
	// collection, named by actions (most specific first), may run now for
	// caller; else a RATE_LIMITED error (and the HTTP answer becomes 429).
	Operation(ctx context.Context, caller ratelimit.Caller, collection string, actions []string) error
}

// rateActions are the actions of the rate limit labels each kind of root
// field counts as, most specific first (docs/api.md "Rate limits"): a
// password sign-in matches users:authWithPassword, users:auth,
// *:authWithPassword, then *:auth. A kind without actions is not limited
// by operation rules (path rules still count its request).
var rateActions = [...][]string{
	rkSingle:               {"view"},
	rkList:                 {"list"},
	rkAggregate:            {"list"},
	rkGroupBy:              {"list"},
	rkConnection:           {"list"},
	rkCreate:               {"create"},
	rkUpdate:               {"update"},
	rkDelete:               {"delete"},
	rkAuthPassword:         {"authWithPassword", "auth"},
	rkAuthRefresh:          {"authRefresh"},
	rkRequestVerification:  {"requestVerification"},
	rkConfirmVerification:  {"confirmVerification"},
	rkRequestPasswordReset: {"requestPasswordReset"},
	rkConfirmPasswordReset: {"confirmPasswordReset"},
	rkRequestEmailChange:   {"requestEmailChange"},
	rkConfirmEmailChange:   {"confirmEmailChange"},
	rkRequestOtp:           {"requestOtp", "auth"},
	rkAuthOtp:              {"authWithOtp", "auth"},
	rkAuthOAuth2:           {"authWithOAuth2", "auth"},
	rkAuthMethods:          {"authMethods"},
	rkUnlinkOAuth2:         {"unlinkOAuth2"},
}

// rateLimit takes one request of the operation rules' budget for each root
// field of roots in fields, before any of them runs (so a refused sign-in
// looks up no record and computes no hash, and a refused create stores no
// upload). On the first refusal it reports the RATE_LIMITED error at that
// field and returns false: the whole operation is refused.
func (x *operation) rateLimit(fields []graphql.CollectedField, roots map[string]*rootField) bool {
	rl := x.v.eng.cfg.RateLimits
	if rl == nil {
		return true
	}
	caller := x.viewer.RateLimitCaller()
	if caller == ratelimit.Exempt {
		return true
	}
	for _, f := range fields {
		rf := roots[f.Name]
		if rf == nil || rf.t == nil || int(rf.kind) >= len(rateActions) || rateActions[rf.kind] == nil {
			continue
		}
		if err := rl.Operation(x.ctx, caller, rf.t.coll.Name, rateActions[rf.kind]); err != nil {
			x.push(f.Alias)
			x.fail(err, f.Field)
			x.pop()
			return false
		}
	}
	return true
}

// TakeBatch is transport.BatchCoster: a batched request's n extra
// operations take n more units of the path rule that admitted it.
func (e *Engine) TakeBatch(ctx context.Context, n int) error { return ratelimit.TakeMore(ctx, n) }
