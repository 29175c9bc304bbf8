package oauth

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-pkgz/auth/v2/logger"
	"github.com/go-pkgz/auth/v2/provider"
	"golang.org/x/oauth2"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/db"
)

// DevName is the name of go-pkgz/auth's dev provider, which --dev offers
// to every auth collection.
const DevName = "dev"

// maxUserInfo bounds a provider's user info document.
const maxUserInfo = 1 << 20

// Providers resolves the OAuth2 providers of auth collections from their
// options (db.OAuth2Options), plus the dev provider when one is set.
type Providers struct {
	client *http.Client
	dev    atomic.Pointer[Dev]
}

// NewProviders returns the providers, whose code exchanges and user info
// requests go through client (nil: a client with a 15 s timeout).
func NewProviders(client *http.Client) *Providers {
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second}
	}
	return &Providers{client: client}
}

// SetDev offers go-pkgz/auth's dev provider, served by d, to every auth
// collection (nil withdraws it). Call it before serving.
func (ps *Providers) SetDev(d *Dev) { ps.dev.Store(d) }

// Provider is one provider of one collection.
type Provider struct {
	Name        string
	DisplayName string
	PKCE        bool
	cfg         *db.OAuth2Provider
	spec        *spec
	dev         *Dev // go-pkgz/auth's dev provider
	client      *http.Client
}

// Enabled reports whether c offers OAuth2 sign-in: its oauth2.enabled, or
// the dev provider.
func (ps *Providers) Enabled(c *db.Collection) bool {
	o := c.AuthOpts()
	return o != nil && (o.OAuth2.Enabled || ps.dev.Load() != nil)
}

// List returns the providers c offers (none when OAuth2 is off), the dev
// provider last. A provider whose options do not resolve is left out.
func (ps *Providers) List(c *db.Collection) []*Provider {
	if !ps.Enabled(c) {
		return nil
	}
	var out []*Provider
	o := c.AuthOpts()
	if o.OAuth2.Enabled {
		for _, cfg := range o.OAuth2.Providers {
			if p, err := ps.provider(cfg); err == nil {
				out = append(out, p)
			}
		}
	}
	if d := ps.dev.Load(); d != nil && (o.OAuth2.Provider(DevName) == nil || !o.OAuth2.Enabled) {
		out = append(out, ps.devProvider(d))
	}
	return out
}

// Lookup returns the provider name of c. OAuth2 off for c, or a name c
// does not offer, is BAD_USER_INPUT on "provider".
func (ps *Providers) Lookup(c *db.Collection, name string) (*Provider, error) {
	bad := func(code, format string, args ...any) error {
		msg := fmt.Sprintf(format, args...)
		return apperr.InvalidFields(msg, map[string]apperr.FieldError{"provider": {Code: code, Message: msg}})
	}
	if c == nil || !c.IsAuth() {
		return nil, apperr.New(apperr.NotFound, "no auth collection")
	}
	if !ps.Enabled(c) {
		return nil, bad("oauth2_disabled", "OAuth2 sign-in is off for %s", c.Name)
	}
	for _, p := range ps.List(c) {
		if p.Name == name {
			return p, nil
		}
	}
	return nil, bad("unknown_provider", "%s has no OAuth2 provider %q", c.Name, name)
}

func (ps *Providers) provider(cfg *db.OAuth2Provider) (*Provider, error) {
	s, err := specFor(cfg)
	if err != nil {
		return nil, err
	}
	display := cfg.DisplayName
	if display == "" {
		display = strings.ToUpper(cfg.Name[:1]) + cfg.Name[1:]
	}
	return &Provider{Name: cfg.Name, DisplayName: display, PKCE: cfg.PKCE, cfg: cfg, spec: s, client: ps.client}, nil
}

func (ps *Providers) devProvider(d *Dev) *Provider {
	return &Provider{Name: DevName, DisplayName: "Dev (go-pkgz/auth)", cfg: &db.OAuth2Provider{Name: DevName, ClientID: "dev", ClientSecret: "dev"},
		spec: devSpec(d.Addr()), dev: d, client: ps.client}
}

// config is the golang.org/x/oauth2 configuration of p.
func (p *Provider) config(redirectURL string) *oauth2.Config {
	return &oauth2.Config{ClientID: p.cfg.ClientID, ClientSecret: p.cfg.ClientSecret,
		Endpoint: p.spec.endpoint, RedirectURL: redirectURL, Scopes: p.spec.scopes}
}

// AuthMethod is what a client needs to send a user to the provider for
// the code exchange (userAuthMethods).
type AuthMethod struct {
	Name, DisplayName string
	State             string // compare with the state the provider sends back
	// AuthURL ends with "redirect_uri=": the client appends its own
	// (URL-encoded) redirect URL, the one it passes to userAuthWithOAuth2.
	AuthURL                                          string
	CodeVerifier, CodeChallenge, CodeChallengeMethod string // PKCE, when the provider uses it
}

// AuthMethod returns a fresh state (and PKCE verifier) and the auth URL.
func (p *Provider) AuthMethod() AuthMethod {
	m := AuthMethod{Name: p.Name, DisplayName: p.DisplayName, State: oauth2.GenerateVerifier()}
	var opts []oauth2.AuthCodeOption
	if p.PKCE {
		m.CodeVerifier = oauth2.GenerateVerifier()
		m.CodeChallenge = oauth2.S256ChallengeFromVerifier(m.CodeVerifier)
		m.CodeChallengeMethod = "S256"
		opts = append(opts, oauth2.S256ChallengeOption(m.CodeVerifier))
	}
	m.AuthURL = p.config("").AuthCodeURL(m.State, opts...) + "&redirect_uri="
	return m
}

// Exchange trades code (with the PKCE verifier, when the client used one)
// for a token at the provider, with redirectURL as the redirect_uri of the
// authorization, then reads the user info. A refusal or failure of the
// provider is BAD_USER_INPUT saying which step failed.
func (p *Provider) Exchange(ctx context.Context, code, verifier, redirectURL string) (User, error) {
	if p.PKCE && verifier == "" {
		return User{}, apperr.InvalidFields("codeVerifier required", map[string]apperr.FieldError{
			"codeVerifier": {Code: "required", Message: "the provider " + p.Name + " uses PKCE: send the code verifier"}})
	}
	if strings.TrimSpace(code) == "" {
		return User{}, apperr.InvalidFields("code required", map[string]apperr.FieldError{"code": {Code: "required", Message: "cannot be blank"}})
	}
	conf := p.config(redirectURL)
	ctx = context.WithValue(ctx, oauth2.HTTPClient, p.client)
	var opts []oauth2.AuthCodeOption
	if verifier != "" {
		opts = append(opts, oauth2.VerifierOption(verifier))
	}
	tok, err := conf.Exchange(ctx, code, opts...)
	if err != nil {
		return User{}, p.exchangeError(err)
	}
	var in info
	if p.spec.userInfoURL == "" {
		in, err = idTokenInfo(tok)
	} else {
		in, err = p.fetchInfo(ctx, conf, tok)
	}
	if err != nil {
		e := apperr.New(apperr.Invalid, "OAuth2 provider %s: %s", p.Name, clip(err.Error()))
		e.Err = err
		return User{}, e
	}
	u := p.spec.toUser(p.Name, in)
	if u.ID == "" {
		return User{}, apperr.New(apperr.Invalid, "OAuth2 provider %s: the user info has no account id", p.Name)
	}
	return u, nil
}

// exchangeError describes a failed code exchange.
func (p *Provider) exchangeError(err error) error {
	var re *oauth2.RetrieveError
	msg := "could not reach the token endpoint"
	if errors.As(err, &re) {
		msg = "the token endpoint refused the code"
		if re.ErrorCode != "" {
			msg += ": " + re.ErrorCode
		} else if re.Response != nil {
			msg += fmt.Sprintf(" (HTTP %d)", re.Response.StatusCode)
		}
		if re.ErrorDescription != "" {
			msg += " (" + clip(re.ErrorDescription) + ")"
		}
	}
	msg = "OAuth2 provider " + p.Name + ": " + msg
	e := apperr.InvalidFields(msg, map[string]apperr.FieldError{"code": {Code: "provider_refused", Message: msg}})
	e.Err = err
	return e
}

// fetchInfo reads the user info with the access token.
func (p *Provider) fetchInfo(ctx context.Context, conf *oauth2.Config, tok *oauth2.Token) (info, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.spec.userInfoURL, nil)
	if err != nil {
		return nil, fmt.Errorf("user info request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	res, err := conf.Client(ctx, tok).Do(req)
	if err != nil {
		return nil, errors.New("could not reach the user info endpoint")
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxUserInfo+1))
	if err != nil {
		return nil, errors.New("could not read the user info")
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return nil, fmt.Errorf("the user info endpoint answered HTTP %d", res.StatusCode)
	}
	if len(body) > maxUserInfo {
		return nil, errors.New("the user info is over 1 MiB")
	}
	return decodeInfo(body)
}

// idTokenInfo returns the claims of the id_token of tok. The token came
// straight from the token endpoint over the client's connection, which
// OpenID Connect Core 3.1.3.7 accepts in place of checking its signature.
func idTokenInfo(tok *oauth2.Token) (info, error) {
	raw, _ := tok.Extra("id_token").(string)
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, errors.New("the token response has no id_token")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, errors.New("the id_token is not a JWT")
	}
	return decodeInfo(payload)
}

// clip shortens a provider's message for an error.
func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

// handler returns go-pkgz/auth's redirect flow handler of p, with its
// callback under base (the server's URL) and its handshake in ts. A
// provider without a redirect flow is BAD_USER_INPUT.
func (p *Provider) handler(base string, ts provider.TokenService, l logger.L) (provider.Provider, error) {
	if p.spec.noRedirect != "" {
		return nil, apperr.New(apperr.Invalid, "%s", p.spec.noRedirect)
	}
	params := provider.Params{L: l, URL: base, JwtService: ts, Cid: p.cfg.ClientID, Csecret: p.cfg.ClientSecret,
		Issuer: "monobase", UserAttributes: p.spec.userAttributes(), GithubNumericID: true}
	switch {
	case p.dev != nil:
		params.Host, params.Port = p.dev.host, p.dev.port
		return provider.NewDev(params), nil
	case p.spec.pkgz != nil:
		return p.spec.pkgz(params), nil
	}
	return provider.NewCustom(p.Name, params, provider.CustomHandlerOpt{Endpoint: p.spec.endpoint,
		InfoURL: p.spec.userInfoURL, MapUserFn: p.spec.mapUserFn(p.Name), Scopes: p.spec.scopes}), nil
}
