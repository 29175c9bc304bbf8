package auth

import (
	"context"

	"github.com/monobase/monobase/db"
)

// SignInAllowed returns nil when a password sign-in to the auth
// collection c as identity, from the client IP in ctx (see
// ratelimit.Middleware, which Middleware installs), may check a password
// now. Over a budget of SignInLimits it returns a RATE_LIMITED
// *apperr.Error with the wait (extensions.retryAfter), whether or not the
// identity exists; call it before looking up the record so that a refused
// sign-in costs no hash check.
func (s *Service) SignInAllowed(ctx context.Context, c *db.Collection, identity string) error {
	return s.signIn().Check(ctx, c.ID, identity)
}

// SignInFailed counts a failed password sign-in (wrong password or no such
// identity) to c as identity against the identity's and the client IP's
// budgets.
func (s *Service) SignInFailed(ctx context.Context, c *db.Collection, identity string) {
	s.signIn().Failed(ctx, c.ID, identity)
}

// PasswordChecks returns how many password hashes CheckPassword has
// compared since the service started (for tests and metrics).
func (s *Service) PasswordChecks() int64 { return s.passwordChecks.Load() }
