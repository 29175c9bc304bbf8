package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/monobase/monobase/internal/dbtest"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/monobase/monobase/auth"
	"github.com/monobase/monobase/graph"
	"github.com/monobase/monobase/ratelimit"
)

func TestSignInOncePerOperation(t *testing.T) {
	s := newServer(t)
	aliases := make([]string, 50)
	for i := range aliases {
		aliases[i] = fmt.Sprintf(`a%d: authWithPassword(email: %q, password: "guess%d") { token }`, i, rootEmail, i)
	}
	aliases[17] = fmt.Sprintf(`a17: authWithPassword(email: %q, password: %q) { token }`, rootEmail, rootPassword)
	before := s.auth.PasswordChecks()
	e := s.mustFail(t, "", "mutation { "+strings.Join(aliases, " ")+" }", nil, "BAD_USER_INPUT")
	if !strings.Contains(e.Message, "sign in only once") {
		t.Fatalf("message %q", e.Message)
	}
	s.mustFail(t, "", fmt.Sprintf(`mutation { ...F b: authWithPassword(email: %q, password: %q) { token } } fragment F on Mutation { authWithPassword(email: %q, password: "x") { token } }`,
		rootEmail, rootPassword, rootEmail), nil, "BAD_USER_INPUT")
	if n := s.auth.PasswordChecks() - before; n != 0 {
		t.Fatalf("%d passwords checked, want 0", n)
	}
	// One sign-in in an operation still works.
	s.mustDo(t, "", signIn, map[string]any{"email": rootEmail, "password": rootPassword}, nil)
}

// adminSignIn posts one admin sign-in to url and returns the status, the
// Retry-After header and the first error's code and retryAfter.
func adminSignIn(t *testing.T, url, email, password string) (status int, retryHeader, code string, retryAfter any) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": signIn, "variables": map[string]any{"email": email, "password": password}})
	res, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out struct {
		Errors []struct{ Extensions map[string]any }
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("decode %d %s: %v", res.StatusCode, raw, err)
	}
	if len(out.Errors) > 0 {
		code, _ = out.Errors[0].Extensions["code"].(string)
		retryAfter = out.Errors[0].Extensions["retryAfter"]
	}
	return res.StatusCode, res.Header.Get("Retry-After"), code, retryAfter
}

func TestSignInLimitPerIdentity(t *testing.T) {
	s := newServer(t) // the default limits
	for _, email := range []string{rootEmail, "nobody@example.com"} {
		for i := range ratelimit.DefaultPerIdentity.Burst {
			if _, _, code, _ := adminSignIn(t, s.url, email, fmt.Sprint("wrong", i)); code != "BAD_USER_INPUT" {
				t.Fatalf("%s: failure %d: code %q, want BAD_USER_INPUT", email, i, code)
			}
		}
		before := s.auth.PasswordChecks()
		status, header, code, retry := adminSignIn(t, s.url, strings.ToUpper(email), rootPassword)
		if status != http.StatusTooManyRequests || code != "RATE_LIMITED" || header == "" || fmt.Sprint(retry) != header {
			t.Fatalf("%s over the limit: status %d, code %q, Retry-After %q, retryAfter %v; want 429 RATE_LIMITED with both", email, status, code, header, retry)
		}
		if n := s.auth.PasswordChecks() - before; n != 0 {
			t.Fatalf("%s: %d passwords checked over the limit, want 0", email, n)
		}
	}
	// A token issued before still works: only sign-in is limited.
	s.mustDo(t, s.rootToken, `{ collections { name } }`, nil, nil)
}

func TestSignInLimitPerIP(t *testing.T) {
	ctx := context.Background()
	d, err := dbtest.Open(t, ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	a, err := auth.New(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	a.SignInLimits = ratelimit.SignInLimits{PerIP: ratelimit.Limit{Burst: 3, Per: time.Minute}}
	if err := d.UpsertSuperuser(ctx, rootEmail, rootPassword); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(a.Middleware(graph.NewHandler(d, a, nil)))
	t.Cleanup(hs.Close)
	for i := range 3 {
		if _, _, code, _ := adminSignIn(t, hs.URL, fmt.Sprintf("guess%d@example.com", i), "wrong"); code != "BAD_USER_INPUT" {
			t.Fatalf("failure %d: code %q", i, code)
		}
	}
	before := a.PasswordChecks()
	if status, _, code, _ := adminSignIn(t, hs.URL, rootEmail, rootPassword); status != http.StatusTooManyRequests || code != "RATE_LIMITED" {
		t.Fatalf("a 4th identity from the address: status %d, code %q; want 429 RATE_LIMITED", status, code)
	}
	if n := a.PasswordChecks() - before; n != 0 {
		t.Fatalf("%d passwords checked over the limit, want 0", n)
	}
}
