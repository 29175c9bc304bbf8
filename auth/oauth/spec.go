package oauth

import (
	"fmt"
	"slices"

	"github.com/go-pkgz/auth/v2/provider"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/endpoints"
	"golang.org/x/oauth2/facebook"
	"golang.org/x/oauth2/github"
	"golang.org/x/oauth2/google"
	"golang.org/x/oauth2/microsoft"
	"golang.org/x/oauth2/yandex"

	"github.com/monobase/monobase/db"
)

// spec is what Monobase knows of a provider: its endpoints, the scopes it
// asks for, and how its user info maps to a User.
//
// go-pkgz/auth keeps the endpoints and the user mapping of its named
// providers in unexported fields, used only inside its own redirect
// handlers. The browser redirect flow runs those handlers (pkgz); the
// code exchange of userAuthWithOAuth2 (with PKCE, which go-pkgz/auth does
// not send) and the authUrl of userAuthMethods need the same facts
// outside them, so the table below repeats them: the endpoints are
// golang.org/x/oauth2's (the ones go-pkgz/auth uses) and the ids are
// derived as go-pkgz/auth derives them (TestSpecsMatchGoPkgz holds the
// two together).
type spec struct {
	endpoint    oauth2.Endpoint
	userInfoURL string // "": the identity comes from the token response's id_token (apple)
	scopes      []string
	// pkgz is go-pkgz/auth's constructor of the provider for the
	// redirect flow; nil: provider.NewCustom with this spec.
	pkgz         func(provider.Params) provider.Oauth2Handler
	id           func(info) string // the account id (User.ID)
	keys         userKeys
	emailTrusted bool // the email counts as verified when the user info has no flag
	// noRedirect, when set, says why the browser redirect flow is not
	// available for the provider.
	noRedirect string
}

// named are the providers known by name: go-pkgz/auth's (apple and twitch
// are not go-pkgz/auth providers Monobase can build from a client id and
// secret: see their entries). The scopes are go-pkgz/auth's.
var named = map[string]*spec{
	"google": {
		endpoint: google.Endpoint, userInfoURL: "https://www.googleapis.com/oauth2/v3/userinfo",
		scopes: []string{"https://www.googleapis.com/auth/userinfo.profile"},
		pkgz:   provider.NewGoogle, id: pkgzID("google", "sub"),
		keys: userKeys{email: "email", emailVerified: "email_verified", name: "name", avatar: "picture"},
	},
	"github": {
		endpoint: github.Endpoint, userInfoURL: "https://api.github.com/user", scopes: []string{},
		pkgz: provider.NewGithub, id: githubID,
		// GitHub shows only a verified address as the public email.
		keys:         userKeys{email: "email", name: "name|login", username: "login", avatar: "avatar_url"},
		emailTrusted: true,
	},
	"facebook": {
		endpoint: facebook.Endpoint, userInfoURL: "https://graph.facebook.com/me?fields=id,name,picture",
		scopes: []string{"public_profile"},
		pkgz:   provider.NewFacebook, id: pkgzID("facebook", "id"),
		keys:         userKeys{email: "email", name: "name", avatar: "picture.data.url"},
		emailTrusted: true,
	},
	"microsoft": {
		// The mail attribute is set by the tenant, not verified by
		// Microsoft: it never counts as verified.
		endpoint: microsoft.AzureADEndpoint("common"), userInfoURL: "https://graph.microsoft.com/v1.0/me",
		scopes: []string{"User.Read"},
		pkgz:   provider.NewMicrosoft, id: pkgzID("microsoft", "id"),
		keys: userKeys{email: "mail", name: "displayName", username: "userPrincipalName"},
	},
	"discord": {
		endpoint:    oauth2.Endpoint{AuthURL: "https://discord.com/oauth2/authorize", TokenURL: "https://discord.com/api/oauth2/token"},
		userInfoURL: "https://discord.com/api/v10/users/@me", scopes: []string{"identify"},
		pkgz: provider.NewDiscord, id: pkgzID("discord", "id"),
		keys: userKeys{email: "email", emailVerified: "verified", name: "global_name|username", username: "username"},
	},
	"yandex": {
		endpoint: yandex.Endpoint, userInfoURL: "https://login.yandex.ru/info?format=json", scopes: []string{},
		pkgz: provider.NewYandex, id: pkgzID("yandex", "id"),
		keys:         userKeys{email: "default_email", name: "display_name|real_name|login", username: "login"},
		emailTrusted: true,
	},
	"patreon": {
		endpoint: oauth2.Endpoint{AuthURL: "https://www.patreon.com/oauth2/authorize",
			TokenURL: "https://api.patreon.com/oauth2/token", AuthStyle: oauth2.AuthStyleInParams},
		userInfoURL: "https://www.patreon.com/api/oauth2/api/current_user", scopes: []string{},
		pkgz: provider.NewPatreon, id: pkgzID("patreon", "data.id"),
		keys: userKeys{email: "data.attributes.email", emailVerified: "data.attributes.is_email_verified",
			name: "data.attributes.full_name", avatar: "data.attributes.image_url"},
	},
	"battlenet": {
		endpoint: oauth2.Endpoint{AuthURL: "https://eu.battle.net/oauth/authorize",
			TokenURL: "https://eu.battle.net/oauth/token", AuthStyle: oauth2.AuthStyleInParams},
		userInfoURL: "https://eu.battle.net/oauth/userinfo", scopes: []string{},
		pkgz: provider.NewBattlenet, id: pkgzID("battlenet", "id"),
		keys: userKeys{name: "battletag", username: "battletag"},
	},
	// go-pkgz/auth v2.3.0 has no Twitch provider: Twitch's OpenID
	// Connect user info through go-pkgz/auth's custom handler.
	"twitch": {
		endpoint: endpoints.Twitch, userInfoURL: "https://id.twitch.tv/oauth2/userinfo",
		scopes: []string{"openid", "user:read:email"}, id: rawID("sub"),
		keys: userKeys{email: "email", emailVerified: "email_verified", name: "preferred_username",
			username: "preferred_username", avatar: "picture"},
	},
	// go-pkgz/auth's Apple handler needs a team id, a key id and the
	// private key to sign its own client secret, which a collection's
	// provider does not hold: clientSecret is the client secret JWT made
	// from them, and the identity comes from the id_token of the code
	// exchange.
	"apple": {
		endpoint: endpoints.Apple, scopes: []string{"name", "email"}, id: rawID("sub"),
		keys:       userKeys{email: "email", emailVerified: "email_verified"},
		noRedirect: "apple signs in through userAuthWithOAuth2 only (go-pkgz/auth's Apple handler needs a private key that the collection does not hold)",
	},
}

// customKeys read an OpenID Connect user info document, or a plain OAuth2
// one with id, username or login.
var customKeys = userKeys{email: "email", emailVerified: "email_verified", name: "name",
	username: "preferred_username|username|login", avatar: "picture|avatar_url"}

// specFor returns the spec of the provider p of a collection: the named
// one, with the URLs and scopes p gives instead of its own (then built
// with go-pkgz/auth's custom handler, as the named constructors take no
// endpoints), or a custom one from p's URLs.
func specFor(p *db.OAuth2Provider) (*spec, error) {
	base, ok := named[p.Name]
	overridden := p.AuthURL != "" || p.TokenURL != "" || p.UserInfoURL != "" || len(p.Scopes) > 0
	if ok && !overridden {
		return base, nil
	}
	// A custom provider's email counts as verified unless its
	// email_verified says otherwise.
	s := &spec{id: rawID("sub|id"), keys: customKeys, emailTrusted: true}
	if ok {
		c := *base
		s = &c
		s.pkgz = nil
	}
	if p.AuthURL != "" {
		s.endpoint.AuthURL = p.AuthURL
	}
	if p.TokenURL != "" {
		s.endpoint.TokenURL = p.TokenURL
	}
	if p.UserInfoURL != "" {
		s.userInfoURL = p.UserInfoURL
		s.noRedirect = ""
	}
	if len(p.Scopes) > 0 {
		s.scopes = slices.Clone(p.Scopes)
	}
	if s.endpoint.AuthURL == "" || s.endpoint.TokenURL == "" || (s.userInfoURL == "" && !ok) {
		return nil, fmt.Errorf("the provider %q needs authUrl, tokenUrl and userInfoUrl", p.Name)
	}
	return s, nil
}

// devSpec is go-pkgz/auth's dev provider on the dev server at hostPort.
func devSpec(hostPort string) *spec {
	base := "http://" + hostPort
	return &spec{
		endpoint:    oauth2.Endpoint{AuthURL: base + "/login/oauth/authorize", TokenURL: base + "/login/oauth/access_token"},
		userInfoURL: base + "/user", scopes: []string{"user:email"},
		id:           rawID("id"),
		keys:         userKeys{email: "email", name: "name", username: "id", avatar: "picture"},
		emailTrusted: true,
	}
}
