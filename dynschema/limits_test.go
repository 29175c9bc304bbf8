package dynschema

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/querycost"
)

// Each limit applies to the next request, without a restart.
func TestSetLimitsAppliesAtOnce(t *testing.T) {
	en := newEnv(t)
	en.blog()
	_, userTok := en.user("ann@example.com")
	if got := en.e.LimitSettings(); got != querycost.DefaultLimitSettings() {
		t.Fatalf("the engine starts with %+v, want the defaults", got)
	}
	set := func(edit func(*querycost.LimitSettings)) {
		t.Helper()
		s := querycost.DefaultLimitSettings()
		edit(&s)
		if err := en.e.SetLimits(s); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _ = en.e.SetLimits(querycost.DefaultLimitSettings()) })

	t.Run("maxDepth", func(t *testing.T) {
		depth4 := `{ posts { author { postsViaAuthor { id } } } }`
		en.gql("", depth4, nil).ok(t) // accepted and remembered
		set(func(s *querycost.LimitSettings) { s.MaxDepth = 3 })
		if r := en.gql("", depth4, nil); r.code() != "DEPTH_LIMIT_EXCEEDED" || !strings.Contains(r.Errors[0].Message, "limit of 3") {
			t.Fatalf("a depth-4 query under maxDepth 3: %s", r)
		}
		en.gql("", `{ posts { author { id } } }`, nil).ok(t)
		w := en.ws(t, nil)
		if m, err := w.next(); err != nil || m["type"] != "connection_ack" {
			t.Fatalf("got %v %v", m, err)
		}
		w.send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": depth4}})
		if m, err := w.next(); err != nil || m["type"] != "error" || !strings.Contains(fmt.Sprint(m), "DEPTH_LIMIT_EXCEEDED") {
			t.Fatalf("over a WebSocket: %v %v", m, err)
		}
		set(func(s *querycost.LimitSettings) { s.MaxDepth = 4 })
		en.gql("", depth4, nil).ok(t)
	})
	t.Run("maxComplexity", func(t *testing.T) {
		q := `{ posts(limit: 50) { id title } }`
		en.gql("", q, nil).ok(t)
		set(func(s *querycost.LimitSettings) { s.MaxComplexity = 20 })
		if r := en.gql("", q, nil); r.code() != "COMPLEXITY_LIMIT_EXCEEDED" {
			t.Fatalf("got %s", r)
		}
	})
	t.Run("maxLimit", func(t *testing.T) {
		set(func(s *querycost.LimitSettings) { s.MaxLimit = 5 })
		if r := en.gql("", `{ posts(limit: 6) { id } }`, nil); r.code() != "BAD_USER_INPUT" || !strings.Contains(r.String(), "limit must be between 0 and 5") {
			t.Fatalf("limit 6 under maxLimit 5: %s", r)
		}
		en.gql("", `{ posts(limit: 5) { id } }`, nil).ok(t)
		if r := en.gql("", `{ postsConnection(first: 6) { edges { node { id } } } }`, nil); r.code() != "BAD_USER_INPUT" {
			t.Fatalf("first 6 under maxLimit 5: %s", r)
		}
	})
	t.Run("maxBodySize", func(t *testing.T) {
		padded := func(n int) *http.Request {
			req, _ := http.NewRequest("POST", en.srv.URL+"/graphql", strings.NewReader(`{"query":"{ __typename }`+strings.Repeat(" ", n)+`"}`))
			req.Header.Set("Content-Type", "application/json")
			return req
		}
		en.do(padded(4096)).ok(t)
		set(func(s *querycost.LimitSettings) { s.MaxBodySize = 2048 })
		if r := en.do(padded(4096)); r.Status != http.StatusRequestEntityTooLarge || r.code() != "PAYLOAD_TOO_LARGE" {
			t.Fatalf("a 4 KiB body under maxBodySize 2048: %d %s", r.Status, r)
		}
		en.do(padded(1000)).ok(t)
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		_ = mw.WriteField("operations", `{"query":"{ __typename }"}`)
		_ = mw.WriteField("map", `{}`)
		_ = mw.WriteField("pad", strings.Repeat("x", 4096))
		_ = mw.Close()
		req, _ := http.NewRequest("POST", en.srv.URL+"/graphql", &buf)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		if r := en.do(req); r.Status != http.StatusRequestEntityTooLarge {
			t.Fatalf("a 4 KiB multipart body under maxBodySize 2048: %d %s", r.Status, r)
		}
	})
	t.Run("maxBatch", func(t *testing.T) {
		batch := func(n int) *http.Request {
			ops := strings.TrimSuffix(strings.Repeat(`{"query":"{ __typename }"},`, n), ",")
			req, _ := http.NewRequest("POST", en.srv.URL+"/graphql", strings.NewReader("["+ops+"]"))
			req.Header.Set("Content-Type", "application/json")
			return req
		}
		status := func(req *http.Request) (int, string) {
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		if code, body := status(batch(20)); code != http.StatusOK || strings.Count(body, `"Query"`) != 20 {
			t.Fatalf("20 operations under the default: %d %s", code, body)
		}
		set(func(s *querycost.LimitSettings) { s.MaxBatch = 3 })
		if code, body := status(batch(4)); code != http.StatusBadRequest || !strings.Contains(body, "at most 3 operations") {
			t.Fatalf("4 operations under maxBatch 3: %d %s", code, body)
		}
		if code, body := status(batch(3)); code != http.StatusOK || strings.Count(body, `"Query"`) != 3 {
			t.Fatalf("3 operations under maxBatch 3: %d %s", code, body)
		}
		set(func(s *querycost.LimitSettings) { s.MaxBatch = 25 })
		if code, _ := status(batch(25)); code != http.StatusOK {
			t.Fatalf("25 operations under maxBatch 25: %d", code)
		}
	})
	t.Run("introspection off", func(t *testing.T) {
		set(func(s *querycost.LimitSettings) { s.Introspection = false })
		for _, q := range []string{`{ __schema { queryType { name } } }`, `{ __type(name: "Post") { name } }`} {
			r := en.gql("", q, nil)
			if r.code() != "FORBIDDEN" || !strings.Contains(r.Errors[0].Message, "introspection is off for anonymous callers") {
				t.Fatalf("anonymous %s: %s", q, r)
			}
			en.gql(userTok, q, nil).ok(t)
			en.gql(en.superuser(), q, nil).ok(t)
		}
		jsonEq(t, en.gql("", `{ __typename }`, nil).ok(t).Data, `{"__typename":"Query"}`)
		set(func(s *querycost.LimitSettings) { s.Introspection = true })
		en.gql("", `{ __schema { queryType { name } } }`, nil).ok(t)
	})
	t.Run("invalid settings change nothing", func(t *testing.T) {
		before := en.e.LimitSettings()
		if err := en.e.SetLimits(querycost.LimitSettings{MaxDepth: 0}); apperr.CodeOf(err) != apperr.Invalid {
			t.Fatalf("got %v", err)
		}
		if en.e.LimitSettings() != before {
			t.Fatal("a refused SetLimits changed the limits")
		}
	})
}
