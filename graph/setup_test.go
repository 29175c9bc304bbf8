package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/monobase/monobase/internal/dbtest"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/monobase/monobase/auth"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/graph"
	"github.com/monobase/monobase/ratelimit"
)

const (
	setupQuery  = `{ setupState { needsSuperuser loopback } }`
	createFirst = `mutation($email: String!, $password: String!, $token: String) {
  createFirstSuperuser(email: $email, password: $password, setupToken: $token) { token record { email } }
}`
)

// firstRun is an admin API on a fresh data folder (no superuser), served
// as serve does: the trusted-proxy middleware outside the auth one.
type firstRun struct {
	d     *db.DB
	h     http.Handler
	setup *graph.Setup
}

func newFirstRun(t *testing.T, withSetup bool, proxy ratelimit.ProxySettings) *firstRun {
	t.Helper()
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
	f := &firstRun{d: d, setup: &graph.Setup{}}
	p := ratelimit.NewProxy(proxy)
	opts := []graph.Option{graph.WithTrustedProxy(p)}
	if withSetup {
		opts = append(opts, graph.WithSetup(f.setup))
	}
	f.h = p.Middleware(a.Middleware(graph.NewHandler(d, a, nil, opts...)))
	return f
}

type setupResult struct {
	Data   map[string]json.RawMessage
	Errors []struct {
		Message    string
		Extensions struct{ Code string }
	}
}

// post sends one operation from remoteAddr with the headers.
func (f *firstRun) post(t *testing.T, remoteAddr string, header map[string]string, token, query string, vars map[string]any) setupResult {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	r := httptest.NewRequest(http.MethodPost, "/graphql/admin", bytes.NewReader(body))
	r.RemoteAddr = remoteAddr
	r.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		r.Header.Set(k, v)
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	var out setupResult
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatalf("decode %d %s: %v", w.Code, w.Body, err)
	}
	return out
}

func (f *firstRun) superusers(t *testing.T) int64 {
	t.Helper()
	c, _ := f.d.Collection(db.SuperusersCollection)
	n, err := f.d.Count(context.Background(), &db.Query{Collection: c})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func wantCode(t *testing.T, res setupResult, code string) string {
	t.Helper()
	if len(res.Errors) != 1 || res.Errors[0].Extensions.Code != code {
		t.Fatalf("errors %+v, want one %s", res.Errors, code)
	}
	return res.Errors[0].Message
}

const (
	loopback = "127.0.0.1:50000"
	remote   = "203.0.113.7:50000"
)

func TestSetupState(t *testing.T) {
	f := newFirstRun(t, true, ratelimit.ProxySettings{Headers: []string{"X-Client"}})
	for _, tt := range []struct {
		name     string
		addr     string
		header   map[string]string
		loopback bool
	}{
		{"from 127.0.0.1", loopback, nil, true},
		{"from ::1", "[::1]:50000", nil, true},
		{"from another address", remote, nil, false},
		{"from 127.0.0.1 through a proxy (X-Forwarded-For)", loopback, map[string]string{"X-Forwarded-For": "203.0.113.7"}, false},
		{"from 127.0.0.1 with the trusted proxy header", loopback, map[string]string{"X-Client": "127.0.0.1"}, false},
		{"a forged X-Forwarded-For does not make a remote caller local", remote, map[string]string{"X-Forwarded-For": "127.0.0.1"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := f.post(t, tt.addr, tt.header, "", setupQuery, nil)
			var got struct{ NeedsSuperuser, Loopback bool }
			if len(res.Errors) > 0 {
				t.Fatalf("errors %+v (setupState is open to anonymous callers)", res.Errors)
			}
			_ = json.Unmarshal(res.Data["setupState"], &got)
			if !got.NeedsSuperuser || got.Loopback != tt.loopback {
				t.Fatalf("setupState = %+v, want needsSuperuser and loopback %v", got, tt.loopback)
			}
		})
	}
}

func TestCreateFirstSuperuser(t *testing.T) {
	vars := func(email, token string) map[string]any {
		v := map[string]any{"email": email, "password": "first-password-1"}
		if token != "" {
			v["token"] = token
		}
		return v
	}

	t.Run("refused from another address without the token", func(t *testing.T) {
		f := newFirstRun(t, true, ratelimit.ProxySettings{})
		if _, err := f.setup.IssueToken(); err != nil {
			t.Fatal(err)
		}
		msg := wantCode(t, f.post(t, remote, nil, "", createFirst, vars("a@example.com", "")), "FORBIDDEN")
		if !strings.Contains(msg, "one-time link") {
			t.Errorf("message %q does not say how to get in", msg)
		}
		wantCode(t, f.post(t, remote, nil, "", createFirst, vars("a@example.com", "not-the-token")), "FORBIDDEN")
		wantCode(t, f.post(t, loopback, map[string]string{"X-Real-IP": "203.0.113.7"}, "", createFirst, vars("a@example.com", "")), "FORBIDDEN")
		if n := f.superusers(t); n != 0 {
			t.Fatalf("%d superusers created", n)
		}
	})

	t.Run("allowed from loopback, once", func(t *testing.T) {
		f := newFirstRun(t, true, ratelimit.ProxySettings{})
		wantCode(t, f.post(t, loopback, nil, "", createFirst, map[string]any{"email": "a@example.com", "password": "short"}), "BAD_USER_INPUT")
		res := f.post(t, loopback, nil, "", createFirst, vars("a@example.com", ""))
		if len(res.Errors) > 0 {
			t.Fatalf("errors %+v", res.Errors)
		}
		var got struct {
			Token  string
			Record struct{ Email string }
		}
		_ = json.Unmarshal(res.Data["createFirstSuperuser"], &got)
		if got.Record.Email != "a@example.com" || got.Token == "" {
			t.Fatalf("createFirstSuperuser = %+v", got)
		}
		// The token is a superuser's.
		if res := f.post(t, remote, nil, got.Token, `{ collections { name } }`, nil); len(res.Errors) > 0 {
			t.Fatalf("the new token does not open the admin API: %+v", res.Errors)
		}
		msg := wantCode(t, f.post(t, loopback, nil, "", createFirst, vars("b@example.com", "")), "FORBIDDEN")
		if !strings.Contains(msg, "exists already") {
			t.Errorf("message %q", msg)
		}
		if n := f.superusers(t); n != 1 {
			t.Fatalf("%d superusers, want 1", n)
		}
		var state struct{ NeedsSuperuser bool }
		_ = json.Unmarshal(f.post(t, loopback, nil, "", setupQuery, nil).Data["setupState"], &state)
		if state.NeedsSuperuser {
			t.Error("setupState still needs a superuser")
		}
	})

	t.Run("allowed from another address with the token, once", func(t *testing.T) {
		f := newFirstRun(t, true, ratelimit.ProxySettings{})
		tok, err := f.setup.IssueToken()
		if err != nil || len(tok) != 64 {
			t.Fatalf("token %q, err %v", tok, err)
		}
		if res := f.post(t, remote, nil, "", createFirst, vars("a@example.com", tok)); len(res.Errors) > 0 {
			t.Fatalf("errors %+v", res.Errors)
		}
		wantCode(t, f.post(t, remote, nil, "", createFirst, vars("b@example.com", tok)), "FORBIDDEN")
		// Even with the superuser gone again, the spent token opens nothing.
		if err := f.d.DeleteSuperuser(context.Background(), "a@example.com"); err != nil {
			t.Fatal(err)
		}
		wantCode(t, f.post(t, remote, nil, "", createFirst, vars("b@example.com", tok)), "FORBIDDEN")
		if n := f.superusers(t); n != 0 {
			t.Fatalf("%d superusers, want 0", n)
		}
	})

	t.Run("refused when a superuser exists", func(t *testing.T) {
		f := newFirstRun(t, true, ratelimit.ProxySettings{})
		if err := f.d.UpsertSuperuser(context.Background(), "root@example.com", "root-password-1"); err != nil {
			t.Fatal(err)
		}
		tok, _ := f.setup.IssueToken()
		wantCode(t, f.post(t, loopback, nil, "", createFirst, vars("a@example.com", tok)), "FORBIDDEN")
		if n := f.superusers(t); n != 1 {
			t.Fatalf("%d superusers, want 1", n)
		}
	})

	t.Run("refused without WithSetup", func(t *testing.T) {
		f := newFirstRun(t, false, ratelimit.ProxySettings{})
		wantCode(t, f.post(t, loopback, nil, "", createFirst, vars("a@example.com", "")), "FORBIDDEN")
	})
}
