package ratelimit

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/monobase/monobase/apperr"
)

func fromIP(addr string) context.Context {
	return WithRemoteAddr(context.Background(), addr)
}

func TestSignInPerIdentity(t *testing.T) {
	c := newClock()
	g := NewSignIn(SignInLimits{PerIdentity: Limit{Burst: 3, Per: time.Minute}, PerIP: Limit{Burst: 100, Per: time.Minute}}, c.now)
	ctx := fromIP("192.0.2.1:1000")
	for i := range 3 {
		if err := g.Check(ctx, "users", "ann@example.com"); err != nil {
			t.Fatalf("attempt %d refused: %v", i, err)
		}
		// The same identity, spelled differently, shares the budget.
		g.Failed(ctx, "users", []string{"ann@example.com", " ANN@example.com", "Ann@Example.com\t"}[i])
	}
	err := g.Check(ctx, "users", "ann@example.com")
	e := apperr.As(err)
	if e == nil || e.Code != apperr.RateLimited || e.RetryAfter != 20*time.Second {
		t.Fatalf("4th attempt: %#v, want RATE_LIMITED with a 20 s wait", err)
	}
	// Another address does not help: the identity is limited.
	if err := g.Check(fromIP("198.51.100.7:1"), "users", "ANN@EXAMPLE.COM"); !apperr.Is(err, apperr.RateLimited) {
		t.Fatalf("the identity from another IP: %v, want RATE_LIMITED", err)
	}
	// Other identities, and the same identity in another collection, are not.
	if err := g.Check(ctx, "users", "bob@example.com"); err != nil {
		t.Fatalf("another identity: %v", err)
	}
	if err := g.Check(ctx, "staff", "ann@example.com"); err != nil {
		t.Fatalf("the identity in another collection: %v", err)
	}
	c.advance(20 * time.Second)
	if err := g.Check(ctx, "users", "ann@example.com"); err != nil {
		t.Fatalf("after the wait: %v", err)
	}
}

func TestSignInPerIP(t *testing.T) {
	c := newClock()
	g := NewSignIn(SignInLimits{PerIdentity: Limit{Burst: 100, Per: time.Minute}, PerIP: Limit{Burst: 4, Per: time.Minute}}, c.now)
	ctx := fromIP("192.0.2.1:1000")
	for i := range 4 {
		id := strings.Repeat("x", i) + "@example.com" // a new identity each time
		if err := g.Check(ctx, "users", id); err != nil {
			t.Fatalf("attempt %d refused: %v", i, err)
		}
		g.Failed(fromIP("192.0.2.1:"+string(rune('1'+i))), "users", id) // any port of the IP
	}
	if err := g.Check(ctx, "users", "new@example.com"); !apperr.Is(err, apperr.RateLimited) {
		t.Fatalf("5th identity from the IP: %v, want RATE_LIMITED", err)
	}
	if err := g.Check(ctx, "_superusers", "admin@example.com"); !apperr.Is(err, apperr.RateLimited) {
		t.Fatalf("another collection from the IP: %v, want RATE_LIMITED (the IP budget is shared)", err)
	}
	if err := g.Check(fromIP("192.0.2.2:1000"), "users", "new@example.com"); err != nil {
		t.Fatalf("another IP: %v", err)
	}
	// Without an address only the identity counts.
	if err := g.Check(context.Background(), "users", "new@example.com"); err != nil {
		t.Fatalf("no address: %v", err)
	}
}

func TestSignInDefaultsAndOff(t *testing.T) {
	l := SignInLimits{}.WithDefaults()
	if l.PerIdentity != DefaultPerIdentity || l.PerIP != DefaultPerIP || l.MaxKeys != DefaultMaxKeys {
		t.Fatalf("defaults = %+v", l)
	}
	g := NewSignIn(SignInLimits{}, newClock().now)
	ctx := fromIP("192.0.2.1:1")
	for range DefaultPerIdentity.Burst {
		g.Failed(ctx, "users", "ann@example.com")
	}
	if err := g.Check(ctx, "users", "ann@example.com"); !apperr.Is(err, apperr.RateLimited) {
		t.Fatalf("the default identity budget: %v, want RATE_LIMITED after %d failures", err, DefaultPerIdentity.Burst)
	}

	off := NewSignIn(SignInLimits{PerIdentity: Limit{Burst: -1}, PerIP: Limit{Burst: -1}}, newClock().now)
	for range 1000 {
		off.Failed(ctx, "users", "ann@example.com")
	}
	if err := off.Check(ctx, "users", "ann@example.com"); err != nil {
		t.Fatalf("limits turned off: %v", err)
	}
}

func TestIdentityKeyIsBounded(t *testing.T) {
	long := strings.Repeat("a", 1<<20)
	k := identityKey("users", long)
	if len(k) > 64 {
		t.Fatalf("a 1 MiB identity gives a %d-byte key", len(k))
	}
	if k == identityKey("users", long+"b") {
		t.Fatal("two long identities share a key")
	}
	if identityKey("users", "Ann@X.com ") != identityKey("users", "ann@x.com") {
		t.Fatal("the identity is not normalized")
	}
}

func TestClientIP(t *testing.T) {
	tests := []struct{ remote, want string }{
		{"127.0.0.1:4321", "127.0.0.1"},
		{"192.0.2.9:80", "192.0.2.9"},
		{"[::ffff:192.0.2.9]:80", "192.0.2.9"},
		{"[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::/64"},
		{"[fe80::1%eth0]:80", "fe80::/64"},
		{"192.0.2.9", "192.0.2.9"},
		{"not an address", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got, ok := ClientIP(WithRemoteAddr(context.Background(), tt.remote))
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("ClientIP(%q) = %q, %v; want %q", tt.remote, got, ok, tt.want)
		}
	}
	if _, ok := ClientIP(context.Background()); ok {
		t.Error("ClientIP without an address reported one")
	}
	// The usual IPv4 peer costs no allocation (every rate limit check reads it).
	ctx := WithRemoteAddr(context.Background(), "127.0.0.1:4321")
	if n := testing.AllocsPerRun(100, func() { _, _ = ClientIP(ctx) }); n != 0 {
		t.Errorf("ClientIP of an IPv4 peer: %v allocations, want 0", n)
	}
}

func TestMiddleware(t *testing.T) {
	g := NewSignIn(SignInLimits{PerIdentity: Limit{Burst: 1, Per: 90 * time.Second}}, newClock().now)
	g.Failed(context.Background(), "users", "ann@example.com")
	tests := []struct {
		name        string
		upgrade     bool
		identity    string
		status      int // what the handler writes (0: none, just the body)
		wantStatus  int
		wantRetryIn string
	}{
		{"refused: 429 with Retry-After", false, "ann@example.com", 0, http.StatusTooManyRequests, "90"},
		{"refused, explicit 200: 429", false, "ann@example.com", http.StatusOK, http.StatusTooManyRequests, "90"},
		{"refused, but the handler chose another status", false, "ann@example.com", http.StatusBadRequest, http.StatusBadRequest, ""},
		{"allowed: untouched", false, "bob@example.com", 0, http.StatusOK, ""},
		{"WebSocket upgrade: untouched", true, "ann@example.com", 0, http.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sawIP string
			h := Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				sawIP, _ = ClientIP(r.Context())
				_ = g.Check(r.Context(), "users", tt.identity)
				if tt.status != 0 {
					w.WriteHeader(tt.status)
				}
				_, _ = w.Write([]byte(`{"errors":[]}`))
			}))
			req := httptest.NewRequest(http.MethodPost, "/graphql", nil)
			req.RemoteAddr = "192.0.2.5:5555"
			if tt.upgrade {
				req.Header.Set("Upgrade", "websocket")
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus || rec.Header().Get("Retry-After") != tt.wantRetryIn {
				t.Fatalf("status %d, Retry-After %q; want %d, %q", rec.Code, rec.Header().Get("Retry-After"), tt.wantStatus, tt.wantRetryIn)
			}
			if sawIP != "192.0.2.5" {
				t.Fatalf("the handler saw client IP %q", sawIP)
			}
		})
	}
}
