package dynschema

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/monobase/monobase/db"
)

func TestPasswordAuthDisabled(t *testing.T) {
	me, _ := newOtpEnv(t, func(o *db.AuthOptions, _ *db.Collection) {
		o.PasswordAuth = &db.PasswordAuth{Enabled: false}
	})
	me.user("ann@example.com")
	before := me.auth.PasswordChecks()
	r := me.gql("", pwSignIn, map[string]any{"i": "ann@example.com", "p": "password123"})
	if r.code() != "FORBIDDEN" || !strings.Contains(r.Errors[0].Message, "passwordAuth.enabled") {
		t.Fatalf("want FORBIDDEN naming passwordAuth.enabled, got %s", r)
	}
	if n := me.auth.PasswordChecks() - before; n != 0 {
		t.Fatalf("%d password hashes compared, want none", n)
	}
}

func TestPasswordIdentityFields(t *testing.T) {
	me, _ := newOtpEnv(t, func(o *db.AuthOptions, c *db.Collection) {
		c.Fields = append(c.Fields, &db.Field{Name: "username", Type: db.FieldText})
		c.Indexes = append(c.Indexes, "CREATE UNIQUE INDEX idx_users_username ON users (username)")
		o.PasswordAuth = &db.PasswordAuth{Enabled: true, IdentityFields: []string{"username", "email"}}
	})
	ann := me.insert("users", db.RecordInput{"email": "ann@example.com", "username": "annie", "password": "password123", "passwordConfirm": "password123"})
	signedIn := func(identity string) string {
		t.Helper()
		var out struct {
			UserAuthWithPassword struct{ Record struct{ ID string } } `json:"userAuthWithPassword"`
		}
		me.gql("", pwSignIn, map[string]any{"i": identity, "p": "password123"}).ok(t).decode(t, &out)
		return out.UserAuthWithPassword.Record.ID
	}
	// Either field signs in; the email without case, the username exactly.
	for _, id := range []string{"annie", "ann@example.com", "ANN@Example.com"} {
		if got := signedIn(id); got != ann.ID() {
			t.Fatalf("%s signed in as %q", id, got)
		}
	}
	for _, id := range []string{"ANNIE", "nobody", "' OR 1=1 --"} {
		if r := me.gql("", pwSignIn, map[string]any{"i": id, "p": "password123"}); r.code() != "BAD_USER_INPUT" {
			t.Fatalf("%q: %s", id, r)
		}
	}
	// Only the username: the email no longer signs in.
	me.setAuth(func(o *db.AuthOptions, _ *db.Collection) {
		o.PasswordAuth = &db.PasswordAuth{Enabled: true, IdentityFields: []string{"username"}}
	})
	if r := me.gql("", pwSignIn, map[string]any{"i": "ann@example.com", "p": "password123"}); r.code() != "BAD_USER_INPUT" {
		t.Fatalf("email with identityFields [username]: %s", r)
	}
	if signedIn("annie") != ann.ID() {
		t.Fatal("the username no longer signs in")
	}
}

func TestImpersonateTokenOnTheApplicationAPI(t *testing.T) {
	me := newMailEnv(t)
	ann, _ := me.user("ann@example.com")
	users, _ := me.d.Collection("users")
	token, err := me.auth.IssueImpersonateToken(users, ann, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var out struct{ Me struct{ ID, Email string } }
	me.gql(token, `{ me { id email } }`, nil).ok(t).decode(t, &out)
	if out.Me.ID != ann.ID() || out.Me.Email != "ann@example.com" {
		t.Fatalf("me = %+v", out.Me)
	}
	r := me.gql(token, refresh, nil)
	if r.code() != "FORBIDDEN" || !strings.Contains(r.Errors[0].Message, "impersonation") {
		t.Fatalf("refresh of an impersonation token: %s", r)
	}
}

// signInAs signs Ann in with her password from a client with userAgent.
func (me *mailEnv) signInAs(userAgent string) {
	me.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": pwSignIn, "variables": map[string]any{"i": "ann@example.com", "p": "password123"}})
	req, _ := http.NewRequest("POST", me.srv.URL+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	me.do(req).ok(me.t)
}

func TestNewDeviceAlert(t *testing.T) {
	me, _ := newOtpEnv(t, func(o *db.AuthOptions, _ *db.Collection) {
		o.EmailTemplates = &db.EmailTemplates{AuthAlert: &db.EmailTemplate{
			Subject: "New sign-in to {APP_NAME}", Body: "Hello {RECORD:name}, a new device signed in.",
		}}
	})
	me.user("ann@example.com")
	// The first sign-in of a record, and the same device again: no alert.
	me.signInAs("browser-one")
	me.signInAs("browser-one")
	// A new device: the alert, with the collection's template.
	me.signInAs("browser-two")
	m := me.smtp.Next(t, mailWait)
	if len(m.To) != 1 || m.To[0] != "ann@example.com" || !strings.Contains(m.Data, "Subject: New sign-in to Acme") ||
		!strings.Contains(m.Data, "Hello ann, a new device signed in.") {
		t.Fatalf("alert:\n%s", m.Data)
	}
	// Known devices stay quiet; the flow emails of another request are
	// the next ones.
	me.signInAs("browser-one")
	me.signInAs("browser-two")
	me.mustBool("", reqVerification, map[string]any{"e": "ann@example.com"})
	me.tokenFrom("ann@example.com", "confirm-verification")
	if me.smtp.Pending() != 0 {
		t.Fatal("an alert for a known device")
	}
}
