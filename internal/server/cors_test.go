package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/monobase/monobase/auth/oauth/oauthtest"
	"github.com/monobase/monobase/ratelimit"
)

func TestServeOriginsFlag(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     string
		want    []string // nil: not set
		wantErr bool
	}{
		{name: "not set", want: nil},
		{name: "flag", args: []string{"--origins", "https://app.example.com, http://localhost:5173"}, want: []string{"https://app.example.com", "http://localhost:5173"}},
		{name: "env var", env: "*", want: []string{"*"}},
		{name: "the flag wins", args: []string{"--origins=https://a.example"}, env: "*", want: []string{"https://a.example"}},
		{name: "an empty flag is none", args: []string{"--origins", ""}, env: "*", want: []string{}},
		{name: "a path is refused", args: []string{"--origins", "https://a.example/app"}, wantErr: true},
		{name: "a bad env var is refused", env: "app.example.com", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stderr := &strings.Builder{}
			c := NewServeCommand(io.Discard, stderr)
			err := c.ParseFlags(tt.args, func(k string) string {
				if k == "MONOBASE_ORIGINS" {
					return tt.env
				}
				return ""
			})
			if (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, errUsage)) {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				if !strings.Contains(stderr.String(), "cors.allowedOrigins.0") {
					t.Errorf("stderr %q does not name the entry", stderr)
				}
				return
			}
			if (c.Origins == nil) != (tt.want == nil) || !slices.Equal(c.Origins, tt.want) {
				t.Errorf("Origins = %#v, want %#v", c.Origins, tt.want)
			}
		})
	}
}

// send makes a request with an Origin (and for a preflight, the
// Access-Control-Request-* headers) and returns the answer, body read.
func send(t *testing.T, method, u, origin string, header map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultTransport.RoundTrip(req) // no redirects followed
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res
}

func preflight(t *testing.T, u, origin string) *http.Response {
	t.Helper()
	return send(t, http.MethodOptions, u, origin, map[string]string{
		"Access-Control-Request-Method":  "POST",
		"Access-Control-Request-Headers": "content-type,authorization",
	})
}

// dialWSFrom opens a WebSocket to /graphql with the Origin header and
// returns the HTTP status of the handshake (101 when accepted).
func dialWSFrom(t *testing.T, addr, origin string) int {
	t.Helper()
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	conn, res, err := (&websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}}).Dial("ws://"+addr+"/graphql", h)
	if err == nil {
		conn.Close()
		return res.StatusCode
	}
	if res == nil {
		t.Fatalf("dial from %q: %v", origin, err)
	}
	return res.StatusCode
}

// badFields returns the fields of a BAD_USER_INPUT answer, sorted.
func badFields(t *testing.T, r *gqlResponse) []string {
	t.Helper()
	if r.errCode() != "BAD_USER_INPUT" {
		t.Fatalf("got %+v, want BAD_USER_INPUT", r.Errors)
	}
	fields, _ := r.Errors[0].Extensions["fields"].(map[string]any)
	return slices.Sorted(maps.Keys(fields))
}

// corsOf returns settings.cors and settings.trustedProxy as JSON.
func corsOf(t *testing.T, base, token string) string {
	t.Helper()
	data := mustGQL(t, base+"/graphql/admin", token, `{ settings { cors { allowedOrigins fromCommandLine } trustedProxy { headers useLeftmostIp } } }`, nil)
	raw, _ := json.Marshal(data["settings"])
	return string(raw)
}

func TestServeCORS(t *testing.T) {
	const app = "http://app.example.test:5173"
	dir := t.TempDir()
	mustCLI(t, "--dir", dir, "superuser", "upsert", "admin@example.com", "admin-password")
	srv, _ := startServer(t, dir)
	base, admin := srv.URL(), srv.URL()+"/graphql/admin"
	token := signIn(t, base, "admin@example.com", "admin-password")

	t.Run("out of the box (not --dev) no origin is allowed", func(t *testing.T) {
		if got := corsOf(t, base, token); got != `{"cors":{"allowedOrigins":[],"fromCommandLine":false},"trustedProxy":{"headers":[],"useLeftmostIp":false}}` {
			t.Fatalf("settings %s", got)
		}
		if res := preflight(t, base+"/graphql", app); res.StatusCode != http.StatusForbidden || res.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("preflight: %d %v", res.StatusCode, res.Header)
		}
		if code := dialWSFrom(t, srv.Addr(), app); code != http.StatusForbidden {
			t.Fatalf("WebSocket from another origin: %d, want 403", code)
		}
	})

	mustGQL(t, admin, token, `mutation { updateSettings(input: {cors: {allowedOrigins: ["`+app+`"]}}) { cors { allowedOrigins } } }`, nil)
	t.Run("an allowed origin: preflights on every CORS path, at once", func(t *testing.T) {
		for _, path := range []string{"/graphql", "/graphql/admin", "/files/c/r/a.png", "/auth/users/x/login", "/backups/x.zip"} {
			res := preflight(t, base+path, app)
			h := res.Header
			if res.StatusCode != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != app ||
				h.Get("Access-Control-Allow-Headers") != "content-type,authorization" || !strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") {
				t.Fatalf("%s: %d %v", path, res.StatusCode, h)
			}
		}
		if res := preflight(t, base+"/graphql", "http://evil.example.test"); res.StatusCode != http.StatusForbidden {
			t.Fatalf("another origin: %d", res.StatusCode)
		}
	})
	t.Run("answers carry the headers, errors included", func(t *testing.T) {
		res := send(t, http.MethodPost, base+"/graphql", app, map[string]string{"Authorization": "Bearer not-a-token", "Content-Type": "application/json"})
		if res.StatusCode != http.StatusUnauthorized || res.Header.Get("Access-Control-Allow-Origin") != app || !slices.Contains(res.Header.Values("Vary"), "Origin") {
			t.Fatalf("a refused token: %d %v", res.StatusCode, res.Header)
		}
		res = send(t, http.MethodGet, base+"/graphql?query="+url.QueryEscape("{__typename}"), "http://evil.example.test", nil)
		if res.StatusCode != http.StatusOK || res.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("another origin: %d %v", res.StatusCode, res.Header)
		}
	})
	t.Run("the WebSocket origin check follows the list", func(t *testing.T) {
		for origin, want := range map[string]int{
			app:                        http.StatusSwitchingProtocols,
			"http://" + srv.Addr():     http.StatusSwitchingProtocols, // the server's own origin
			"":                         http.StatusSwitchingProtocols, // not a browser
			"http://evil.example.test": http.StatusForbidden,
			"http://app.example.test":  http.StatusForbidden, // another port is another origin
		} {
			if got := dialWSFrom(t, srv.Addr(), origin); got != want {
				t.Errorf("origin %q: %d, want %d", origin, got, want)
			}
		}
	})
	t.Run("invalid groups are refused field by field and change nothing", func(t *testing.T) {
		r := gql(t, admin, token, `mutation { updateSettings(input: {cors: {allowedOrigins: ["*", "https://x.example/path"]},
			trustedProxy: {headers: ["X-Forwarded-For", "bad header"]}}) { cors { allowedOrigins } } }`, nil)
		if got := badFields(t, r); !slices.Equal(got, []string{"cors.allowedOrigins.1", "trustedProxy.headers.1"}) {
			t.Fatalf("fields %v", got)
		}
		if got := corsOf(t, base, token); !strings.Contains(got, `"allowedOrigins":["`+app+`"]`) || !strings.Contains(got, `"headers":[]`) {
			t.Fatalf("after a refused change: %s", got)
		}
	})
	t.Run("saved settings outlive a restart", func(t *testing.T) {
		mustGQL(t, admin, token, `mutation { updateSettings(input: {trustedProxy: {headers: ["x-real-ip"]}}) { meta { appName } } }`, nil)
		if err := srv.Close(); err != nil {
			t.Fatal(err)
		}
		srv2, _ := startServer(t, dir)
		got := corsOf(t, srv2.URL(), signIn(t, srv2.URL(), "admin@example.com", "admin-password"))
		if got != `{"cors":{"allowedOrigins":["`+app+`"],"fromCommandLine":false},"trustedProxy":{"headers":["X-Real-Ip"],"useLeftmostIp":false}}` {
			t.Fatalf("after a restart: %s", got)
		}
		if res := preflight(t, srv2.URL()+"/graphql", app); res.StatusCode != http.StatusNoContent {
			t.Fatalf("preflight after a restart: %d", res.StatusCode)
		}
	})
}

func TestServeOriginsFlagWins(t *testing.T) {
	const app, other = "https://app.example.test", "https://other.example.test"
	dir := t.TempDir()
	mustCLI(t, "--dir", dir, "superuser", "upsert", "admin@example.com", "admin-password")
	srv, _ := startServerWith(t, dir, func(c *ServeCommand) {
		c.RateLimits = &ratelimit.Settings{}
		c.Dev = true // its default of "*" does not apply either
		c.Origins = []string{app}
	})
	token := signIn(t, srv.URL(), "admin@example.com", "admin-password")
	if got := corsOf(t, srv.URL(), token); !strings.Contains(got, `"cors":{"allowedOrigins":["`+app+`"],"fromCommandLine":true}`) {
		t.Fatalf("settings %s", got)
	}
	if preflight(t, srv.URL()+"/graphql", app).StatusCode != http.StatusNoContent || preflight(t, srv.URL()+"/graphql", other).StatusCode != http.StatusForbidden {
		t.Fatal("--origins does not decide")
	}
	r := gql(t, srv.URL()+"/graphql/admin", token, `mutation { updateSettings(input: {cors: {allowedOrigins: ["`+other+`"]}}) { cors { allowedOrigins } } }`, nil)
	if got := badFields(t, r); !slices.Equal(got, []string{"cors.allowedOrigins"}) {
		t.Fatalf("a change under --origins: fields %v", got)
	}
	// The same list is no change, so a form sent back as it is passes.
	mustGQL(t, srv.URL()+"/graphql/admin", token, `mutation { updateSettings(input: {cors: {allowedOrigins: ["`+app+`"]}}) { cors { allowedOrigins } } }`, nil)
	if preflight(t, srv.URL()+"/graphql", other).StatusCode != http.StatusForbidden {
		t.Fatal("the refused change applied")
	}
}

// TestServeOAuth2RedirectToCORSOrigins: the redirect flow may send a
// token to an allowed CORS origin, never to any origin for "*".
func TestServeOAuth2RedirectToCORSOrigins(t *testing.T) {
	const app = "http://spa.example.test:3000"
	dir := t.TempDir()
	mustCLI(t, "--dir", dir, "superuser", "upsert", "admin@example.com", "admin-password")
	srv, _ := startServer(t, dir)
	base, admin := srv.URL(), srv.URL()+"/graphql/admin"
	token := signIn(t, base, "admin@example.com", "admin-password")
	idp := oauthtest.New(t)
	mustGQL(t, admin, token, `mutation($in: CollectionInput!) { updateCollection(idOrName: "users", input: $in) { id } }`,
		map[string]any{"in": map[string]any{"name": "users", "type": "AUTH", "oauth2": map[string]any{"enabled": true,
			"providers": []any{map[string]any{"name": "acme", "clientId": oauthtest.ClientID, "clientSecret": oauthtest.ClientSecret,
				"authUrl": idp.URL + "/authorize", "tokenUrl": idp.URL + "/token", "userInfoUrl": idp.URL + "/userinfo"}}}}})
	login := func() int {
		return send(t, http.MethodGet, base+"/auth/users/acme/login?redirect="+url.QueryEscape(app+"/cb"), "", nil).StatusCode
	}
	mustGQL(t, admin, token, `mutation { updateSettings(input: {cors: {allowedOrigins: ["*"]}}) { meta { appName } } }`, nil)
	if code := login(); code != http.StatusBadRequest {
		t.Fatalf(`with "*": %d, want 400`, code)
	}
	mustGQL(t, admin, token, `mutation { updateSettings(input: {cors: {allowedOrigins: ["`+app+`"]}}) { meta { appName } } }`, nil)
	if code := login(); code != http.StatusFound {
		t.Fatalf("with the origin listed: %d, want 302 to the provider", code)
	}
}

// TestServeTrustedProxyAndPerUserBudgets: without trustedProxy a spoofed
// X-Forwarded-For shares the connection's budget; with it each client IP
// has its own; a signed-in record has its own wherever it comes from.
func TestServeTrustedProxyAndPerUserBudgets(t *testing.T) {
	dir := t.TempDir()
	mustCLI(t, "--dir", dir, "superuser", "upsert", "admin@example.com", "admin-password")
	srv, _ := startServer(t, dir)
	base, admin := srv.URL(), srv.URL()+"/graphql/admin"
	token := signIn(t, base, "admin@example.com", "admin-password")
	_, ann := signUp(t, base, "ann@example.com")
	_, bob := signUp(t, base, "bob@example.com")
	mustGQL(t, admin, token, `mutation { updateSettings(input: {rateLimits: {enabled: true, rules: [
		{label: "/graphql", maxRequests: 2, duration: 600, audience: "GUEST"},
		{label: "*:list", maxRequests: 2, duration: 600, audience: "AUTH"}]}}) { meta { appName } } }`, nil)
	guest := func(xff string) int {
		return send(t, http.MethodGet, base+"/graphql?query="+url.QueryEscape("{__typename}"), "", map[string]string{"X-Forwarded-For": xff}).StatusCode
	}
	if guest("203.0.113.1") != 200 || guest("203.0.113.2") != 200 || guest("203.0.113.3") != http.StatusTooManyRequests {
		t.Fatal("without trustedProxy, X-Forwarded-For escaped the connection's budget")
	}
	mustGQL(t, admin, token, `mutation { updateSettings(input: {trustedProxy: {headers: ["X-Forwarded-For"]}}) { meta { appName } } }`, nil)
	if guest("203.0.113.4") != 200 || guest("203.0.113.4") != 200 || guest("203.0.113.4") != http.StatusTooManyRequests || guest("203.0.113.5") != 200 {
		t.Fatal("behind a trusted proxy, client IPs do not have budgets of their own")
	}

	list := func(tok string) string { return gql(t, base+"/graphql", tok, `{ users { id } }`, nil).errCode() }
	for i := range 2 {
		if code := list(ann); code != "" {
			t.Fatalf("ann's list %d: %s", i, code)
		}
	}
	if code := list(ann); code != "RATE_LIMITED" {
		t.Fatalf("ann's 3rd list: %q, want RATE_LIMITED", code)
	}
	if code := list(bob); code != "" {
		t.Fatalf("bob, from the same address, after ann ran out: %q", code)
	}
}

// TestServeSocketsPerClientBehindProxy: the per-IP socket cap counts the
// client IP a trusted proxy header gives.
func TestServeSocketsPerClientBehindProxy(t *testing.T) {
	dir := t.TempDir()
	mustCLI(t, "--dir", dir, "superuser", "upsert", "admin@example.com", "admin-password")
	srv, _ := startServerWith(t, dir, func(c *ServeCommand) {
		c.RateLimits = &ratelimit.Settings{}
		c.MaxSocketsPerIP = 1
	})
	token := signIn(t, srv.URL(), "admin@example.com", "admin-password")
	mustGQL(t, srv.URL()+"/graphql/admin", token, `mutation { updateSettings(input: {trustedProxy: {headers: ["X-Real-IP"]}}) { meta { appName } } }`, nil)
	dial := func(ip string) int {
		h := http.Header{"X-Real-Ip": {ip}}
		conn, res, err := (&websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}}).Dial("ws://"+srv.Addr()+"/graphql", h)
		if err == nil {
			t.Cleanup(func() { conn.Close() })
		} else if res == nil {
			t.Fatal(err)
		}
		return res.StatusCode
	}
	if dial("203.0.113.1") != http.StatusSwitchingProtocols || dial("203.0.113.2") != http.StatusSwitchingProtocols {
		t.Fatal("two clients behind the proxy share one socket budget")
	}
	if code := dial("203.0.113.1"); code != http.StatusTooManyRequests {
		t.Fatalf("a second socket of one client: %d, want 429", code)
	}
}

// TestSettingsReloadKeepsLocalChanges: a settings reload (another node's
// change, or this node's own coming back) that runs while this node
// changes the settings never puts back the values it read before the
// change: right after each updateSettings, its origin is the one allowed.
func TestSettingsReloadKeepsLocalChanges(t *testing.T) {
	dir := t.TempDir()
	mustCLI(t, "--dir", dir, "superuser", "upsert", "admin@example.com", "admin-password")
	srv, _ := startServer(t, dir)
	token := signIn(t, srv.URL(), "admin@example.com", "admin-password")
	ctx, cancel := context.WithCancel(context.Background())
	reloads := make(chan struct{})
	go func() { // reloads without a pause, as a busy cluster would
		defer close(reloads)
		for ctx.Err() == nil {
			srv.reloadSettings(ctx, srv.live)
		}
	}()
	defer func() { cancel(); <-reloads }()
	for i := range 150 {
		origin := fmt.Sprintf("http://app%d.example.test", i)
		mustGQL(t, srv.URL()+"/graphql/admin", token, `mutation($o: [String!]!) { updateSettings(input: {cors: {allowedOrigins: $o}}) { meta { appName } } }`,
			map[string]any{"o": []string{origin}})
		if code := preflight(t, srv.URL()+"/graphql", origin).StatusCode; code != http.StatusNoContent {
			t.Fatalf("change %d: the origin just allowed got %d: a reload put back older settings", i, code)
		}
	}
}
