package dynschema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/ratelimit"
)

const signInOp = `mutation($i: String!, $p: String!) { userAuthWithPassword(identity: $i, password: $p) { token } }`

func TestSignInOncePerOperation(t *testing.T) {
	en := newEnv(t)
	en.user("ann@example.com")
	en.create(&db.Collection{Name: "staff", Type: db.TypeAuth})
	aliases := make([]string, 50)
	for i := range aliases {
		aliases[i] = fmt.Sprintf(`a%d: userAuthWithPassword(identity: "ann@example.com", password: "guess%d") { token }`, i, i)
	}
	tests := []struct{ name, query string }{
		{"50 aliases", "mutation { " + strings.Join(aliases, " ") + " }"},
		{"2 aliases", `mutation { a: userAuthWithPassword(identity: "ann@example.com", password: "x") { token } b: userAuthWithPassword(identity: "ann@example.com", password: "y") { token } }`},
		{"sign-ins to two collections", `mutation { userAuthWithPassword(identity: "ann@example.com", password: "x") { token } staffAuthWithPassword(identity: "ann@example.com", password: "y") { token } }`},
		{"aliases through fragments", `mutation { ...A ...B } fragment A on Mutation { a: userAuthWithPassword(identity: "ann@example.com", password: "x") { token } } fragment B on Mutation { b: userAuthWithPassword(identity: "ann@example.com", password: "y") { token } }`},
		{"two sign-ins beside a refresh", `mutation { userAuthWithPassword(identity: "ann@example.com", password: "x") { token } r: userAuthWithPassword(identity: "ann@example.com", password: "password123") { token } userAuthRefresh { token } }`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := en.auth.PasswordChecks()
			r := en.gql("", tt.query, nil)
			if r.code() != "BAD_USER_INPUT" || !strings.Contains(r.Errors[0].Message, "sign in only once") {
				t.Fatalf("got %s, want BAD_USER_INPUT 'sign in only once'", r)
			}
			if string(r.Data) != "" && string(r.Data) != "null" {
				t.Fatalf("data %s, want none", r.Data)
			}
			if n := en.auth.PasswordChecks() - before; n != 0 {
				t.Fatalf("%d passwords checked, want 0", n)
			}
		})
	}
	t.Run("one sign-in still works, and @skip leaves one", func(t *testing.T) {
		r, _ := en.signIn("ann@example.com", "password123")
		r.ok(t)
		en.gql("", `mutation { a: userAuthWithPassword(identity: "ann@example.com", password: "password123") { token } b: userAuthWithPassword(identity: "ann@example.com", password: "x") @skip(if: true) { token } }`, nil).ok(t)
	})
}

// signIn posts one sign-in and returns the answer and its headers.
func (en *env) signIn(identity, password string) (*gqlResp, http.Header) {
	en.t.Helper()
	body, _ := jsonMarshal(map[string]any{"query": signInOp, "variables": map[string]any{"i": identity, "p": password}})
	res, err := http.Post(en.srv.URL+"/graphql", "application/json", bytes.NewReader(body))
	if err != nil {
		en.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := &gqlResp{Status: res.StatusCode, raw: raw}
	if err := json.Unmarshal(raw, out); err != nil {
		en.t.Fatalf("response is not JSON (status %d): %s", res.StatusCode, raw)
	}
	return out, res.Header
}

// wantRateLimited fails unless r is a 429 RATE_LIMITED answer with a
// Retry-After header and extensions.retryAfter.
func wantRateLimited(t *testing.T, r *gqlResp, header http.Header) {
	t.Helper()
	if r.Status != http.StatusTooManyRequests || r.code() != "RATE_LIMITED" {
		t.Fatalf("status %d: %s, want 429 RATE_LIMITED", r.Status, r)
	}
	if n, _ := r.Errors[0].Extensions["retryAfter"].(float64); n < 1 {
		t.Fatalf("extensions.retryAfter = %v, want whole seconds >= 1: %s", r.Errors[0].Extensions["retryAfter"], r)
	}
	if got, want := header.Get("Retry-After"), fmt.Sprint(r.Errors[0].Extensions["retryAfter"]); got != want {
		t.Fatalf("Retry-After header %q, want extensions.retryAfter %s", got, want)
	}
}

func TestSignInLimitPerIdentity(t *testing.T) {
	en := newEnv(t)
	en.user("ann@example.com")
	burst := ratelimit.DefaultPerIdentity.Burst // the defaults are on
	answers := map[string]string{}              // identity -> the limited answer
	for _, identity := range []string{"ann@example.com", "nobody@example.com"} {
		t.Run(identity, func(t *testing.T) {
			for i := range burst {
				if r, _ := en.signIn(identity, fmt.Sprint("wrong", i)); r.code() != "BAD_USER_INPUT" {
					t.Fatalf("failure %d: %s, want BAD_USER_INPUT", i, r)
				}
			}
			before := en.auth.PasswordChecks()
			// Over the budget even the right password is refused, and no
			// hash is compared; the spelling of the identity does not matter.
			for _, p := range []string{"wrong", "password123"} {
				r, h := en.signIn(" "+strings.ToUpper(identity), p)
				wantRateLimited(t, r, h)
				answers[identity] = r.Errors[0].Message
			}
			if n := en.auth.PasswordChecks() - before; n != 0 {
				t.Fatalf("%d passwords checked over the limit, want 0", n)
			}
		})
	}
	// An unknown identity is limited exactly like a known one.
	if answers["ann@example.com"] != answers["nobody@example.com"] {
		t.Errorf("limited answers differ: %q for a user, %q for no one", answers["ann@example.com"], answers["nobody@example.com"])
	}
	// Another identity from the same address is not limited (5+5 failures
	// stay under the per-IP budget of 20).
	en.user("bob@example.com")
	r, _ := en.signIn("bob@example.com", "password123")
	r.ok(t)
}

func TestSignInLimitPerIP(t *testing.T) {
	en := newEnv(t)
	en.auth.SignInLimits = ratelimit.SignInLimits{PerIP: ratelimit.Limit{Burst: 3, Per: time.Minute}}
	en.user("ann@example.com")
	for i := range 3 {
		if r, _ := en.signIn(fmt.Sprintf("guess%d@example.com", i), "wrong"); r.code() != "BAD_USER_INPUT" {
			t.Fatalf("failure %d: %s", i, r)
		}
	}
	before := en.auth.PasswordChecks()
	r, h := en.signIn("ann@example.com", "password123")
	wantRateLimited(t, r, h)
	if n := en.auth.PasswordChecks() - before; n != 0 {
		t.Fatalf("%d passwords checked over the limit, want 0", n)
	}
}

func TestSignInLimitOverWebSocket(t *testing.T) {
	en := newEnv(t)
	en.auth.SignInLimits = ratelimit.SignInLimits{PerIdentity: ratelimit.Limit{Burst: 1, Per: time.Minute}}
	en.user("ann@example.com")
	c := en.connect(protoTransportWS, nil)
	for i, want := range []string{"BAD_USER_INPUT", "RATE_LIMITED"} {
		id := fmt.Sprint("s", i)
		c.subscribe(id, signInOp, map[string]any{"i": "ann@example.com", "p": "wrong"})
		ev := c.next(id)
		if len(ev.Errors) == 0 || ev.Errors[0].Extensions["code"] != want {
			t.Fatalf("attempt %d over the socket: %s %s, want %s", i, ev.Type, ev.raw, want)
		}
		if want == "RATE_LIMITED" && ev.Errors[0].Extensions["retryAfter"] == nil {
			t.Fatalf("no extensions.retryAfter: %s", ev.raw)
		}
	}
}
