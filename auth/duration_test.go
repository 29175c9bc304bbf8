package auth_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/monobase/monobase/db"
)

// TestTokenLifetimePerCollection: a token lives for its collection's
// authToken.duration.
func TestTokenLifetimePerCollection(t *testing.T) {
	e := newEnv(t)
	lifetime := func(c *db.Collection) int64 {
		tok, err := e.auth.IssueToken(c, e.user)
		if err != nil {
			t.Fatal(err)
		}
		payload, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
		if err != nil {
			t.Fatal(err)
		}
		var cl struct{ Iat, Exp int64 }
		if err := json.Unmarshal(payload, &cl); err != nil {
			t.Fatal(err)
		}
		return cl.Exp - cl.Iat
	}
	if got := lifetime(e.users); got != db.DefaultAuthTokenDuration {
		t.Fatalf("default lifetime = %d s", got)
	}
	in := *e.users
	in.Auth = &db.AuthOptions{AuthToken: &db.TokenOptions{Duration: 900}}
	c, err := e.db.UpdateCollection(context.Background(), "users", &in)
	if err != nil {
		t.Fatal(err)
	}
	if got := lifetime(c); got != 900 {
		t.Fatalf("lifetime = %d s, want 900", got)
	}
}
