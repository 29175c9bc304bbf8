package ratelimit

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/monobase/monobase/apperr"
)

// takeAll calls Operation n times and returns how many were allowed; it
// fails t on an error other than RATE_LIMITED.
func takeAll(t *testing.T, r *Rules, n int, caller Caller, coll, ip string, actions ...string) int {
	t.Helper()
	ok := 0
	for range n {
		err := r.Operation(fromIP(ip+":1"), caller, coll, actions)
		switch {
		case err == nil:
			ok++
		case !apperr.Is(err, apperr.RateLimited):
			t.Fatalf("Operation: %v", err)
		}
	}
	return ok
}

func TestRulesDefaults(t *testing.T) {
	r := NewRules(DefaultSettings(), 0, newClock().now)
	const ip = "192.0.2.1"
	if n := takeAll(t, r, 5, Guest, "users", ip, "authWithPassword", "auth"); n != 2 {
		t.Errorf("*:auth: %d of 5 sign-ins allowed at once, want 2", n)
	}
	if n := takeAll(t, r, 30, Guest, "posts", ip, "create"); n != 20 {
		t.Errorf("*:create: %d of 30 creates allowed at once, want 20", n)
	}
	if n := takeAll(t, r, 100, Guest, "posts", ip, "list"); n != 100 {
		t.Errorf("no rule for lists: %d of 100 allowed, want all", n)
	}
}

func TestRulesMostSpecificLabelWins(t *testing.T) {
	rules := func(labels ...string) Settings {
		s := Settings{Enabled: true}
		for i, l := range labels {
			s.Rules = append(s.Rules, Rule{Label: l, MaxRequests: i + 1, Duration: 60})
		}
		return s
	}
	// The rule of label i allows i+1 requests: the count tells which won.
	tests := []struct {
		name   string
		labels []string
		want   int
	}{
		{"a collection label beats the wildcard", []string{"*:auth", "users:auth"}, 2},
		{"whatever the order of the rules", []string{"users:auth", "*:auth"}, 1},
		{"the finer action beats the group", []string{"users:auth", "users:authWithPassword"}, 2},
		{"a collection's group beats the wildcard's finer action", []string{"*:authWithPassword", "users:auth"}, 2},
		{"the wildcard's finer action beats its group", []string{"*:auth", "*:authWithPassword"}, 2},
		{"another collection's rule does not apply", []string{"*:auth", "staff:auth"}, 1},
		{"another action's rule does not apply", []string{"*:auth", "users:authWithOtp"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRules(rules(tt.labels...), 0, newClock().now)
			if n := takeAll(t, r, 10, Guest, "users", "192.0.2.1", "authWithPassword", "auth"); n != tt.want {
				t.Errorf("%d requests allowed, want %d (the rule %q)", n, tt.want, tt.labels[tt.want-1])
			}
		})
	}
}

func TestRulesAudience(t *testing.T) {
	s := Settings{Enabled: true, Rules: []Rule{
		{Label: "posts:list", MaxRequests: 1, Duration: 60, Audience: AudienceGuest},
		{Label: "posts:view", MaxRequests: 2, Duration: 60, Audience: AudienceAuth},
		{Label: "posts:view", MaxRequests: 3, Duration: 60},
		{Label: "*:view", MaxRequests: 4, Duration: 60, Audience: AudienceGuest},
	}}
	tests := []struct {
		name   string
		caller Caller
		action string
		want   int
	}{
		{"a GUEST rule limits guests", Guest, "list", 1},
		{"and not signed-in records", SignedIn("c1", "r1"), "list", 10},
		{"an AUTH rule beats the rule for both", SignedIn("c1", "r1"), "view", 2},
		{"guests get the rule for both of the same label, not a wildcard's", Guest, "view", 3},
		{"superusers are exempt", Exempt, "list", 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRules(s, 0, newClock().now)
			if n := takeAll(t, r, 10, tt.caller, "posts", "192.0.2.1", tt.action); n != tt.want {
				t.Errorf("%d of 10 allowed, want %d", n, tt.want)
			}
		})
	}
}

func TestRulesBudgets(t *testing.T) {
	c := newClock()
	r := NewRules(Settings{Enabled: true, Rules: []Rule{{Label: "*:auth", MaxRequests: 2, Duration: 3}}}, 0, c.now)
	t.Run("per client IP, IPv6 by /64", func(t *testing.T) {
		takeAll(t, r, 2, Guest, "users", "[2001:db8::1]", "auth")
		if n := takeAll(t, r, 1, Guest, "users", "[2001:db8::ffff]", "auth"); n != 0 {
			t.Error("another address of the same /64 was allowed")
		}
		if n := takeAll(t, r, 1, Guest, "users", "[2001:db8:0:1::1]", "auth"); n != 1 {
			t.Error("another /64 was refused")
		}
	})
	t.Run("per collection, a wildcard rule too", func(t *testing.T) {
		if n := takeAll(t, r, 3, Guest, "staff", "[2001:db8::1]", "auth"); n != 2 {
			t.Errorf("staff: %d of 3 allowed, want its own 2", n)
		}
	})
	t.Run("the refusal says how long to wait and counts nothing", func(t *testing.T) {
		ctx := fromIP("192.0.2.9:1")
		takeAll(t, r, 2, Guest, "users", "192.0.2.9", "auth")
		err := r.Operation(ctx, Guest, "users", []string{"auth"})
		e := apperr.As(err)
		if e == nil || e.Code != apperr.RateLimited || e.RetryAfter != 1500*time.Millisecond {
			t.Fatalf("%#v, want RATE_LIMITED with 1.5 s to wait", err)
		}
		c.advance(1500 * time.Millisecond)
		if err := r.Operation(ctx, Guest, "users", []string{"auth"}); err != nil {
			t.Fatalf("after the wait: %v", err)
		}
	})
	t.Run("without a client address nothing is limited", func(t *testing.T) {
		for range 5 {
			if err := r.Operation(t.Context(), Guest, "users", []string{"auth"}); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func TestRulesSet(t *testing.T) {
	c := newClock()
	auth := Rule{Label: "*:auth", MaxRequests: 2, Duration: 60}
	create := Rule{Label: "*:create", MaxRequests: 1, Duration: 60}
	r := NewRules(Settings{Enabled: true, Rules: []Rule{auth, create}}, 0, c.now)
	const ip = "192.0.2.1"
	takeAll(t, r, 2, Guest, "users", ip, "auth")
	takeAll(t, r, 1, Guest, "posts", ip, "create")

	// A changed rule starts afresh; an unchanged one keeps its count.
	create.MaxRequests = 3
	if err := r.Set(Settings{Enabled: true, Rules: []Rule{auth, create}}); err != nil {
		t.Fatal(err)
	}
	if n := takeAll(t, r, 5, Guest, "posts", ip, "create"); n != 3 {
		t.Errorf("the changed rule: %d allowed, want its new 3", n)
	}
	if n := takeAll(t, r, 1, Guest, "users", ip, "auth"); n != 0 {
		t.Errorf("the unchanged rule forgot its count")
	}
	// Off: nothing is limited; the settings read back as set.
	if err := r.Set(Settings{Enabled: false, Rules: []Rule{auth}}); err != nil {
		t.Fatal(err)
	}
	if n := takeAll(t, r, 5, Guest, "users", ip, "auth"); n != 5 {
		t.Errorf("disabled: %d of 5 allowed", n)
	}
	if got := r.Settings(); got.Enabled || len(got.Rules) != 1 || got.Rules[0] != auth {
		t.Errorf("Settings() = %+v", got)
	}
	// Invalid settings change nothing.
	if err := r.Set(Settings{Enabled: true, Rules: []Rule{{Label: "nope", MaxRequests: 1, Duration: 1}}}); !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("Set(invalid) = %v, want BAD_USER_INPUT", err)
	}
	if got := r.Settings(); got.Enabled {
		t.Errorf("a refused Set changed the settings: %+v", got)
	}
}

func TestRulesKeysAreBounded(t *testing.T) {
	r := NewRules(Settings{Enabled: true, Rules: []Rule{{Label: "/graphql", MaxRequests: 1, Duration: 60}}}, 10, newClock().now)
	h := r.Paths(func(*http.Request) Caller { return Guest }, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	for i := range 5000 {
		req := httptest.NewRequest(http.MethodPost, "/graphql", nil)
		req.RemoteAddr = "10.0." + strconv.Itoa(i/256) + "." + strconv.Itoa(i%256) + ":1"
		Middleware(h).ServeHTTP(httptest.NewRecorder(), req)
	}
	if n := r.cur.Load().paths["/graphql"].all.lim.Len(); n != minKeysPerRule {
		t.Fatalf("%d keys tracked, want the floor of %d", n, minKeysPerRule)
	}
}

func TestPaths(t *testing.T) {
	s := Settings{Enabled: true, Rules: []Rule{
		{Label: "/graphql", MaxRequests: 2, Duration: 60},
		{Label: "/files/", MaxRequests: 1, Duration: 60},
		{Label: "/files/big/", MaxRequests: 3, Duration: 60},
		{Label: "/graphql", MaxRequests: 4, Duration: 60, Audience: AudienceAuth},
	}}
	serve := func(r *Rules, caller Caller, path, ip string) *httptest.ResponseRecorder {
		reached := false
		h := Middleware(r.Paths(func(*http.Request) Caller { return caller }, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			reached = true
			w.WriteHeader(http.StatusOK)
		})))
		req := httptest.NewRequest(http.MethodPost, path, nil)
		req.RemoteAddr = ip + ":1234"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if reached == (w.Code == http.StatusTooManyRequests) {
			t.Fatalf("%s: status %d, handler reached %v", path, w.Code, reached)
		}
		return w
	}
	count := func(r *Rules, caller Caller, path string) int {
		n := 0
		for range 10 {
			if serve(r, caller, path, "192.0.2.1").Code == http.StatusOK {
				n++
			}
		}
		return n
	}
	tests := []struct {
		name   string
		caller Caller
		path   string
		want   int
	}{
		{"an exact path", Guest, "/graphql", 2},
		{"an exact path does not match below it", Guest, "/graphql/admin", 10},
		{"a prefix matches below it", Guest, "/files/c/r/a.png", 1},
		{"a prefix matches the path without its slash", Guest, "/files", 1},
		{"the longest prefix wins", Guest, "/files/big/x", 3},
		{"an AUTH rule for signed-in records", SignedIn("c1", "r1"), "/graphql", 4},
		{"superusers are exempt", Exempt, "/graphql", 10},
		{"no rule, no limit", Guest, "/playground", 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n := count(NewRules(s, 0, newClock().now), tt.caller, tt.path); n != tt.want {
				t.Errorf("%d of 10 answered, want %d", n, tt.want)
			}
		})
	}
	t.Run("the refusal: 429, Retry-After and a RATE_LIMITED body", func(t *testing.T) {
		r := NewRules(s, 0, newClock().now)
		count(r, Guest, "/graphql")
		w := serve(r, Guest, "/graphql", "192.0.2.1")
		var body struct {
			Errors []struct {
				Message    string
				Extensions struct {
					Code       string
					RetryAfter int64
				}
			}
		}
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || len(body.Errors) != 1 {
			t.Fatalf("body %s: %v", w.Body, err)
		}
		e := body.Errors[0].Extensions
		if e.Code != "RATE_LIMITED" || e.RetryAfter != 30 || w.Header().Get("Retry-After") != "30" {
			t.Fatalf("code %s, retryAfter %d, Retry-After %q; want RATE_LIMITED and 30 s", e.Code, e.RetryAfter, w.Header().Get("Retry-After"))
		}
		if serve(r, Guest, "/graphql", "192.0.2.2").Code != http.StatusOK {
			t.Fatal("another address was refused")
		}
	})
}

// TestRulesPerSignedInRecord: a signed-in record has budgets of its own,
// wherever it connects from; guests share their client IP's.
func TestRulesPerSignedInRecord(t *testing.T) {
	s := Settings{Enabled: true, Rules: []Rule{
		{Label: "*:create", MaxRequests: 2, Duration: 60},
		{Label: "/graphql", MaxRequests: 2, Duration: 60},
	}}
	ann, bob := SignedIn("users_id", "ann"), SignedIn("users_id", "bob")
	t.Run("operations", func(t *testing.T) {
		r := NewRules(s, 0, newClock().now)
		if n := takeAll(t, r, 3, ann, "posts", "192.0.2.1", "create"); n != 2 {
			t.Fatalf("ann: %d of 3 allowed, want 2", n)
		}
		if n := takeAll(t, r, 1, ann, "posts", "192.0.2.2", "create"); n != 0 {
			t.Fatal("ann got a fresh budget from another address")
		}
		if n := takeAll(t, r, 2, bob, "posts", "192.0.2.1", "create"); n != 2 {
			t.Fatalf("bob, from ann's address: %d of 2 allowed, want his own budget", n)
		}
		if n := takeAll(t, r, 2, Guest, "posts", "192.0.2.1", "create"); n != 2 {
			t.Fatalf("a guest from the same address: %d of 2 allowed, want the IP's own budget", n)
		}
		if n := takeAll(t, r, 1, SignedIn("staff_id", "ann"), "posts", "192.0.2.1", "create"); n != 1 {
			t.Fatal("the same id in another collection shares ann's budget")
		}
	})
	t.Run("paths", func(t *testing.T) {
		r := NewRules(s, 0, newClock().now)
		serve := func(c Caller, ip string) int {
			h := Middleware(r.Paths(func(*http.Request) Caller { return c }, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
			req := httptest.NewRequest(http.MethodPost, "/graphql", nil)
			req.RemoteAddr = ip + ":1"
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			return w.Code
		}
		for i, ip := range []string{"192.0.2.1", "192.0.2.2"} {
			if code := serve(ann, ip); code != http.StatusOK {
				t.Fatalf("ann's request %d: %d", i, code)
			}
		}
		if serve(ann, "192.0.2.3") != http.StatusTooManyRequests {
			t.Fatal("ann's 3rd request, from a third address, was not limited")
		}
		if serve(bob, "192.0.2.1") != http.StatusOK || serve(Guest, "192.0.2.1") != http.StatusOK {
			t.Fatal("bob or a guest on ann's address shares her budget")
		}
	})
}
