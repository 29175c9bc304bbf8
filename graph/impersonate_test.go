package graph_test

import (
	"context"
	"testing"
	"time"

	"github.com/monobase/monobase/auth"
	"github.com/monobase/monobase/db"
)

const impersonate = `mutation($c: String!, $id: ID!, $d: Int) { impersonate(collection: $c, recordId: $id, duration: $d) { token record } }`

func TestImpersonate(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	users, _ := s.db.Collection("users")
	ann, err := s.db.FindAuthRecord(ctx, users, "ann@example.com")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("a superuser gets a non-refreshable token of the record", func(t *testing.T) {
		var out struct {
			Impersonate struct {
				Token  string
				Record map[string]any
			}
		}
		s.mustDo(t, s.rootToken, impersonate, map[string]any{"c": "users", "id": ann.ID(), "d": 60}, &out)
		got := out.Impersonate
		if got.Record["id"] != ann.ID() || got.Record["email"] != "ann@example.com" {
			t.Fatalf("record = %v", got.Record)
		}
		if _, ok := got.Record["password"]; ok {
			t.Fatal("the password hash is shown")
		}
		if _, ok := got.Record["tokenKey"]; ok {
			t.Fatal("the tokenKey is shown")
		}
		actx, err := s.auth.Authenticate(ctx, got.Token)
		if err != nil {
			t.Fatalf("the token does not sign in: %v", err)
		}
		v := auth.ViewerFrom(actx)
		if v.ID() != ann.ID() || !v.Impersonated || v.Superuser {
			t.Fatalf("viewer = %+v", v)
		}
		exp, ok := auth.TokenExpiry(got.Token)
		if left := time.Until(exp); !ok || left > time.Minute || left < 50*time.Second {
			t.Fatalf("expires in %s, want about the 60 s asked", left)
		}
	})

	t.Run("without a duration it lives as long as the collection's tokens", func(t *testing.T) {
		var out struct{ Impersonate struct{ Token string } }
		s.mustDo(t, s.rootToken, impersonate, map[string]any{"c": users.ID, "id": ann.ID()}, &out)
		exp, _ := auth.TokenExpiry(out.Impersonate.Token)
		want := time.Duration(db.DefaultAuthTokenDuration) * time.Second
		if left := time.Until(exp); left > want || left < want-time.Minute {
			t.Fatalf("expires in %s, want %s", left, want)
		}
	})

	t.Run("refused", func(t *testing.T) {
		vars := func(c, id string, d any) map[string]any { return map[string]any{"c": c, "id": id, "d": d} }
		s.mustFail(t, "", impersonate, vars("users", ann.ID(), nil), "UNAUTHENTICATED")
		s.mustFail(t, s.userToken, impersonate, vars("users", ann.ID(), nil), "FORBIDDEN")
		s.mustFail(t, s.rootToken, impersonate, vars("users", "nosuchrecord123", nil), "NOT_FOUND")
		s.mustFail(t, s.rootToken, impersonate, vars("nosuchcollection", ann.ID(), nil), "NOT_FOUND")
		for _, d := range []int{0, -5, 365*24*3600 + 1} {
			e := s.mustFail(t, s.rootToken, impersonate, vars("users", ann.ID(), d), "BAD_USER_INPUT")
			if _, ok := e.Extensions.Fields["duration"]; !ok {
				t.Fatalf("duration %d: %+v", d, e)
			}
		}
	})
}
