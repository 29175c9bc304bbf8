package ratelimit

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// benchSettings are the defaults with /graphql raised so that nothing is
// refused: what a read pays with the rules on.
func benchSettings() Settings {
	s := DefaultSettings()
	s.Rules[2].MaxRequests = MaxRequests
	return s
}

// BenchmarkRulesPaths is the /graphql path rule of one request (the
// client key, the rule lookup, one limiter charge), without the handler,
// for a guest (keyed by IP) and a signed-in record (keyed by record).
func BenchmarkRulesPaths(b *testing.B) {
	for _, c := range []struct {
		name   string
		caller Caller
	}{{"guest", Guest}, {"signedIn", SignedIn("pbc_3142635823", "r1a2b3c4d5e6f7g")}} {
		b.Run(c.name, func(b *testing.B) {
			r := NewRules(benchSettings(), 0, nil)
			next := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
			h := r.Paths(func(*http.Request) Caller { return c.caller }, next)
			req := httptest.NewRequest(http.MethodPost, "/graphql", nil)
			req = req.WithContext(WithRemoteAddr(req.Context(), "127.0.0.1:5000"))
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(w, req)
			}
		})
	}
}

// BenchmarkRulesOperation is the operation rule check of one root field:
// a read no rule names (posts:view), and a create that *:create counts
// (raised too, so that nothing is refused).
func BenchmarkRulesOperation(b *testing.B) {
	s := benchSettings()
	s.Rules[1].MaxRequests = MaxRequests
	r := NewRules(s, 0, nil)
	ctx := WithRemoteAddr(b.Context(), "127.0.0.1:5000")
	for _, action := range []string{"view", "create"} {
		b.Run(action, func(b *testing.B) {
			actions := []string{action}
			b.ReportAllocs()
			for b.Loop() {
				if err := r.Operation(ctx, Guest, "posts", actions); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
