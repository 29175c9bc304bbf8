package server

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/monobase/monobase/ratelimit"
)

// TestServeSignInLimits checks that ServeCommand.SignInLimits reach both
// sign-ins: with a budget of one failure per identity the second wrong
// password is refused with 429 RATE_LIMITED.
func TestServeSignInLimits(t *testing.T) {
	dir := t.TempDir()
	mustCLI(t, "--dir", dir, "superuser", "upsert", "admin@example.com", "admin-password")
	c := NewServeCommand(&syncBuffer{}, &syncBuffer{})
	c.Dir, c.HTTP = dir, "127.0.0.1:0"
	c.SignInLimits = ratelimit.SignInLimits{PerIdentity: ratelimit.Limit{Burst: 1, Per: time.Minute}}
	c.RateLimits = &ratelimit.Settings{} // the failed sign-in budget alone
	withTestDB(t, c)
	if err := c.Run(context.Background()); err != nil {
		t.Fatalf("serve: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	ops := map[string]string{
		"/graphql/admin": `mutation { authWithPassword(email: "admin@example.com", password: "wrong") { token } }`,
		"/graphql":       `mutation { userAuthWithPassword(identity: "ann@example.com", password: "wrong") { token } }`,
	}
	for path, op := range ops {
		for i, want := range []string{"BAD_USER_INPUT", "RATE_LIMITED"} {
			r := gql(t, c.URL()+path, "", op, nil)
			if len(r.Errors) == 0 || r.Errors[0].Extensions["code"] != want {
				t.Fatalf("%s attempt %d: %+v, want %s", path, i, r.Errors, want)
			}
			if want == "RATE_LIMITED" && r.Status != http.StatusTooManyRequests {
				t.Fatalf("%s: status %d, want 429", path, r.Status)
			}
		}
	}
}
