package cors

import (
	"errors"
	"github.com/monobase/monobase/internal/dbtest"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/monobase/monobase/apperr"
)

// invalidFields returns the fields a BAD_USER_INPUT error names, sorted.
func invalidFields(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	e := apperr.As(err)
	if e == nil || e.Code != apperr.Invalid {
		t.Fatalf("error %v, want BAD_USER_INPUT", err)
	}
	return slices.Sorted(maps.Keys(e.Fields))
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		origins []string
		bad     []string
	}{
		{"none", []string{}, nil},
		{"any", []string{"*"}, nil},
		{"origins with and without a port", []string{"https://app.example.com", "http://127.0.0.1:5173", "http://[::1]:3000"}, nil},
		{"a path, a trailing slash, a query", []string{"https://a.example/app", "https://b.example/", "https://c.example?x=1"},
			[]string{"cors.allowedOrigins.0", "cors.allowedOrigins.1", "cors.allowedOrigins.2"}},
		{"no scheme, another scheme, empty", []string{"app.example.com", "ftp://x.example", ""},
			[]string{"cors.allowedOrigins.0", "cors.allowedOrigins.1", "cors.allowedOrigins.2"}},
		{"user info, a wildcard host, a fragment", []string{"https://u:p@x.example", "https://*.example.com", "https://x.example#a"},
			[]string{"cors.allowedOrigins.0", "cors.allowedOrigins.1", "cors.allowedOrigins.2"}},
		{"the same origin twice, written differently", []string{"https://X.example:443", "https://x.example"}, []string{"cors.allowedOrigins.1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := invalidFields(t, Settings{AllowedOrigins: tt.origins}.Validate())
			if !slices.Equal(got, tt.bad) {
				t.Fatalf("invalid fields %v, want %v", got, tt.bad)
			}
		})
	}
	t.Run("at most MaxOrigins", func(t *testing.T) {
		many := slices.Repeat([]string{"*"}, MaxOrigins+1)
		if got := invalidFields(t, Settings{AllowedOrigins: many}.Validate()); !slices.Equal(got, []string{"cors.allowedOrigins"}) {
			t.Fatalf("invalid fields %v", got)
		}
	})
	t.Run("the trailing slash is named", func(t *testing.T) {
		e := apperr.As(Settings{AllowedOrigins: []string{"https://b.example/"}}.Validate())
		if msg := e.Fields["cors.allowedOrigins.0"].Message; !strings.Contains(msg, "trailing /") {
			t.Fatalf("message %q does not name the trailing slash", msg)
		}
	})
}

func TestNormalizedAndParseList(t *testing.T) {
	s := ParseList(" HTTPS://App.Example.com:443 , http://localhost:80,*,,")
	got := s.Normalized().AllowedOrigins
	want := []string{"https://app.example.com", "http://localhost", "*"}
	if !slices.Equal(got, want) {
		t.Fatalf("normalized %v, want %v", got, want)
	}
	if l := ParseList("").AllowedOrigins; l == nil || len(l) != 0 {
		t.Fatalf(`ParseList("") = %#v, want an empty list`, l)
	}
}

func TestAllowed(t *testing.T) {
	p := NewPolicy(Settings{AllowedOrigins: []string{"https://app.example.com", "http://localhost:5173"}}, false)
	for origin, want := range map[string]bool{
		"https://app.example.com":      true,
		"https://APP.example.com:443":  true, // compared as browsers write it
		"http://app.example.com":       false,
		"https://app.example.com:8443": false,
		"http://localhost:5173":        true,
		"http://localhost:5174":        false,
		"null":                         false,
		"":                             false,
	} {
		if got := p.Allowed(origin); got != want {
			t.Errorf("Allowed(%q) = %v, want %v", origin, got, want)
		}
	}
	any := NewPolicy(Settings{AllowedOrigins: []string{"*"}}, false)
	if !any.Allowed("https://anything.example") || any.Allowed("") {
		t.Error(`"*" must allow every origin, and never an empty one`)
	}
	if none := NewPolicy(DefaultSettings(false), false); none.Allowed("https://app.example.com") {
		t.Error("the default outside --dev allows an origin")
	}
	if dev := NewPolicy(DefaultSettings(true), false); !dev.Allowed("http://127.0.0.1:3000") {
		t.Error("the --dev default does not allow every origin")
	}
}

func TestRedirectOriginsNeverAny(t *testing.T) {
	p := NewPolicy(Settings{AllowedOrigins: []string{"*", "https://app.example.com"}}, false)
	if got := p.RedirectOrigins(); !slices.Equal(got, []string{"https://app.example.com"}) {
		t.Fatalf("RedirectOrigins = %v, want only the listed origin", got)
	}
}

func TestSetLiveAndFixed(t *testing.T) {
	p := NewPolicy(Settings{AllowedOrigins: []string{}}, false)
	if p.Allowed("https://a.example") {
		t.Fatal("allowed before Set")
	}
	if err := p.Set(Settings{AllowedOrigins: []string{"https://a.example"}}); err != nil {
		t.Fatal(err)
	}
	if !p.Allowed("https://a.example") {
		t.Fatal("Set did not apply")
	}
	if got := invalidFields(t, p.Set(Settings{AllowedOrigins: []string{"nope"}})); !slices.Equal(got, []string{"cors.allowedOrigins.0"}) {
		t.Fatalf("invalid Set: fields %v", got)
	}
	if !p.Allowed("https://a.example") {
		t.Fatal("a refused Set changed the policy")
	}

	fixed := NewPolicy(Settings{AllowedOrigins: []string{"https://a.example"}}, true)
	if !fixed.Fixed() || !fixed.Allowed("https://a.example") {
		t.Fatal("a fixed policy does not apply its list")
	}
	if got := invalidFields(t, fixed.Set(Settings{AllowedOrigins: []string{"*"}})); !slices.Equal(got, []string{"cors.allowedOrigins"}) {
		t.Fatalf("Set on a fixed policy: fields %v", got)
	}
	if fixed.Allowed("https://b.example") {
		t.Fatal("a fixed policy changed")
	}
}

func TestLoadSave(t *testing.T) {
	ctx := t.Context()
	d, err := dbtest.Open(t, ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	def := DefaultSettings(true)
	s, err := Load(ctx, d, def)
	if err != nil || !slices.Equal(s.AllowedOrigins, []string{"*"}) {
		t.Fatalf("never saved: %v %v, want the default", s, err)
	}
	if err := Save(ctx, d, Settings{AllowedOrigins: []string{"bad"}}); apperr.CodeOf(err) != apperr.Invalid {
		t.Fatalf("Save of an invalid list: %v", err)
	}
	if err := Save(ctx, d, Settings{AllowedOrigins: []string{"HTTPS://App.Example"}}); err != nil {
		t.Fatal(err)
	}
	s, err = Load(ctx, d, def)
	if err != nil || !slices.Equal(s.AllowedOrigins, []string{"https://app.example"}) {
		t.Fatalf("after Save: %v %v", s, err)
	}
	if err := d.SetParam(ctx, settingsParam, []byte(`{"allowedOrigins":["ftp://x"]}`)); err != nil {
		t.Fatal(err)
	}
	s, err = Load(ctx, d, def)
	if !errors.Is(err, ErrInvalidStored) || !slices.Equal(s.AllowedOrigins, []string{"*"}) {
		t.Fatalf("a hand-edited invalid list: %v %v, want ErrInvalidStored and the default", s, err)
	}
}

// do serves one request through p's Handler on /graphql and /files/ and
// reports whether next ran.
func do(p *Policy, r *http.Request) (*httptest.ResponseRecorder, bool) {
	reached := false
	h := p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached = true
		w.WriteHeader(http.StatusUnauthorized) // an error of next, which the page must see
	}), "/graphql", "/files/")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w, reached
}

func preflight(path, origin, headers string) *http.Request {
	r := httptest.NewRequest(http.MethodOptions, path, nil)
	r.Header.Set("Origin", origin)
	r.Header.Set("Access-Control-Request-Method", "POST")
	if headers != "" {
		r.Header.Set("Access-Control-Request-Headers", headers)
	}
	return r
}

func TestHandler(t *testing.T) {
	const app = "https://app.example.com"
	p := NewPolicy(Settings{AllowedOrigins: []string{app}}, false)
	t.Run("a preflight from an allowed origin", func(t *testing.T) {
		w, reached := do(p, preflight("/graphql", app, "content-type, authorization"))
		h := w.Header()
		if reached || w.Code != http.StatusNoContent {
			t.Fatalf("status %d, next ran %v; want 204 answered here", w.Code, reached)
		}
		for k, want := range map[string]string{
			"Access-Control-Allow-Origin":  app,
			"Access-Control-Allow-Methods": "GET, HEAD, POST, OPTIONS",
			"Access-Control-Allow-Headers": "content-type, authorization",
			"Access-Control-Max-Age":       "7200",
		} {
			if got := h.Get(k); got != want {
				t.Errorf("%s: %q, want %q", k, got, want)
			}
		}
		if v := h.Values("Vary"); !slices.Contains(v, "Origin") || !slices.Contains(v, "Access-Control-Request-Headers") {
			t.Errorf("Vary %v", v)
		}
	})
	t.Run("a preflight from another origin: 403, no CORS header", func(t *testing.T) {
		w, reached := do(p, preflight("/files/c/r/a.png", "https://evil.example", "authorization"))
		if reached || w.Code != http.StatusForbidden {
			t.Fatalf("status %d, next ran %v; want 403 answered here", w.Code, reached)
		}
		for k := range w.Header() {
			if strings.HasPrefix(k, "Access-Control-") {
				t.Errorf("header %s on a refused preflight", k)
			}
		}
	})
	t.Run("requested headers that are not header names are not echoed", func(t *testing.T) {
		w, _ := do(p, preflight("/graphql", app, "x-a\r\nSet-Cookie: a=b"))
		if got := w.Header().Get("Access-Control-Allow-Headers"); got != "" {
			t.Fatalf("echoed %q", got)
		}
	})
	t.Run("a request from an allowed origin gets its headers, errors included", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodPost, "/graphql", nil)
		r.Header.Set("Origin", app)
		w, reached := do(p, r)
		if !reached || w.Code != http.StatusUnauthorized {
			t.Fatalf("status %d, next ran %v", w.Code, reached)
		}
		if w.Header().Get("Access-Control-Allow-Origin") != app || !strings.Contains(w.Header().Get("Access-Control-Expose-Headers"), "Retry-After") {
			t.Fatalf("headers %v", w.Header())
		}
	})
	t.Run("a request from another origin runs without CORS headers", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodPost, "/graphql/admin", nil)
		r.Header.Set("Origin", "https://evil.example")
		w, reached := do(p, r)
		if !reached || w.Header().Get("Access-Control-Allow-Origin") != "" || w.Header().Get("Vary") != "Origin" {
			t.Fatalf("next ran %v, headers %v", reached, w.Header())
		}
	})
	t.Run("other paths and WebSocket upgrades pass untouched", func(t *testing.T) {
		for _, r := range []*http.Request{preflight("/playground", app, ""), preflight("/graphqlx", app, ""), preflight("/health", app, "")} {
			if w, reached := do(p, r); !reached || len(w.Header()) != 0 {
				t.Errorf("%s: next ran %v, headers %v", r.URL.Path, reached, w.Header())
			}
		}
		r := httptest.NewRequest(http.MethodGet, "/graphql", nil)
		r.Header.Set("Origin", app)
		r.Header.Set("Upgrade", "websocket")
		if w, reached := do(p, r); !reached || w.Header().Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("upgrade: next ran %v, headers %v", reached, w.Header())
		}
	})
	t.Run("a change applies to the next preflight", func(t *testing.T) {
		q := NewPolicy(Settings{AllowedOrigins: []string{}}, false)
		if w, _ := do(q, preflight("/graphql", app, "")); w.Code != http.StatusForbidden {
			t.Fatalf("before: %d", w.Code)
		}
		if err := q.Set(Settings{AllowedOrigins: []string{"*"}}); err != nil {
			t.Fatal(err)
		}
		w, _ := do(q, preflight("/graphql", app, ""))
		if w.Code != http.StatusNoContent || w.Header().Get("Access-Control-Allow-Origin") != app {
			t.Fatalf(`after allowing "*": %d %v (the origin is echoed)`, w.Code, w.Header())
		}
	})
}
