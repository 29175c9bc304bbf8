package abuse

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// rateLimitAttacks lists the cases of the rate limit rules
// (settings.rateLimits). Each turns the default rules on for itself and off
// again, since the rest of the suite sends all its requests from 127.0.0.1.
func rateLimitAttacks() []attack {
	return []attack{
		{"ratelimit_signin_flood", func(t *testing.T, s *server) {
			const email = "ratelimit-user@example.com"
			signUp(t, s, email)
			s.SetRateLimits(true)
			defer s.SetRateLimits(false)
			// 20 sign-ins with the right password as fast as possible: *:auth
			// allows 2 at once, then one every 1.5 s.
			const op = `mutation($i: String!, $p: String!) { userAuthWithPassword(identity: $i, password: $p) { token } }`
			start := time.Now()
			signedIn, limited := 0, 0
			for range 20 {
				r := s.GraphQL("/graphql", "", op, map[string]any{"i": email, "p": signinPassword})
				if tok, _ := r.Field("userAuthWithPassword", "token").(string); tok != "" {
					signedIn++
					continue
				}
				refused(t, r, http.StatusTooManyRequests, "RATE_LIMITED")
				if r.Header.Get("Retry-After") == "" || r.JSON.Errors[0].Extensions["retryAfter"] == nil {
					t.Fatalf("no Retry-After header or extensions.retryAfter: %v %s", r.Header, r.Body)
				}
				limited++
			}
			if allowed := 2 + int(time.Since(start)/(1500*time.Millisecond)); signedIn > allowed {
				t.Errorf("%d sign-ins went through in %v, want at most %d", signedIn, time.Since(start), allowed)
			}
			if limited == 0 {
				t.Error("no sign-in was rate limited")
			}
			// The budget is per collection: the superuser can still sign in.
			r := s.GraphQL("/graphql/admin", "", `mutation($e: String!, $p: String!) { authWithPassword(email: $e, password: $p) { token } }`,
				map[string]any{"e": adminEmail, "p": adminPassword})
			if tok, _ := r.Field("authWithPassword", "token").(string); tok == "" {
				t.Fatalf("the superuser could not sign in: %s", r.Body)
			}
		}},
		{"ratelimit_request_flood", func(t *testing.T, s *server) {
			s.SetRateLimits(true)
			defer s.SetRateLimits(false)
			ok, limited := 0, 0
			for range 400 {
				r := s.GraphQL("/graphql", "", `{ __typename }`, nil)
				switch r.Status {
				case http.StatusOK:
					ok++
				case http.StatusTooManyRequests:
					limited++
				default:
					t.Fatalf("status %d: %s", r.Status, r.Body)
				}
			}
			// The previous case spent some of 127.0.0.1's budget (the rules
			// keep their counts while off), hence not exactly 300.
			if ok < 250 || ok > 330 || limited == 0 {
				t.Fatalf("%d answered, %d limited; want about 300 answered (/graphql: 300 per 10 s) and the rest limited", ok, limited)
			}
			// Over the budget the answer comes before the body is read: a
			// request announcing 8 MiB and sending none is answered at once.
			// The budget refills (30 a second), so the request goes right
			// after a 429 proves it empty; a refill between the two lets it
			// through to wait for its body, hence a few tries.
			limitedNow := func() bool {
				for range 100 {
					if s.GraphQL("/graphql", "", `{ __typename }`, nil).Status == http.StatusTooManyRequests {
						return true
					}
				}
				return false
			}
			var err error
			for range 5 {
				if !limitedNow() {
					t.Fatal("100 requests over the budget were all answered")
				}
				var status int
				if status, err = headersOnly(s.URL, "/graphql", 8<<20); err == nil {
					if status != http.StatusTooManyRequests {
						t.Fatalf("status %d for a request without its body, want 429 before the body is read", status)
					}
					break
				}
			}
			if err != nil {
				t.Fatal(err)
			}
		}},
	}
}

// headersOnly sends a POST to path with a Content-Length of n but no body
// and returns the status of the answer; no answer within maxReplyTime is
// an error.
func headersOnly(base, path string, n int) (int, error) {
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(maxReplyTime))
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n",
		path, strings.TrimPrefix(base, "http://"), n)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, fmt.Errorf("no answer before the body was sent: %w", err)
	}
	res.Body.Close()
	return res.StatusCode, nil
}
