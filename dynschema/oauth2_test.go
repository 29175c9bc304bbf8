package dynschema

import (
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/auth/oauth"
	"github.com/monobase/monobase/auth/oauth/oauthtest"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/subscriptions"
)

const appRedirect = "https://app.example.com/oauth2-done"

// oauthEnv is an env whose users collection signs in with the real test
// provider srv as the custom OAuth2 provider "acme" (PKCE on), mapping
// name, username and avatar into name, handle and photoUrl.
type oauthEnv struct {
	*env
	srv   *oauthtest.Server
	users *db.Collection
}

func newOAuthEnv(t *testing.T) *oauthEnv {
	t.Helper()
	oe := &oauthEnv{srv: oauthtest.New(t)}
	oe.env = newConfigEnv(t, subscriptions.Options{}, func(c *Config) { c.OAuth2 = oauth.NewProviders(nil) })
	users, err := oe.d.Collection("users")
	if err != nil {
		t.Fatal(err)
	}
	u := *users
	u.Fields = append(append([]*db.Field{}, users.Fields...),
		&db.Field{Name: "handle", Type: db.FieldText}, &db.Field{Name: "photoUrl", Type: db.FieldURL}, &db.Field{Name: "plan", Type: db.FieldText})
	u.Auth = &db.AuthOptions{OAuth2: &db.OAuth2Options{Enabled: true,
		MappedFields: db.OAuth2Mapped{Name: "name", Username: "handle", AvatarURL: "photoUrl"},
		Providers: []*db.OAuth2Provider{{Name: "acme", ClientID: oauthtest.ClientID, ClientSecret: oauthtest.ClientSecret, PKCE: true,
			AuthURL: oe.srv.URL + "/authorize", TokenURL: oe.srv.URL + "/token", UserInfoURL: oe.srv.URL + "/userinfo"}}}}
	if oe.users, err = oe.d.UpdateCollection(oe.ctx, "users", &u); err != nil {
		t.Fatal(err)
	}
	return oe
}

const authMethodsQuery = `{ userAuthMethods {
  password { enabled identityFields }
  oauth2 { enabled providers { name displayName state authUrl codeVerifier codeChallenge codeChallengeMethod } }
  otp { enabled duration } mfa { enabled duration } } }`

type providerInfo struct {
	Name, DisplayName, State, AuthURL, CodeVerifier, CodeChallenge, CodeChallengeMethod string
}

// authorize asks userAuthMethods for acme, signs login in at the
// provider and returns the code and the verifier.
func (oe *oauthEnv) authorize(login string) (code, verifier string) {
	oe.t.Helper()
	var out struct {
		UserAuthMethods struct {
			OAuth2 struct{ Providers []providerInfo }
		}
	}
	oe.gql("", authMethodsQuery, nil).ok(oe.t).decode(oe.t, &out)
	ps := out.UserAuthMethods.OAuth2.Providers
	if len(ps) != 1 || ps[0].Name != "acme" {
		oe.t.Fatalf("providers %+v", ps)
	}
	oe.srv.SignInAs(login)
	return oe.srv.Follow(oe.t, ps[0].AuthURL+url.QueryEscape(appRedirect)), ps[0].CodeVerifier
}

const signInMutation = `mutation($code: String!, $v: String, $data: JSON, $p: String! = "acme") {
  userAuthWithOAuth2(provider: $p, code: $code, codeVerifier: $v, redirectUrl: "` + appRedirect + `", createData: $data) {
    token record { id email verified name handle photoUrl plan } meta { isNew provider rawUser } } }`

type signInResult struct {
	UserAuthWithOAuth2 struct {
		Token  string
		Record struct {
			ID, Email, Name, Handle, PhotoURL, Plan string
			Verified                                bool
		}
		Meta struct {
			IsNew    bool
			Provider string
			RawUser  map[string]any
		}
	}
}

func (oe *oauthEnv) signIn(login string, data map[string]any) (*gqlResp, signInResult) {
	oe.t.Helper()
	code, verifier := oe.authorize(login)
	r := oe.gql("", signInMutation, map[string]any{"code": code, "v": verifier, "data": data})
	var out signInResult
	if len(r.Errors) == 0 {
		r.decode(oe.t, &out)
	}
	return r, out
}

func (oe *oauthEnv) count() int64 {
	oe.t.Helper()
	n, err := oe.d.Count(oe.ctx, &db.Query{Collection: oe.users})
	if err != nil {
		oe.t.Fatal(err)
	}
	return n
}

func (oe *oauthEnv) linked(login, providerID string) string {
	oe.t.Helper()
	ea, err := oe.d.FindExternalAuth(oe.ctx, oe.users.ID, "acme", providerID)
	if apperr.Is(err, apperr.NotFound) {
		return ""
	}
	if err != nil {
		oe.t.Fatal(err)
	}
	return ea.RecordRef
}

func TestOAuth2AuthMethods(t *testing.T) {
	oe := newOAuthEnv(t)
	var out struct {
		UserAuthMethods struct {
			Password struct {
				Enabled        bool
				IdentityFields []string
			}
			OAuth2 struct {
				Enabled   bool
				Providers []providerInfo
			}
			OTP, MFA struct {
				Enabled  bool
				Duration int
			}
		}
	}
	oe.gql("", authMethodsQuery, nil).ok(t).decode(t, &out)
	m := out.UserAuthMethods
	if !m.Password.Enabled || len(m.Password.IdentityFields) != 1 || m.Password.IdentityFields[0] != "email" ||
		!m.OAuth2.Enabled || m.OTP.Enabled || m.OTP.Duration != 180 || m.MFA.Enabled || m.MFA.Duration != 1800 {
		t.Fatalf("auth methods %+v", m)
	}
	p := m.OAuth2.Providers[0]
	if p.DisplayName != "Acme" || p.State == "" || p.CodeChallengeMethod != "S256" ||
		oauth2.S256ChallengeFromVerifier(p.CodeVerifier) != p.CodeChallenge ||
		!strings.HasPrefix(p.AuthURL, oe.srv.URL+"/authorize?") || !strings.HasSuffix(p.AuthURL, "&redirect_uri=") {
		t.Fatalf("provider %+v", p)
	}
}

func TestOAuth2LinkOrCreate(t *testing.T) {
	oe := newOAuthEnv(t)
	oe.srv.AddUser("ann", map[string]any{"sub": "u-ann", "email": "ann@example.com", "email_verified": true,
		"name": "Ann Lee", "preferred_username": "annlee", "picture": "https://img.example.com/ann.png"})

	var annID string
	t.Run("a new account creates a record from createData and the mapped fields", func(t *testing.T) {
		r, out := oe.signIn("ann", map[string]any{"plan": "pro"})
		r.ok(t)
		a := out.UserAuthWithOAuth2
		rec := a.Record
		if !a.Meta.IsNew || a.Meta.Provider != "acme" || a.Meta.RawUser["sub"] != "u-ann" {
			t.Fatalf("meta %+v", a.Meta)
		}
		if rec.Email != "ann@example.com" || !rec.Verified || rec.Name != "Ann Lee" || rec.Handle != "annlee" ||
			rec.PhotoURL != "https://img.example.com/ann.png" || rec.Plan != "pro" {
			t.Fatalf("record %+v", rec)
		}
		annID = rec.ID
		if got := oe.linked("ann", "u-ann"); got != annID {
			t.Fatalf("link to %q, want %q", got, annID)
		}
		var me struct{ Me struct{ ID string } }
		oe.gql(a.Token, `{ me { id } }`, nil).ok(t).decode(t, &me)
		if me.Me.ID != annID {
			t.Fatalf("the token signs in %q, want %q", me.Me.ID, annID)
		}
	})
	t.Run("the same account signs in to its linked record, whatever its email now", func(t *testing.T) {
		oe.srv.AddUser("ann", map[string]any{"sub": "u-ann", "email": "ann.lee@example.com", "email_verified": true})
		before := oe.count()
		r, out := oe.signIn("ann", map[string]any{"plan": "ignored"})
		r.ok(t)
		if a := out.UserAuthWithOAuth2; a.Meta.IsNew || a.Record.ID != annID || a.Record.Plan != "pro" || oe.count() != before {
			t.Fatalf("second sign-in %+v (records %d, were %d)", a, oe.count(), before)
		}
	})
	t.Run("an account links to the verified record with its verified email", func(t *testing.T) {
		bob := oe.insert("users", db.RecordInput{"email": "Bob@Example.com", "password": "password123", "passwordConfirm": "password123", "verified": true})
		oe.srv.AddUser("bob", map[string]any{"sub": "u-bob", "email": "bob@example.com", "email_verified": true, "name": "Bobby"})
		r, out := oe.signIn("bob", nil)
		r.ok(t)
		if a := out.UserAuthWithOAuth2; a.Meta.IsNew || a.Record.ID != bob.ID() || a.Record.Name != "" {
			t.Fatalf("bob %+v, want the existing record %s untouched", a, bob.ID())
		}
		if oe.linked("bob", "u-bob") != bob.ID() {
			t.Fatal("no link to bob's record")
		}
	})
	t.Run("an unverified record with the email is not taken over", func(t *testing.T) {
		oe.insert("users", db.RecordInput{"email": "carl@example.com", "password": "password123", "passwordConfirm": "password123"})
		oe.srv.AddUser("carl", map[string]any{"sub": "u-carl", "email": "carl@example.com", "email_verified": true})
		before := oe.count()
		r, _ := oe.signIn("carl", nil)
		if r.code() != "CONFLICT" || !strings.Contains(r.Errors[0].Message, "not verified") || oe.count() != before || oe.linked("carl", "u-carl") != "" {
			t.Fatalf("carl: %s (records %d, were %d)", r, oe.count(), before)
		}
	})
	t.Run("an email the provider does not vouch for links nothing", func(t *testing.T) {
		oe.srv.AddUser("mallory", map[string]any{"sub": "u-mal", "email": "bob@example.com", "email_verified": false})
		r, _ := oe.signIn("mallory", nil)
		if r.code() != "CONFLICT" || oe.linked("mallory", "u-mal") != "" {
			t.Fatalf("mallory: %s", r)
		}
	})
	t.Run("an unverified email makes an unverified record", func(t *testing.T) {
		oe.srv.AddUser("dee", map[string]any{"sub": "u-dee", "email": "dee@example.com", "email_verified": false})
		r, out := oe.signIn("dee", nil)
		r.ok(t)
		if a := out.UserAuthWithOAuth2; !a.Meta.IsNew || a.Record.Verified || a.Record.Email != "dee@example.com" {
			t.Fatalf("dee %+v", a)
		}
	})
	t.Run("an account without an email needs createData.email", func(t *testing.T) {
		oe.srv.AddUser("eve", map[string]any{"sub": "u-eve"})
		before := oe.count()
		r, _ := oe.signIn("eve", nil)
		if r.code() != "BAD_USER_INPUT" || !strings.Contains(r.String(), "createData.email") || oe.count() != before {
			t.Fatalf("eve without email: %s", r)
		}
		r, out := oe.signIn("eve", map[string]any{"email": "eve@example.com"})
		r.ok(t)
		if a := out.UserAuthWithOAuth2; !a.Meta.IsNew || a.Record.Verified || a.Record.Email != "eve@example.com" {
			t.Fatalf("eve %+v: a client's email is not verified", a)
		}
	})
	t.Run("createData may not set verified", func(t *testing.T) {
		oe.srv.AddUser("fay", map[string]any{"sub": "u-fay"})
		r, _ := oe.signIn("fay", map[string]any{"email": "fay@example.com", "verified": true})
		if r.code() != "BAD_USER_INPUT" || !strings.Contains(r.String(), "verified") || oe.linked("fay", "u-fay") != "" {
			t.Fatalf("fay: %s", r)
		}
	})
}

func TestOAuth2CreateRule(t *testing.T) {
	oe := newOAuthEnv(t)
	u := *oe.users
	u.CreateRule = sp("@request.body.plan = 'pro'")
	users, err := oe.d.UpdateCollection(oe.ctx, "users", &u)
	if err != nil {
		t.Fatal(err)
	}
	oe.users = users
	oe.srv.AddUser("gil", map[string]any{"sub": "u-gil", "email": "gil@example.com", "email_verified": true})
	r, _ := oe.signIn("gil", map[string]any{"plan": "free"})
	if r.code() != "FORBIDDEN" || oe.count() != 0 || oe.linked("gil", "u-gil") != "" {
		t.Fatalf("denied create: %s (records %d)", r, oe.count())
	}
	r, out := oe.signIn("gil", map[string]any{"plan": "pro"})
	r.ok(t)
	if !out.UserAuthWithOAuth2.Meta.IsNew || oe.count() != 1 {
		t.Fatalf("allowed create: %s", r)
	}
}

func TestOAuth2ProviderErrors(t *testing.T) {
	oe := newOAuthEnv(t)
	oe.srv.AddUser("hal", map[string]any{"sub": "u-hal", "email": "hal@example.com", "email_verified": true})
	t.Run("a verifier that does not match is refused by the provider", func(t *testing.T) {
		code, _ := oe.authorize("hal")
		r := oe.gql("", signInMutation, map[string]any{"code": code, "v": "x-wrong-verifier-x-wrong-verifier-x-wrong-v"})
		if r.code() != "BAD_USER_INPUT" || !strings.Contains(r.String(), "invalid_grant") || oe.count() != 0 {
			t.Fatalf("wrong verifier: %s", r)
		}
	})
	t.Run("the user info fails", func(t *testing.T) {
		oe.srv.FailUserInfo(502)
		defer oe.srv.FailUserInfo(0)
		code, v := oe.authorize("hal")
		r := oe.gql("", signInMutation, map[string]any{"code": code, "v": v})
		if r.code() != "BAD_USER_INPUT" || !strings.Contains(r.String(), "HTTP 502") || oe.count() != 0 {
			t.Fatalf("user info failure: %s", r)
		}
	})
	t.Run("one OAuth2 sign-in per operation", func(t *testing.T) {
		code, v := oe.authorize("hal")
		before := oe.srv.Exchanges()
		r := oe.gql("", `mutation($c: String!, $v: String) {
  a: userAuthWithOAuth2(provider: "acme", code: $c, codeVerifier: $v, redirectUrl: "`+appRedirect+`") { token }
  b: userAuthWithOAuth2(provider: "acme", code: $c, codeVerifier: $v, redirectUrl: "`+appRedirect+`") { token } }`,
			map[string]any{"c": code, "v": v})
		if r.code() != "BAD_USER_INPUT" || oe.srv.Exchanges() != before {
			t.Fatalf("two sign-ins: %s (exchanges %d, were %d)", r, oe.srv.Exchanges(), before)
		}
	})
	t.Run("an unknown provider", func(t *testing.T) {
		r := oe.gql("", signInMutation, map[string]any{"code": "c", "p": "nope"})
		if r.code() != "BAD_USER_INPUT" || !strings.Contains(r.String(), "unknown_provider") {
			t.Fatalf("unknown provider: %s", r)
		}
	})
	t.Run("OAuth2 off", func(t *testing.T) {
		u := *oe.users
		u.Auth = &db.AuthOptions{OAuth2: &db.OAuth2Options{Enabled: false, Providers: oe.users.AuthOpts().OAuth2.Providers}}
		if _, err := oe.d.UpdateCollection(oe.ctx, "users", &u); err != nil {
			t.Fatal(err)
		}
		r := oe.gql("", signInMutation, map[string]any{"code": "c"})
		if r.code() != "BAD_USER_INPUT" || !strings.Contains(r.String(), "oauth2_disabled") {
			t.Fatalf("disabled: %s", r)
		}
		var m struct {
			UserAuthMethods struct {
				OAuth2 struct {
					Enabled   bool
					Providers []providerInfo
				}
			}
		}
		oe.gql("", authMethodsQuery, nil).ok(t).decode(t, &m)
		if m.UserAuthMethods.OAuth2.Enabled || len(m.UserAuthMethods.OAuth2.Providers) != 0 {
			t.Fatalf("auth methods with OAuth2 off: %+v", m)
		}
	})
}

func TestOAuth2Unlink(t *testing.T) {
	oe := newOAuthEnv(t)
	oe.srv.AddUser("ivy", map[string]any{"sub": "u-ivy", "email": "ivy@example.com", "email_verified": true})
	r, out := oe.signIn("ivy", nil)
	r.ok(t)
	tok, id := out.UserAuthWithOAuth2.Token, out.UserAuthWithOAuth2.Record.ID
	const unlink = `mutation { userUnlinkOAuth2(provider: "acme") }`
	if r := oe.gql("", unlink, nil); r.code() != "UNAUTHENTICATED" {
		t.Fatalf("anonymous unlink: %s", r)
	}
	jsonEq(t, oe.gql(tok, unlink, nil).ok(t).Data, `{"userUnlinkOAuth2": true}`)
	if oe.linked("ivy", "u-ivy") != "" {
		t.Fatal("the link is still there")
	}
	if r := oe.gql(tok, unlink, nil); r.code() != "NOT_FOUND" {
		t.Fatalf("second unlink: %s", r)
	}
	// The next sign-in finds the record by its verified email again.
	r, out = oe.signIn("ivy", nil)
	r.ok(t)
	if out.UserAuthWithOAuth2.Meta.IsNew || out.UserAuthWithOAuth2.Record.ID != id || oe.linked("ivy", "u-ivy") != id {
		t.Fatalf("sign-in after unlink: %s", r)
	}
	// Deleting the record deletes its links.
	r = oe.gql(tok, `mutation($id: ID!) { deleteUser(id: $id) { id } }`, map[string]any{"id": id})
	r.ok(t)
	if oe.linked("ivy", "u-ivy") != "" {
		t.Fatal("the link outlived its record")
	}
}
