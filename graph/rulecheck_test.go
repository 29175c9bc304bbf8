package graph_test

import (
	"strings"
	"testing"
)

func TestCheckRule(t *testing.T) {
	s := newServer(t)
	const q = `query($c: CollectionInput!, $rule: String!) { checkRule(collection: $c, rule: $rule) { ok message position } }`
	draft := map[string]any{"name": "drafts", "fields": []any{
		map[string]any{"name": "title", "type": "TEXT"},
		map[string]any{"name": "owner", "type": "RELATION", "collection": "users"},
	}}
	authDraft := map[string]any{"name": "members", "type": "AUTH", "fields": []any{}}
	for _, tt := range []struct {
		name     string
		c        map[string]any
		rule     string
		ok       bool
		message  string
		position int
	}{
		{"a field only the draft has", draft, "title = 'x' && owner.email ~ '@example.com'", true, "", 0},
		{"the system fields", draft, "id != '' && created > '2020-01-01'", true, "", 0},
		{"the auth fields of a new auth collection", authDraft, "verified = true && email ~ 'x'", true, "", 0},
		{"request fields", draft, "owner = @request.auth.id", true, "", 0},
		{"an empty rule", draft, "  ", true, "", 0},
		{"a syntax error", draft, "title = 'x' && && owner = ''", false, `unexpected "&&" at position 16`, 16},
		{"an unknown field", draft, "title = 'x' && nope = 1", false, "nope", 16},
		{"a field of another draft", authDraft, "title = 'x'", false, "title", 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out struct {
				CheckRule struct {
					Ok       bool
					Message  *string
					Position int
				}
			}
			s.mustDo(t, s.rootToken, q, map[string]any{"c": tt.c, "rule": tt.rule}, &out)
			got := out.CheckRule
			if got.Ok != tt.ok {
				t.Fatalf("ok = %v (%v), want %v", got.Ok, deref(got.Message), tt.ok)
			}
			if tt.ok {
				return
			}
			if !strings.Contains(deref(got.Message), tt.message) || got.Position != tt.position {
				t.Fatalf("message %q position %d, want %q at %d", deref(got.Message), got.Position, tt.message, tt.position)
			}
		})
	}
	t.Run("superusers only", func(t *testing.T) {
		s.mustFail(t, "", q, map[string]any{"c": draft, "rule": "x = 1"}, "UNAUTHENTICATED")
		s.mustFail(t, s.userToken, q, map[string]any{"c": draft, "rule": "x = 1"}, "FORBIDDEN")
	})
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
