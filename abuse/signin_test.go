package abuse

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// The sign-in group's users (public sign-up on the default users
// collection). The brute-force case spends 5 failed sign-ins of
// 127.0.0.1's budget (20 per minute, refilled one every 3 s) and locks only
// signinVictim; the admin identity is never sent a wrong password, so the
// later groups can still sign in.
const (
	signinUser     = "signin-user@example.com"
	signinVictim   = "signin-victim@example.com"
	signinOther    = "signin-other@example.com"
	signinPassword = "signin-password-1"
)

// signInAttacks lists the cases of this group (harness_test.go runs them).
func signInAttacks() []attack {
	return []attack{
		{"signin_admin_50_aliases", func(t *testing.T, s *server) {
			// 50 guesses in one anonymous request, one of them right: refused
			// before any password is checked, so no alias reveals which.
			r := s.GraphQL("/graphql/admin", "", signInAliases("authWithPassword(email: %q, password: %q)", adminEmail, adminPassword), nil)
			refusedSignIn(t, r)
		}},
		{"signin_user_50_aliases", func(t *testing.T, s *server) {
			signUp(t, s, signinUser)
			r := s.GraphQL("/graphql", "", signInAliases("userAuthWithPassword(identity: %q, password: %q)", signinUser, signinPassword), nil)
			refusedSignIn(t, r)
			// One sign-in per request still works.
			r = s.GraphQL("/graphql", "", `mutation($i: String!, $p: String!) { userAuthWithPassword(identity: $i, password: $p) { token } }`,
				map[string]any{"i": signinUser, "p": signinPassword})
			if tok, _ := r.Field("userAuthWithPassword", "token").(string); tok == "" {
				t.Fatalf("a single sign-in failed: %s", r.Body)
			}
		}},
		{"signin_brute_force_one_identity", func(t *testing.T, s *server) {
			signUp(t, s, signinVictim)
			signUp(t, s, signinOther)
			const op = `mutation($i: String!, $p: String!) { userAuthWithPassword(identity: $i, password: $p) { token } }`
			limited := 0
			for i := range 10 {
				r := s.GraphQL("/graphql", "", op, map[string]any{"i": signinVictim, "p": fmt.Sprint("guess-", i)})
				if r.Code() == "RATE_LIMITED" {
					limited = i
					break
				}
				refused(t, r, http.StatusOK, "BAD_USER_INPUT")
			}
			if limited == 0 || limited > 5 {
				t.Fatalf("wrong passwords were not rate limited within 6 attempts (limited at %d)", limited)
			}
			// Now even the right password waits: the limit is checked before
			// the hash, so guessing cannot continue.
			r := s.GraphQL("/graphql", "", op, map[string]any{"i": signinVictim, "p": signinPassword})
			refused(t, r, http.StatusTooManyRequests, "RATE_LIMITED")
			if r.Header.Get("Retry-After") == "" || r.JSON.Errors[0].Extensions["retryAfter"] == nil {
				t.Errorf("no Retry-After header or extensions.retryAfter: %v %s", r.Header, r.Body)
			}
			// Another identity from the same address is not locked out.
			r = s.GraphQL("/graphql", "", op, map[string]any{"i": signinOther, "p": signinPassword})
			if tok, _ := r.Field("userAuthWithPassword", "token").(string); tok == "" {
				t.Fatalf("another user could not sign in: %s", r.Body)
			}
		}},
	}
}

// signInAliases returns a mutation with 50 aliases of the sign-in field
// format (taking the identity and a password), the last one with the
// right password.
func signInAliases(format, identity, password string) string {
	var b strings.Builder
	b.WriteString("mutation {")
	for i := range 50 {
		p := fmt.Sprint("guess-", i)
		if i == 49 {
			p = password
		}
		fmt.Fprintf(&b, " a%d: "+format+" { token }", i, identity, p)
	}
	b.WriteString(" }")
	return b.String()
}

// refusedSignIn asserts the refusal of a multi-sign-in operation: one
// BAD_USER_INPUT error and no token anywhere.
func refusedSignIn(t *testing.T, r *reply) {
	t.Helper()
	refused(t, r, 0, "BAD_USER_INPUT")
	if !strings.Contains(r.Message(), "sign in only once") {
		t.Errorf("message %q, want it to say an operation signs in only once", r.Message())
	}
	if len(r.JSON.Data) > 0 || strings.Contains(string(r.Body), `"token"`) {
		t.Errorf("the refused operation returned data: %s", tail(r.Body, 512))
	}
}

// signUp creates a user with signinPassword through public sign-up.
func signUp(t *testing.T, s *server, email string) {
	t.Helper()
	r := s.GraphQL("/graphql", "", `mutation($e: String!, $p: String!) { createUser(input: {email: $e, password: $p, passwordConfirm: $p}) { id } }`,
		map[string]any{"e": email, "p": signinPassword})
	if len(r.JSON.Errors) > 0 || r.Status != http.StatusOK {
		t.Fatalf("sign up %s (%d): %s", email, r.Status, r.Body)
	}
}
