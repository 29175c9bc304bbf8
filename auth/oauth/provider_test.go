package oauth

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/auth/oauth/oauthtest"
	"github.com/monobase/monobase/db"
)

// authColl is an auth collection offering the test server as the custom
// provider "acme".
func authColl(srv *oauthtest.Server, pkce bool) *db.Collection {
	return &db.Collection{ID: "c1", Name: "users", Type: db.TypeAuth, Auth: &db.AuthOptions{
		OAuth2: &db.OAuth2Options{Enabled: true, Providers: []*db.OAuth2Provider{{
			Name: "acme", ClientID: oauthtest.ClientID, ClientSecret: oauthtest.ClientSecret, PKCE: pkce,
			AuthURL: srv.URL + "/authorize", TokenURL: srv.URL + "/token", UserInfoURL: srv.URL + "/userinfo",
			Scopes: []string{"openid", "email"},
		}}},
	}}
}

const redirectURL = "http://app.example.com/oauth2-callback"

func TestExchangeWithPKCE(t *testing.T) {
	srv := oauthtest.New(t)
	srv.AddUser("ann", map[string]any{"sub": "u-1", "email": "ann@example.com", "email_verified": true,
		"name": "Ann", "preferred_username": "ann", "picture": "http://img.example.com/ann.png", "id": 12345678901})
	srv.SignInAs("ann")
	ps := NewProviders(nil)
	p, err := ps.Lookup(authColl(srv, true), "acme")
	if err != nil {
		t.Fatal(err)
	}
	m := p.AuthMethod()
	if m.CodeChallengeMethod != "S256" || m.CodeVerifier == "" || m.State == "" {
		t.Fatalf("auth method %+v: want a state and an S256 PKCE pair", m)
	}
	if !strings.HasSuffix(m.AuthURL, "&redirect_uri=") || !strings.Contains(m.AuthURL, "code_challenge="+m.CodeChallenge) ||
		!strings.Contains(m.AuthURL, "client_id="+oauthtest.ClientID) || !strings.Contains(m.AuthURL, "scope=openid+email") {
		t.Fatalf("auth URL %q", m.AuthURL)
	}
	if again := p.AuthMethod(); again.State == m.State || again.CodeVerifier == m.CodeVerifier {
		t.Fatal("two auth methods share a state or a verifier")
	}

	t.Run("the right verifier signs in", func(t *testing.T) {
		code := srv.Follow(t, m.AuthURL+url.QueryEscape(redirectURL))
		u, err := p.Exchange(context.Background(), code, m.CodeVerifier, redirectURL)
		if err != nil {
			t.Fatal(err)
		}
		if u.ID != "u-1" || u.Email != "ann@example.com" || !u.EmailVerified || u.Name != "Ann" ||
			u.Username != "ann" || u.AvatarURL != "http://img.example.com/ann.png" || u.Provider != "acme" {
			t.Fatalf("user %+v", u)
		}
		// Numbers keep their JSON text in rawUser.
		raw, _ := json.Marshal(u.Raw)
		if !strings.Contains(string(raw), `"id":12345678901`) {
			t.Fatalf("raw user %s", raw)
		}
	})
	t.Run("a wrong verifier is refused by the provider", func(t *testing.T) {
		code := srv.Code(t, redirectURL, "s", m.CodeChallenge)
		before := srv.Exchanges()
		_, err := p.Exchange(context.Background(), code, "not-the-verifier-not-the-verifier-xxxxxxxxx", redirectURL)
		e := apperr.As(err)
		if e == nil || e.Code != apperr.Invalid || e.Fields["code"].Code != "provider_refused" || !strings.Contains(e.Message, "invalid_grant") {
			t.Fatalf("err = %v, want BAD_USER_INPUT on code with invalid_grant", err)
		}
		if srv.Exchanges() != before {
			t.Fatal("the provider issued a token")
		}
	})
	t.Run("no verifier for a PKCE provider", func(t *testing.T) {
		_, err := p.Exchange(context.Background(), "whatever", "", redirectURL)
		if e := apperr.As(err); e == nil || e.Fields["codeVerifier"].Code != "required" {
			t.Fatalf("err = %v, want codeVerifier required", err)
		}
	})
	t.Run("another redirect URL than the authorization's", func(t *testing.T) {
		code := srv.Code(t, redirectURL, "s", m.CodeChallenge)
		_, err := p.Exchange(context.Background(), code, m.CodeVerifier, "http://evil.example.com/cb")
		if !apperr.Is(err, apperr.Invalid) {
			t.Fatalf("err = %v, want BAD_USER_INPUT", err)
		}
	})
}

func TestExchangeProviderErrors(t *testing.T) {
	srv := oauthtest.New(t)
	srv.AddUser("bob", map[string]any{"id": "b-7", "email": "bob@example.com"})
	srv.SignInAs("bob")
	p, err := NewProviders(nil).Lookup(authColl(srv, false), "acme")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("unknown code", func(t *testing.T) {
		_, err := p.Exchange(context.Background(), "no-such-code", "", redirectURL)
		if e := apperr.As(err); e == nil || e.Code != apperr.Invalid || !strings.Contains(e.Message, "refused the code: invalid_grant") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("user info fails", func(t *testing.T) {
		srv.FailUserInfo(http.StatusInternalServerError)
		defer srv.FailUserInfo(0)
		code := srv.Code(t, redirectURL, "s", "")
		_, err := p.Exchange(context.Background(), code, "", redirectURL)
		if e := apperr.As(err); e == nil || e.Code != apperr.Invalid || !strings.Contains(e.Message, "user info endpoint answered HTTP 500") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("id and unverified email of a plain OAuth2 user info", func(t *testing.T) {
		code := srv.Code(t, redirectURL, "s", "")
		u, err := p.Exchange(context.Background(), code, "", redirectURL)
		if err != nil {
			t.Fatal(err)
		}
		// A custom provider's email counts as verified unless it says
		// otherwise (email_verified: false).
		if u.ID != "b-7" || u.Email != "bob@example.com" || !u.EmailVerified {
			t.Fatalf("user %+v", u)
		}
		srv.AddUser("bob", map[string]any{"id": "b-7", "email": "bob@example.com", "email_verified": false})
		code = srv.Code(t, redirectURL, "s", "")
		if u, err = p.Exchange(context.Background(), code, "", redirectURL); err != nil || u.EmailVerified {
			t.Fatalf("user %+v, %v: want the email unverified", u, err)
		}
	})
}

func TestLookup(t *testing.T) {
	srv := oauthtest.New(t)
	c := authColl(srv, false)
	ps := NewProviders(nil)
	if _, err := ps.Lookup(c, "nope"); apperr.As(err) == nil || apperr.As(err).Fields["provider"].Code != "unknown_provider" {
		t.Fatalf("unknown provider: %v", err)
	}
	off := *c
	off.Auth = &db.AuthOptions{OAuth2: &db.OAuth2Options{Providers: c.Auth.OAuth2.Providers}}
	if _, err := ps.Lookup(&off, "acme"); apperr.As(err) == nil || apperr.As(err).Fields["provider"].Code != "oauth2_disabled" {
		t.Fatalf("disabled: %v", err)
	}
	if len(ps.List(&off)) != 0 {
		t.Fatal("a collection with OAuth2 off lists providers")
	}
	// A named provider needs only its client id and secret.
	gh := *c
	gh.Auth = &db.AuthOptions{OAuth2: &db.OAuth2Options{Enabled: true, Providers: []*db.OAuth2Provider{{Name: "github", ClientID: "id", ClientSecret: "s"}}}}
	p, err := ps.Lookup(&gh, "github")
	if err != nil {
		t.Fatal(err)
	}
	if m := p.AuthMethod(); !strings.HasPrefix(m.AuthURL, "https://github.com/login/oauth/authorize?") || m.DisplayName != "Github" {
		t.Fatalf("github auth method %+v", m)
	}
}

func TestAllowedRedirect(t *testing.T) {
	origins := []string{"https://app.example.com/some/path", "http://127.0.0.1:8090"}
	for target, want := range map[string]bool{
		"https://app.example.com/cb":               true,
		"https://APP.example.com:443/x?y#z":        true,
		"http://127.0.0.1:8090/done":               true,
		"http://app.example.com/cb":                false, // another scheme
		"https://app.example.com.evil.io/cb":       false,
		"https://evil.io/?https://app.example.com": false,
		"//app.example.com/cb":                     false, // relative
		"/cb":                                      false,
		"javascript:alert(1)":                      false,
		"https://user@app.example.com/cb":          false,
		"http://127.0.0.1:8091/":                   false, // another port
		"":                                         false,
	} {
		if got := AllowedRedirect(target, origins); got != want {
			t.Errorf("AllowedRedirect(%q) = %v, want %v", target, got, want)
		}
	}
}
