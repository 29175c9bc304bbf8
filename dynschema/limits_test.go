package dynschema

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/monobase/monobase/apperr"
)

func TestLimitSettingsValidate(t *testing.T) {
	if err := DefaultLimitSettings().Validate(); err != nil {
		t.Fatalf("the defaults are invalid: %v", err)
	}
	def := DefaultLimitSettings()
	if def != (LimitSettings{MaxDepth: 12, MaxComplexity: 5000, MaxLimit: 1000, MaxBodySize: 32 << 20, Introspection: true}) {
		t.Fatalf("the defaults are not today's fixed limits: %+v", def)
	}
	for _, tc := range []struct {
		name string
		edit func(*LimitSettings)
		want []string
	}{
		{"smallest", func(s *LimitSettings) {
			*s = LimitSettings{MaxDepth: 1, MaxComplexity: 1, MaxLimit: 1, MaxBodySize: MinBodySize}
		}, nil},
		{"largest", func(s *LimitSettings) {
			*s = LimitSettings{MaxDepth: MaxDepthLimit, MaxComplexity: MaxComplexityLimit, MaxLimit: MaxLimitLimit, MaxBodySize: MaxBodySizeLimit}
		}, nil},
		{"zeros", func(s *LimitSettings) { *s = LimitSettings{} },
			[]string{"limits.maxBodySize", "limits.maxComplexity", "limits.maxDepth", "limits.maxLimit"}},
		{"negative depth", func(s *LimitSettings) { s.MaxDepth = -1 }, []string{"limits.maxDepth"}},
		{"absurd depth", func(s *LimitSettings) { s.MaxDepth = MaxDepthLimit + 1 }, []string{"limits.maxDepth"}},
		{"absurd complexity", func(s *LimitSettings) { s.MaxComplexity = MaxComplexityLimit + 1 }, []string{"limits.maxComplexity"}},
		{"negative limit", func(s *LimitSettings) { s.MaxLimit = -5 }, []string{"limits.maxLimit"}},
		{"absurd limit", func(s *LimitSettings) { s.MaxLimit = MaxLimitLimit + 1 }, []string{"limits.maxLimit"}},
		{"tiny body", func(s *LimitSettings) { s.MaxBodySize = MinBodySize - 1 }, []string{"limits.maxBodySize"}},
		{"huge body", func(s *LimitSettings) { s.MaxBodySize = MaxBodySizeLimit + 1 }, []string{"limits.maxBodySize"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := DefaultLimitSettings()
			tc.edit(&s)
			err := s.Validate()
			var got []string
			if e := apperr.As(err); e != nil && e.Code == apperr.Invalid {
				for k := range e.Fields {
					got = append(got, k)
				}
			} else if err != nil {
				t.Fatalf("not BAD_USER_INPUT: %v", err)
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("invalid fields %v, want %v", got, tc.want)
			}
		})
	}
}

func TestLimitSettingsLoadSave(t *testing.T) {
	en := newEnv(t)
	ctx := context.Background()
	def := DefaultLimitSettings()
	if got, err := LoadLimitSettings(ctx, en.d, def); err != nil || got != def {
		t.Fatalf("never saved: %+v, %v", got, err)
	}
	want := LimitSettings{MaxDepth: 5, MaxComplexity: 300, MaxLimit: 50, MaxBodySize: 1 << 20, Introspection: false}
	if err := SaveLimitSettings(ctx, en.d, want); err != nil {
		t.Fatal(err)
	}
	if got, err := LoadLimitSettings(ctx, en.d, def); err != nil || got != want {
		t.Fatalf("Load = %+v, %v; want %+v", got, err, want)
	}
	if err := SaveLimitSettings(ctx, en.d, LimitSettings{MaxDepth: -1}); apperr.CodeOf(err) != apperr.Invalid {
		t.Fatalf("an invalid save: %v", err)
	}
	if err := en.d.SetParam(ctx, limitsParam, []byte(`{"maxDepth":0}`)); err != nil {
		t.Fatal(err)
	}
	if got, err := LoadLimitSettings(ctx, en.d, def); !errors.Is(err, ErrInvalidLimits) || got != def {
		t.Fatalf("an invalid stored group: %+v, %v; want ErrInvalidLimits and the defaults", got, err)
	}
}

// Each limit applies to the next request, without a restart.
func TestSetLimitsAppliesAtOnce(t *testing.T) {
	en := newEnv(t)
	en.blog()
	_, userTok := en.user("ann@example.com")
	if got := en.e.LimitSettings(); got != DefaultLimitSettings() {
		t.Fatalf("the engine starts with %+v, want the defaults", got)
	}
	set := func(edit func(*LimitSettings)) {
		t.Helper()
		s := DefaultLimitSettings()
		edit(&s)
		if err := en.e.SetLimits(s); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _ = en.e.SetLimits(DefaultLimitSettings()) })

	t.Run("maxDepth", func(t *testing.T) {
		depth4 := `{ posts { author { postsViaAuthor { id } } } }`
		en.gql("", depth4, nil).ok(t) // accepted and remembered
		set(func(s *LimitSettings) { s.MaxDepth = 3 })
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
		set(func(s *LimitSettings) { s.MaxDepth = 4 })
		en.gql("", depth4, nil).ok(t)
	})
	t.Run("maxComplexity", func(t *testing.T) {
		q := `{ posts(limit: 50) { id title } }`
		en.gql("", q, nil).ok(t)
		set(func(s *LimitSettings) { s.MaxComplexity = 20 })
		if r := en.gql("", q, nil); r.code() != "COMPLEXITY_LIMIT_EXCEEDED" {
			t.Fatalf("got %s", r)
		}
	})
	t.Run("maxLimit", func(t *testing.T) {
		set(func(s *LimitSettings) { s.MaxLimit = 5 })
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
		set(func(s *LimitSettings) { s.MaxBodySize = 2048 })
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
	t.Run("introspection off", func(t *testing.T) {
		set(func(s *LimitSettings) { s.Introspection = false })
		for _, q := range []string{`{ __schema { queryType { name } } }`, `{ __type(name: "Post") { name } }`} {
			r := en.gql("", q, nil)
			if r.code() != "FORBIDDEN" || !strings.Contains(r.Errors[0].Message, "introspection is off for anonymous callers") {
				t.Fatalf("anonymous %s: %s", q, r)
			}
			en.gql(userTok, q, nil).ok(t)
			en.gql(en.superuser(), q, nil).ok(t)
		}
		jsonEq(t, en.gql("", `{ __typename }`, nil).ok(t).Data, `{"__typename":"Query"}`)
		set(func(s *LimitSettings) { s.Introspection = true })
		en.gql("", `{ __schema { queryType { name } } }`, nil).ok(t)
	})
	t.Run("invalid settings change nothing", func(t *testing.T) {
		before := en.e.LimitSettings()
		if err := en.e.SetLimits(LimitSettings{MaxDepth: 0}); apperr.CodeOf(err) != apperr.Invalid {
			t.Fatalf("got %v", err)
		}
		if en.e.LimitSettings() != before {
			t.Fatal("a refused SetLimits changed the limits")
		}
	})
}
