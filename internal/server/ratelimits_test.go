package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/monobase/monobase/ratelimit"
)

// rulesOf returns the settings.rateLimits of the admin API as
// "label max/durations audience" lines, and whether they are enabled.
func rulesOf(t *testing.T, base, token string) (bool, []string) {
	t.Helper()
	data := mustGQL(t, base+"/graphql/admin", token, `{ settings { rateLimits { enabled rules { label maxRequests duration audience } } } }`, nil)
	var out struct {
		Settings struct {
			RateLimits struct {
				Enabled bool
				Rules   []struct {
					Label                 string
					MaxRequests, Duration int
					Audience              *string
				}
			}
		}
	}
	raw, _ := json.Marshal(data)
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, r := range out.Settings.RateLimits.Rules {
		aud := "both"
		if r.Audience != nil {
			aud = *r.Audience
		}
		lines = append(lines, fmt.Sprintf("%s %d/%ds %s", r.Label, r.MaxRequests, r.Duration, aud))
	}
	return out.Settings.RateLimits.Enabled, lines
}

// postStatus posts a GraphQL request and returns the status, the
// Retry-After header and the first error code.
func postStatus(t *testing.T, url, query string) (int, string, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query})
	res, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out gqlResponse
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, res.Header.Get("Retry-After"), out.errCode()
}

func TestRateLimitsOnByDefault(t *testing.T) {
	dir := t.TempDir()
	mustCLI(t, "--dir", dir, "superuser", "upsert", "admin@example.com", "admin-password")
	srv, _ := startServerWith(t, dir, func(*ServeCommand) {}) // the product defaults
	token := signIn(t, srv.URL(), "admin@example.com", "admin-password")
	on, rules := rulesOf(t, srv.URL(), token)
	want := []string{"*:auth 2/3s both", "*:create 20/5s both", "/graphql 300/10s both"}
	if !on || !slices.Equal(rules, want) {
		t.Fatalf("settings.rateLimits = %v %v, want on %v", on, rules, want)
	}
	// The admin API's sign-in counts against _superusers' *:auth budget
	// (2 at once, then one per 1.5 s): of 4 more sent at once, at least
	// one is refused with 429 before any hash, however slow this machine.
	op := `mutation { authWithPassword(email: "admin@example.com", password: "admin-password") { token } }`
	type answer struct {
		status      int
		retry, code string
	}
	answers := make(chan answer, 4)
	for range 4 {
		go func() {
			status, retry, code := postStatus(t, srv.URL()+"/graphql/admin", op)
			answers <- answer{status, retry, code}
		}()
	}
	refused := 0
	for range 4 {
		a := <-answers
		switch {
		case a.status == http.StatusTooManyRequests && a.code == "RATE_LIMITED" && a.retry != "":
			refused++
		case a.status != http.StatusOK || a.code != "":
			t.Fatalf("sign-in: status %d, code %q", a.status, a.code)
		}
	}
	if refused == 0 {
		t.Fatal("5 sign-ins within moments: none refused with 429 RATE_LIMITED and Retry-After")
	}
}

func TestRateLimitsUpdateSettings(t *testing.T) {
	dir := t.TempDir()
	mustCLI(t, "--dir", dir, "superuser", "upsert", "admin@example.com", "admin-password")
	srv, _ := startServer(t, dir) // rules off until saved
	admin := srv.URL() + "/graphql/admin"
	token := signIn(t, srv.URL(), "admin@example.com", "admin-password")
	for range 10 {
		if status, _, _ := postStatus(t, srv.URL()+"/graphql", `{ __typename }`); status != 200 {
			t.Fatalf("rules off: status %d", status)
		}
	}

	mustGQL(t, admin, token, `mutation { updateSettings(input: {rateLimits: {enabled: true, rules: [
		{label: "/graphql", maxRequests: 3, duration: 60, audience: "GUEST"}]}}) { meta { appName } } }`, nil)
	t.Run("a change applies to the next request", func(t *testing.T) {
		for i := range 3 {
			if status, _, _ := postStatus(t, srv.URL()+"/graphql", `{ __typename }`); status != 200 {
				t.Fatalf("request %d: status %d", i, status)
			}
		}
		status, retry, code := postStatus(t, srv.URL()+"/graphql", `{ __typename }`)
		if status != http.StatusTooManyRequests || code != "RATE_LIMITED" || retry != "20" {
			t.Fatalf("4th request: status %d, code %q, Retry-After %q; want 429 RATE_LIMITED, 20 s", status, code, retry)
		}
	})
	t.Run("a refused path request is answered before its body is read", func(t *testing.T) {
		conn, err := net.Dial("tcp", srv.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(conn, "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n")
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("no answer while the body was not sent: %v", err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("status %d, want 429", res.StatusCode)
		}
	})
	t.Run("superusers, the admin API and /health are not limited by the rule", func(t *testing.T) {
		if r := gql(t, srv.URL()+"/graphql", token, `{ __typename }`, nil); r.Status != 200 {
			t.Fatalf("superuser on /graphql: %d", r.Status)
		}
		if r := gql(t, admin, token, `{ settings { meta { appName } } }`, nil); r.Status != 200 {
			t.Fatalf("admin API: %d", r.Status)
		}
		if res, err := http.Get(srv.URL() + "/health"); err != nil || res.StatusCode != 200 {
			t.Fatalf("/health: %v %v", res, err)
		}
	})
	t.Run("invalid settings are refused field by field and change nothing", func(t *testing.T) {
		r := gql(t, admin, token, `mutation { updateSettings(input: {meta: {appName: "Changed", appUrl: "ftp://x"},
			rateLimits: {enabled: false, rules: [{label: "posts:fly", maxRequests: 0, duration: 0, audience: "ROBOTS"}]}}) { meta { appName } } }`, nil)
		if r.errCode() != "BAD_USER_INPUT" {
			t.Fatalf("got %+v, want BAD_USER_INPUT", r.Errors)
		}
		fields, _ := r.Errors[0].Extensions["fields"].(map[string]any)
		var got []string
		for f := range fields {
			got = append(got, f)
		}
		slices.Sort(got)
		want := []string{"meta.appUrl", "rateLimits.rules.0.audience", "rateLimits.rules.0.duration", "rateLimits.rules.0.label", "rateLimits.rules.0.maxRequests"}
		if !slices.Equal(got, want) {
			t.Fatalf("invalid fields %v, want %v", got, want)
		}
		on, rules := rulesOf(t, srv.URL(), token)
		data := mustGQL(t, admin, token, `{ settings { meta { appName } } }`, nil)
		if name := data["settings"].(map[string]any)["meta"].(map[string]any)["appName"]; !on || len(rules) != 1 || name != "Monobase" {
			t.Fatalf("after a refused change: rules %v %v, appName %v", on, rules, name)
		}
	})
	t.Run("saved settings outlive a restart and win over ServeCommand.RateLimits", func(t *testing.T) {
		if err := srv.Close(); err != nil {
			t.Fatal(err)
		}
		srv2, _ := startServerWith(t, dir, func(c *ServeCommand) { c.RateLimits = &ratelimit.Settings{} })
		on, rules := rulesOf(t, srv2.URL(), signIn(t, srv2.URL(), "admin@example.com", "admin-password"))
		if !on || !slices.Equal(rules, []string{"/graphql 3/60s GUEST"}) {
			t.Fatalf("after a restart: %v %v", on, rules)
		}
	})
}
