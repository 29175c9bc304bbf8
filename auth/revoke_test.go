package auth_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/monobase/monobase/auth"
	"github.com/monobase/monobase/db"
)

// TestTokenRevokedAgreesWithAuthenticate: TokenRevoked (which WebSocket
// sessions use instead of checking their token again) says a change
// revokes exactly when Authenticate starts refusing the token.
func TestTokenRevokedAgreesWithAuthenticate(t *testing.T) {
	ctx := context.Background()
	changes := []struct {
		name string
		set  db.RecordInput // nil: delete the record
	}{
		{"name", db.RecordInput{"name": "Ann"}},
		{"verified", db.RecordInput{"verified": true}},
		{"email", db.RecordInput{"email": "ann2@example.com"}},
		{"password", db.RecordInput{"password": "new-password-2", "passwordConfirm": "new-password-2"}},
		{"tokenKey", db.RecordInput{"tokenKey": strings.Repeat("q", 50)}},
		{"deleted", nil},
	}
	for _, ch := range changes {
		t.Run(ch.name, func(t *testing.T) {
			e := newEnv(t)
			tok := issue(t, e.auth, e.users, e.user)
			before, err := e.db.FindByIDs(ctx, e.users, []string{e.user.ID()})
			if err != nil || len(before) != 1 {
				t.Fatalf("read: %v", err)
			}
			if ch.set == nil {
				tx, err := e.db.Begin(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := tx.Delete(e.users, e.user.ID()); err != nil {
					t.Fatal(err)
				}
				if err := tx.Commit(); err != nil {
					t.Fatal(err)
				}
			} else {
				update(t, e.db, e.users, e.user.ID(), ch.set)
			}
			var now db.Record
			if after, err := e.db.FindByIDs(ctx, e.users, []string{e.user.ID()}); err != nil {
				t.Fatal(err)
			} else if len(after) == 1 {
				now = after[0]
			}
			_, authErr := e.auth.Authenticate(ctx, tok)
			if got, want := auth.TokenRevoked(before[0], now), authErr != nil; got != want {
				t.Errorf("TokenRevoked = %v, but Authenticate error = %v", got, authErr)
			}
		})
	}
}

func TestTokenExpiry(t *testing.T) {
	e := newEnv(t)
	e.auth.TokenDuration = time.Hour
	tok := issue(t, e.auth, e.users, e.user)
	exp, ok := auth.TokenExpiry("Bearer " + tok)
	if !ok || exp.Before(time.Now().Add(59*time.Minute)) || exp.After(time.Now().Add(61*time.Minute)) {
		t.Errorf("expiry %v %v, want in about an hour", exp, ok)
	}
	if _, ok := auth.TokenExpiry("not-a-token"); ok {
		t.Error("a malformed token has an expiry")
	}
}
