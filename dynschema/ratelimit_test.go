package dynschema

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/ratelimit"
	"github.com/monobase/monobase/subscriptions"
)

// manualClock is a clock the rate limit tests move by hand.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *manualClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *manualClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newRulesEnv is newEnv with the rate limit rules of s on a manual clock.
func newRulesEnv(t *testing.T, s ratelimit.Settings) (*env, *ratelimit.Rules, *manualClock) {
	t.Helper()
	clock := &manualClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	rules := ratelimit.NewRules(s, 0, clock.now)
	en := newConfigEnv(t, subscriptions.Options{}, func(c *Config) { c.RateLimits = rules })
	return en, rules, clock
}

func TestRateLimitSignInBeforeTheHash(t *testing.T) {
	en, _, clock := newRulesEnv(t, ratelimit.DefaultSettings()) // *:auth: 2 per 3 s
	en.user("ann@example.com")
	r, _ := en.signIn("ann@example.com", "password123")
	r.ok(t)
	if r, _ := en.signIn("ann@example.com", "wrong"); r.code() != "BAD_USER_INPUT" {
		t.Fatalf("2nd sign-in: %s, want BAD_USER_INPUT", r)
	}
	// The 3rd within 3 s is refused before the record is looked up or any
	// hash computed, the right password and an unknown identity alike.
	before := en.auth.PasswordChecks()
	for _, try := range [][2]string{{"ann@example.com", "password123"}, {"nobody@example.com", "x"}} {
		r, h := en.signIn(try[0], try[1])
		wantRateLimited(t, r, h)
		if string(r.Data) != "null" {
			t.Fatalf("data %s, want null", r.Data)
		}
		if !strings.Contains(r.Errors[0].Message, "*:auth") {
			t.Errorf("message %q does not name the rule", r.Errors[0].Message)
		}
	}
	if n := en.auth.PasswordChecks() - before; n != 0 {
		t.Fatalf("%d passwords checked over the limit, want 0", n)
	}
	clock.advance(1500 * time.Millisecond) // one more every 1.5 s
	r, _ = en.signIn("ann@example.com", "password123")
	r.ok(t)
}

func TestSignInUnknownIdentityLikeWrongPassword(t *testing.T) {
	en := newEnv(t)
	en.user("ann@example.com")
	var answers []string
	for _, identity := range []string{"ann@example.com", "nobody@example.com"} {
		before := en.auth.PasswordChecks()
		r, _ := en.signIn(identity, "wrong-password")
		if n := en.auth.PasswordChecks() - before; n != 1 {
			t.Errorf("%s: %d hashes computed, want 1", identity, n)
		}
		if r.Status != 200 || r.code() != "BAD_USER_INPUT" {
			t.Fatalf("%s: status %d %s, want 200 BAD_USER_INPUT", identity, r.Status, r)
		}
		answers = append(answers, fmt.Sprint(r.Errors[0].Message, r.Errors[0].Extensions))
	}
	if answers[0] != answers[1] {
		t.Fatalf("a wrong password answers %q, an unknown identity %q", answers[0], answers[1])
	}
}

func TestRateLimitCreate(t *testing.T) {
	en, _, clock := newRulesEnv(t, ratelimit.DefaultSettings()) // *:create: 20 per 5 s
	en.blog()
	const create = `mutation($t: String!) { createPost(input: {title: $t}) { id } }`
	for i := range 20 {
		en.gql("", create, map[string]any{"t": fmt.Sprint("post ", i)}).ok(t)
	}
	count := func() int64 {
		posts, _ := en.d.Collection("posts")
		n, err := en.d.Count(en.ctx, &db.Query{Collection: posts})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	r := en.gql("", create, map[string]any{"t": "one too many"})
	if r.Status != 429 || r.code() != "RATE_LIMITED" {
		t.Fatalf("21st create: status %d %s, want 429 RATE_LIMITED", r.Status, r)
	}
	if n := count(); n != 20 {
		t.Fatalf("%d posts, want 20", n)
	}
	t.Run("each root field counts: two creates with room for one write nothing", func(t *testing.T) {
		clock.advance(250 * time.Millisecond) // one more create
		r := en.gql("", `mutation { a: createPost(input: {title: "a"}) { id } b: createPost(input: {title: "b"}) { id } }`, nil)
		if r.code() != "RATE_LIMITED" || len(r.Errors[0].Path) != 1 || r.Errors[0].Path[0] != "b" {
			t.Fatalf("got %s, want RATE_LIMITED at b", r)
		}
		if n := count(); n != 20 {
			t.Fatalf("%d posts, want still 20", n)
		}
	})
	t.Run("a refused create stores no upload", func(t *testing.T) {
		r := postMultipart(t, en, en.srv.URL, `mutation($c: Upload) { createPost(input: {title: "c", cover: $c}) { id } }`,
			map[string]any{"c": nil}, map[string][]string{"0": {"variables.c"}},
			filePart{key: "0", name: "c.png", contentType: "image/png", data: pngBytes(t)})
		if r.code() != "RATE_LIMITED" {
			t.Fatalf("got %s, want RATE_LIMITED", r)
		}
		if files := storedFiles(t, en.store.Root()); len(files) != 0 {
			t.Fatalf("stored %v, want nothing", files)
		}
	})
	t.Run("superusers are exempt", func(t *testing.T) {
		en.gql(en.superuser(), create, map[string]any{"t": "by root"}).ok(t)
	})
}

func TestRateLimitAudienceAndSpecificRules(t *testing.T) {
	en, rules, _ := newRulesEnv(t, ratelimit.Settings{Enabled: true, Rules: []ratelimit.Rule{
		{Label: "*:list", MaxRequests: 1, Duration: 60, Audience: ratelimit.AudienceGuest},
		{Label: "tags:list", MaxRequests: 3, Duration: 60},
		{Label: "*:auth", MaxRequests: 2, Duration: 3},
		{Label: "users:auth", MaxRequests: 4, Duration: 3},
	}})
	en.blog()
	en.create(&db.Collection{Name: "staff", Type: db.TypeAuth})
	_, token := en.user("ann@example.com")
	allowed := func(token, query string, vars map[string]any) int {
		n := 0
		for range 6 {
			switch r := en.gql(token, query, vars); r.code() {
			case "":
				n++
			case "RATE_LIMITED":
			default:
				t.Fatalf("%s: %s", query, r)
			}
		}
		return n
	}
	tests := []struct {
		name, token, query string
		want               int
	}{
		{"a GUEST rule limits guests", "", `{ posts { id } }`, 1},
		{"but not signed-in records", token, `{ posts { id } }`, 6},
		{"the collection's rule beats the wildcard, for everyone", token, `{ tags { id } }`, 3},
		{"users:auth beats *:auth", "", `mutation { userAuthWithPassword(identity: "ann@example.com", password: "password123") { token } }`, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n := allowed(tt.token, tt.query, nil); n != tt.want {
				t.Fatalf("%d of 6 allowed, want %d", n, tt.want)
			}
		})
	}
	t.Run("*:auth for another auth collection", func(t *testing.T) {
		limited := 0
		for range 6 {
			r := en.gql("", `mutation { staffAuthWithPassword(identity: "x@example.com", password: "password123") { token } }`, nil)
			if r.code() == "RATE_LIMITED" {
				limited++
			}
		}
		if limited != 4 {
			t.Fatalf("%d of 6 refused, want 4 (*:auth allows 2)", limited)
		}
	})
	t.Run("a change applies to the next request", func(t *testing.T) {
		if err := rules.Set(ratelimit.Settings{Enabled: true, Rules: []ratelimit.Rule{{Label: "posts:list", MaxRequests: 100, Duration: 60}}}); err != nil {
			t.Fatal(err)
		}
		if n := allowed("", `{ posts { id } }`, nil); n != 6 {
			t.Fatalf("%d of 6 allowed after raising the limit", n)
		}
	})
}

func TestRateLimitOverWebSocket(t *testing.T) {
	en, _, _ := newRulesEnv(t, ratelimit.Settings{Enabled: true, Rules: []ratelimit.Rule{{Label: "users:auth", MaxRequests: 1, Duration: 60}}})
	en.user("ann@example.com")
	c := en.connect(protoTransportWS, nil)
	for i, want := range []string{"", "RATE_LIMITED"} {
		id := fmt.Sprint("s", i)
		c.subscribe(id, signInOp, map[string]any{"i": "ann@example.com", "p": "password123"})
		ev := c.next(id)
		got := ""
		if len(ev.Errors) > 0 {
			got, _ = ev.Errors[0].Extensions["code"].(string)
		}
		if got != want {
			t.Fatalf("sign-in %d over the socket: %s %s, want code %q", i, ev.Type, ev.raw, want)
		}
		if want != "" && ev.Errors[0].Extensions["retryAfter"] == nil {
			t.Fatalf("no extensions.retryAfter: %s", ev.raw)
		}
	}
}
