package ratelimit

import (
	"errors"
	"github.com/monobase/monobase/internal/dbtest"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/monobase/monobase/apperr"
)

func TestProxySettingsValidate(t *testing.T) {
	tests := []struct {
		name    string
		headers []string
		bad     []string
	}{
		{"none", nil, nil},
		{"the usual headers", []string{"X-Forwarded-For", "x-real-ip", "CF-Connecting-IP"}, nil},
		{"not header names", []string{"", "X Forwarded", "X-A:b", "X-\r\nB"},
			[]string{"trustedProxy.headers.0", "trustedProxy.headers.1", "trustedProxy.headers.2", "trustedProxy.headers.3"}},
		{"the same header in two spellings", []string{"X-Real-IP", "x-real-ip"}, []string{"trustedProxy.headers.1"}},
		{"too many", slices.Repeat([]string{"X-A"}, MaxProxyHeaders+1), []string{"trustedProxy.headers"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ProxySettings{Headers: tt.headers}.Validate()
			var got []string
			if err != nil {
				e := apperr.As(err)
				if e == nil || e.Code != apperr.Invalid {
					t.Fatalf("error %v, want BAD_USER_INPUT", err)
				}
				got = slices.Sorted(maps.Keys(e.Fields))
			}
			if !slices.Equal(got, tt.bad) {
				t.Fatalf("invalid fields %v, want %v", got, tt.bad)
			}
		})
	}
}

// clientOf serves a request from peer with the headers through p's
// Middleware and Middleware (as the server nests them) and returns
// ClientIP, ClientAddr and PeerAddr as the handler sees them.
func clientOf(t *testing.T, p *Proxy, peer string, headers map[string][]string) (key, client, remote string) {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/graphql", nil)
	r.RemoteAddr = peer
	for k, vs := range headers {
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	p.Middleware(Middleware(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		key, _ = ClientIP(r.Context())
		client, remote = ClientAddr(r.Context()), PeerAddr(r.Context())
	}))).ServeHTTP(httptest.NewRecorder(), r)
	return key, client, remote
}

func TestProxyClientIP(t *testing.T) {
	const peer = "10.0.0.2:40000"
	xff := func(vs ...string) map[string][]string { return map[string][]string{"X-Forwarded-For": vs} }
	tests := []struct {
		name     string
		settings ProxySettings
		headers  map[string][]string
		want     string
	}{
		{"no trusted header: a spoofed X-Forwarded-For is ignored", ProxySettings{}, xff("203.0.113.9"), "10.0.0.2"},
		{"the rightmost IP by default", ProxySettings{Headers: []string{"X-Forwarded-For"}}, xff("203.0.113.9, 198.51.100.7"), "198.51.100.7"},
		{"the leftmost with useLeftmostIp", ProxySettings{Headers: []string{"X-Forwarded-For"}, UseLeftmostIP: true}, xff("203.0.113.9, 198.51.100.7"), "203.0.113.9"},
		{"entries that are not IPs are skipped", ProxySettings{Headers: []string{"X-Forwarded-For"}}, xff("203.0.113.9, unknown, "), "203.0.113.9"},
		{"the last of several header lines (the nearest proxy's)", ProxySettings{Headers: []string{"X-Forwarded-For"}}, xff("1.1.1.1", "198.51.100.7"), "198.51.100.7"},
		{"no valid IP: the peer", ProxySettings{Headers: []string{"X-Forwarded-For"}}, xff("nope, also-nope"), "10.0.0.2"},
		{"a header configured in lower case", ProxySettings{Headers: []string{"x-real-ip"}}, map[string][]string{"X-Real-Ip": {"198.51.100.8"}}, "198.51.100.8"},
		{"headers in order, the first that gives an IP wins", ProxySettings{Headers: []string{"CF-Connecting-IP", "X-Real-IP"}},
			map[string][]string{"X-Real-Ip": {"198.51.100.8"}, "Cf-Connecting-Ip": {"garbage"}}, "198.51.100.8"},
		{"IPv4-mapped IPv6 is IPv4", ProxySettings{Headers: []string{"X-Real-IP"}}, map[string][]string{"X-Real-Ip": {"::ffff:198.51.100.9"}}, "198.51.100.9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, client, remote := clientOf(t, NewProxy(tt.settings), peer, tt.headers)
			if client != tt.want || remote != "10.0.0.2" {
				t.Fatalf("client %q, peer %q; want %q and the connection's 10.0.0.2", client, remote, tt.want)
			}
		})
	}
	t.Run("an IPv6 client from a header is keyed by /64", func(t *testing.T) {
		key, client, _ := clientOf(t, NewProxy(ProxySettings{Headers: []string{"X-Real-IP"}}), peer,
			map[string][]string{"X-Real-Ip": {"2001:db8:1:2::99"}})
		if key != "2001:db8:1:2::/64" || client != "2001:db8:1:2::99" {
			t.Fatalf("key %q, client %q", key, client)
		}
	})
	t.Run("Set applies to the next request; invalid settings change nothing", func(t *testing.T) {
		p := NewProxy(ProxySettings{})
		if err := p.Set(ProxySettings{Headers: []string{"X-Real-IP"}}); err != nil {
			t.Fatal(err)
		}
		if _, client, _ := clientOf(t, p, peer, map[string][]string{"X-Real-Ip": {"198.51.100.8"}}); client != "198.51.100.8" {
			t.Fatalf("after Set: client %q", client)
		}
		if err := p.Set(ProxySettings{Headers: []string{"bad header"}}); !apperr.Is(err, apperr.Invalid) {
			t.Fatalf("Set(invalid) = %v", err)
		}
		if got := p.Settings(); !slices.Equal(got.Headers, []string{"X-Real-Ip"}) {
			t.Fatalf("after a refused Set: %+v", got)
		}
	})
}

// TestProxyBudgets: behind a trusted proxy each client has its own
// budget; without one, a client cannot escape its budget by sending
// X-Forwarded-For.
func TestProxyBudgets(t *testing.T) {
	rules := Settings{Enabled: true, Rules: []Rule{{Label: "/graphql", MaxRequests: 1, Duration: 60}}}
	serve := func(p *Proxy, r *Rules, xff string) int {
		h := p.Middleware(Middleware(r.Paths(func(*http.Request) Caller { return Guest },
			http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))))
		req := httptest.NewRequest(http.MethodPost, "/graphql", nil)
		req.RemoteAddr = "10.0.0.2:1"
		req.Header.Set("X-Forwarded-For", xff)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code
	}
	r := NewRules(rules, 0, newClock().now)
	untrusted := NewProxy(ProxySettings{})
	if serve(untrusted, r, "203.0.113.1") != 200 || serve(untrusted, r, "203.0.113.2") != http.StatusTooManyRequests {
		t.Fatal("a spoofed X-Forwarded-For got a fresh budget without trustedProxy")
	}
	r = NewRules(rules, 0, newClock().now)
	trusted := NewProxy(ProxySettings{Headers: []string{"X-Forwarded-For"}})
	if serve(trusted, r, "203.0.113.1") != 200 || serve(trusted, r, "203.0.113.2") != 200 {
		t.Fatal("two clients behind a trusted proxy share a budget")
	}
	if serve(trusted, r, "203.0.113.1") != http.StatusTooManyRequests {
		t.Fatal("a client behind a trusted proxy was not limited")
	}
}

func TestProxyLoadSave(t *testing.T) {
	ctx := t.Context()
	d, err := dbtest.Open(t, ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if s, err := LoadProxy(ctx, d); err != nil || len(s.Headers) != 0 || s.UseLeftmostIP {
		t.Fatalf("never saved: %+v %v, want no header", s, err)
	}
	if err := SaveProxy(ctx, d, ProxySettings{Headers: []string{"x y"}}); !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("SaveProxy(invalid) = %v", err)
	}
	if err := SaveProxy(ctx, d, ProxySettings{Headers: []string{"x-forwarded-for"}, UseLeftmostIP: true}); err != nil {
		t.Fatal(err)
	}
	s, err := LoadProxy(ctx, d)
	if err != nil || !slices.Equal(s.Headers, []string{"X-Forwarded-For"}) || !s.UseLeftmostIP {
		t.Fatalf("after SaveProxy: %+v %v", s, err)
	}
	if err := d.SetParam(ctx, proxyParam, []byte(`{"headers":["a b"]}`)); err != nil {
		t.Fatal(err)
	}
	if s, err := LoadProxy(ctx, d); !errors.Is(err, ErrInvalidProxyStored) || len(s.Headers) != 0 {
		t.Fatalf("a hand-edited invalid group: %+v %v", s, err)
	}
}

// TestForwardedHTTPS: X-Forwarded-Proto is believed only with trusted
// proxy headers, and only its last (nearest) value counts.
func TestForwardedHTTPS(t *testing.T) {
	for _, tc := range []struct {
		name    string
		headers []string
		proto   []string
		want    bool
	}{
		{"no trusted proxy", nil, []string{"https"}, false},
		{"trusted, https", []string{"X-Forwarded-For"}, []string{"https"}, true},
		{"trusted, HTTPS in a list", []string{"X-Forwarded-For"}, []string{"http, HTTPS"}, true},
		{"trusted, the nearest says http", []string{"X-Forwarded-For"}, []string{"https", "http"}, false},
		{"trusted, no header", []string{"X-Forwarded-For"}, nil, false},
	} {
		var got bool
		h := NewProxy(ProxySettings{Headers: tc.headers}).Middleware(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			got = ForwardedHTTPS(r.Context())
		}))
		r := httptest.NewRequest(http.MethodGet, "/auth/x", nil)
		for _, p := range tc.proto {
			r.Header.Add("X-Forwarded-Proto", p)
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
		if got != tc.want {
			t.Errorf("%s: ForwardedHTTPS = %v, want %v", tc.name, got, tc.want)
		}
	}
}
