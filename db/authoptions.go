package db

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/monobase/monobase/apperr"
)

// AuthOptions are the options of an AUTH collection (docs/api.md "Auth
// collections: options and flows"). In a definition given to
// CreateCollection or UpdateCollection a nil group means "unchanged" on
// update and "the default" on create; a stored definition has every group.
type AuthOptions struct {
	AuthToken      *TokenOptions   `json:"authToken,omitempty"`
	PasswordAuth   *PasswordAuth   `json:"passwordAuth,omitempty"`
	OAuth2         *OAuth2Options  `json:"oauth2,omitempty"`
	OTP            *OTPOptions     `json:"otp,omitempty"`
	MFA            *MFAOptions     `json:"mfa,omitempty"`
	EmailTemplates *EmailTemplates `json:"emailTemplates,omitempty"`
}

// TokenOptions set the lifetime of the collection's auth tokens.
type TokenOptions struct {
	Duration int `json:"duration"` // seconds
}

// PasswordAuth turns password sign-in on and names the fields an identity
// is looked up in.
type PasswordAuth struct {
	Enabled        bool     `json:"enabled"`
	IdentityFields []string `json:"identityFields"`
}

// OAuth2Options configure OAuth2 sign-in.
type OAuth2Options struct {
	Enabled      bool              `json:"enabled"`
	MappedFields OAuth2Mapped      `json:"mappedFields"`
	Providers    []*OAuth2Provider `json:"providers"`
}

// OAuth2Mapped names the record fields that take the provider's user id,
// name, username and avatar URL on a sign-up ("" leaves them out).
type OAuth2Mapped struct {
	ID        string `json:"id,omitempty"`
	Name      string `json:"name,omitempty"`
	Username  string `json:"username,omitempty"`
	AvatarURL string `json:"avatarUrl,omitempty"`
}

// OAuth2Provider is one provider of a collection. A name known to
// go-pkgz/auth (google, github, ...) needs only the client id and secret;
// any other name is a custom OAuth2/OIDC provider and needs the three URLs.
// ClientSecret is write-only: the admin API never returns it.
type OAuth2Provider struct {
	Name         string   `json:"name"`
	ClientID     string   `json:"clientId"`
	ClientSecret string   `json:"clientSecret,omitempty"`
	DisplayName  string   `json:"displayName,omitempty"`
	PKCE         bool     `json:"pkce"`
	AuthURL      string   `json:"authUrl,omitempty"`
	TokenURL     string   `json:"tokenUrl,omitempty"`
	UserInfoURL  string   `json:"userInfoUrl,omitempty"`
	Scopes       []string `json:"scopes,omitempty"`
}

// OTPOptions configure one-time password sign-in.
type OTPOptions struct {
	Enabled  bool `json:"enabled"`
	Duration int  `json:"duration"` // seconds
	Length   int  `json:"length"`   // digits
}

// MFAOptions configure multi-factor sign-in: when enabled (and Rule, if
// set, matches the record) a sign-in needs two different methods.
type MFAOptions struct {
	Enabled  bool   `json:"enabled"`
	Duration int    `json:"duration"` // seconds a first method stays valid
	Rule     string `json:"rule,omitempty"`
}

// EmailTemplates override the default emails of the auth flows; a nil
// template uses the default.
type EmailTemplates struct {
	Verification       *EmailTemplate `json:"verification,omitempty"`
	ResetPassword      *EmailTemplate `json:"resetPassword,omitempty"`
	ConfirmEmailChange *EmailTemplate `json:"confirmEmailChange,omitempty"`
	OTP                *EmailTemplate `json:"otp,omitempty"`
	AuthAlert          *EmailTemplate `json:"authAlert,omitempty"`
}

// EmailTemplate is a subject and a plain text body with the placeholders
// {APP_NAME}, {APP_URL}, {TOKEN}, {OTP} and {RECORD:<field>}.
type EmailTemplate struct {
	Subject string `json:"subject"`
	Body    string `json:"body"`
}

// The defaults of AuthOptions (PocketBase's).
const (
	DefaultAuthTokenDuration = 604800 // 7 days
	DefaultOTPDuration       = 180
	DefaultOTPLength         = 8
	DefaultMFADuration       = 1800
)

// Bounds of the options.
const (
	maxAuthDuration   = 10 * 365 * 24 * 3600
	minOTPLength      = 4
	maxOTPLength      = 16
	maxOAuth2Provider = 32
	maxTemplateLen    = 64 << 10
)

var providerNameRe = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// AuthOpts returns the collection's auth options with every group set: the
// stored ones, or the defaults for a collection stored before they
// existed (or a group missing). It returns nil for a non-AUTH collection.
// The result is shared: don't modify it.
func (c *Collection) AuthOpts() *AuthOptions {
	if c.Type != TypeAuth {
		return nil
	}
	if c.Auth != nil && c.Auth.complete() {
		return c.Auth
	}
	return withAuthDefaults(nil, c.Auth)
}

func (o *AuthOptions) complete() bool {
	return o.AuthToken != nil && o.PasswordAuth != nil && o.OAuth2 != nil && o.OTP != nil && o.MFA != nil && o.EmailTemplates != nil
}

// withAuthDefaults returns in with each nil group taken from old, else the
// default. Neither argument is modified; groups are shared.
func withAuthDefaults(old, in *AuthOptions) *AuthOptions {
	out := &AuthOptions{}
	if in != nil {
		*out = *in
	}
	if old == nil {
		old = &AuthOptions{}
	}
	if out.AuthToken == nil {
		out.AuthToken = old.AuthToken
		if out.AuthToken == nil {
			out.AuthToken = &TokenOptions{Duration: DefaultAuthTokenDuration}
		}
	}
	if out.PasswordAuth == nil {
		out.PasswordAuth = old.PasswordAuth
		if out.PasswordAuth == nil {
			out.PasswordAuth = &PasswordAuth{Enabled: true, IdentityFields: []string{"email"}}
		}
	}
	if out.OAuth2 == nil {
		out.OAuth2 = old.OAuth2
		if out.OAuth2 == nil {
			out.OAuth2 = &OAuth2Options{}
		}
	}
	if out.OTP == nil {
		out.OTP = old.OTP
		if out.OTP == nil {
			out.OTP = &OTPOptions{Duration: DefaultOTPDuration, Length: DefaultOTPLength}
		}
	}
	if out.MFA == nil {
		out.MFA = old.MFA
		if out.MFA == nil {
			out.MFA = &MFAOptions{Duration: DefaultMFADuration}
		}
	}
	if out.EmailTemplates == nil {
		out.EmailTemplates = old.EmailTemplates
		if out.EmailTemplates == nil {
			out.EmailTemplates = &EmailTemplates{}
		}
	}
	return out
}

// Provider returns the OAuth2 provider named name, or nil.
func (o *OAuth2Options) Provider(name string) *OAuth2Provider {
	for _, p := range o.Providers {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// prepareAuthOptions validates and completes the auth options of c (an
// AUTH collection whose fields are prepared) as the new definition of old
// (nil when new). A provider given without a secret keeps the secret
// stored for the same name.
func prepareAuthOptions(old, c *Collection, key func(string) string, fe *apperr.FieldErrors) {
	var prev *AuthOptions
	if old != nil {
		prev = old.AuthOpts()
	}
	o := withAuthDefaults(prev, c.Auth)
	c.Auth = o

	if d := o.AuthToken.Duration; d < 1 || d > maxAuthDuration {
		fe.Add(key("authToken.duration"), "invalid", "between 1 and %d seconds", maxAuthDuration)
	}
	pa := *o.PasswordAuth
	pa.IdentityFields = slices.Clone(pa.IdentityFields)
	if len(pa.IdentityFields) == 0 {
		pa.IdentityFields = []string{"email"}
	}
	for _, name := range pa.IdentityFields {
		f := c.FieldByName(name)
		switch {
		case f == nil:
			fe.Add(key("passwordAuth.identityFields"), "not_found", "no field %q", name)
		case f.Type != FieldText && f.Type != FieldEmail:
			fe.Add(key("passwordAuth.identityFields"), "invalid", "the identity field %q must be a text or email field", name)
		case name != "email" && !hasUniqueIndex(c, name):
			fe.Add(key("passwordAuth.identityFields"), "invalid", "the identity field %q needs a unique index", name)
		}
	}
	o.PasswordAuth = &pa

	if d, n := o.OTP.Duration, o.OTP.Length; d < 1 || d > 86400 {
		fe.Add(key("otp.duration"), "invalid", "between 1 and 86400 seconds")
	} else if n < minOTPLength || n > maxOTPLength {
		fe.Add(key("otp.length"), "invalid", "between %d and %d digits", minOTPLength, maxOTPLength)
	}
	if d := o.MFA.Duration; d < 1 || d > 86400 {
		fe.Add(key("mfa.duration"), "invalid", "between 1 and 86400 seconds")
	}
	prepareOAuth2(prev, c, o, key, fe)
	prepareTemplates(o.EmailTemplates, key, fe)
}

func prepareOAuth2(prev *AuthOptions, c *Collection, o *AuthOptions, key func(string) string, fe *apperr.FieldErrors) {
	oa := *o.OAuth2
	if len(oa.Providers) > maxOAuth2Provider {
		fe.Add(key("oauth2.providers"), "too_many", "at most %d providers", maxOAuth2Provider)
		return
	}
	providers := make([]*OAuth2Provider, 0, len(oa.Providers))
	seen := map[string]bool{}
	for i, p := range oa.Providers {
		if p == nil {
			continue
		}
		k := func(s string) string { return key(fmt.Sprintf("oauth2.providers.%d.%s", i, s)) }
		q := *p
		q.Name = strings.ToLower(strings.TrimSpace(q.Name))
		q.Scopes = slices.Clone(q.Scopes)
		switch {
		case !providerNameRe.MatchString(q.Name):
			fe.Add(k("name"), "invalid", "a provider name is a lower-case letter followed by letters, digits and _")
		case seen[q.Name]:
			fe.Add(k("name"), "duplicate", "the provider %q appears twice", q.Name)
		}
		seen[q.Name] = true
		if q.ClientSecret == "" && prev != nil && prev.OAuth2 != nil {
			if old := prev.OAuth2.Provider(q.Name); old != nil {
				q.ClientSecret = old.ClientSecret
			}
		}
		if strings.TrimSpace(q.ClientID) == "" {
			fe.Add(k("clientId"), "required", "a provider needs a client id")
		}
		for _, u := range []struct{ name, v string }{{"authUrl", q.AuthURL}, {"tokenUrl", q.TokenURL}, {"userInfoUrl", q.UserInfoURL}} {
			if u.v == "" {
				if !IsNamedOAuth2Provider(q.Name) {
					fe.Add(k(u.name), "required", "a custom provider (%q is not a named one) needs %s", q.Name, u.name)
				}
				continue
			}
			if pu, err := url.Parse(u.v); err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" {
				fe.Add(k(u.name), "invalid", "not an absolute http(s) URL")
			}
		}
		providers = append(providers, &q)
	}
	oa.Providers = providers
	for _, m := range []struct{ name, field string }{
		{"id", oa.MappedFields.ID}, {"name", oa.MappedFields.Name},
		{"username", oa.MappedFields.Username}, {"avatarUrl", oa.MappedFields.AvatarURL},
	} {
		if m.field != "" && c.FieldByName(m.field) == nil {
			fe.Add(key("oauth2.mappedFields."+m.name), "not_found", "no field %q", m.field)
		}
	}
	o.OAuth2 = &oa
}

func prepareTemplates(t *EmailTemplates, key func(string) string, fe *apperr.FieldErrors) {
	for _, e := range []struct {
		name string
		t    *EmailTemplate
	}{
		{"verification", t.Verification}, {"resetPassword", t.ResetPassword},
		{"confirmEmailChange", t.ConfirmEmailChange}, {"otp", t.OTP}, {"authAlert", t.AuthAlert},
	} {
		if e.t == nil {
			continue
		}
		if strings.TrimSpace(e.t.Subject) == "" || strings.ContainsAny(e.t.Subject, "\r\n") {
			fe.Add(key("emailTemplates."+e.name+".subject"), "invalid", "a subject is one non-empty line")
		}
		if strings.TrimSpace(e.t.Body) == "" {
			fe.Add(key("emailTemplates."+e.name+".body"), "required", "a template needs a body")
		}
		if len(e.t.Subject)+len(e.t.Body) > maxTemplateLen {
			fe.Add(key("emailTemplates."+e.name+".body"), "too_long", "at most %d bytes", maxTemplateLen)
		}
	}
}

// namedOAuth2Providers are the providers go-pkgz/auth knows by name.
var namedOAuth2Providers = []string{"google", "github", "facebook", "microsoft", "discord", "yandex", "twitch", "patreon", "battlenet", "apple"}

// IsNamedOAuth2Provider reports whether name is a provider go-pkgz/auth
// knows (it needs only a client id and secret).
func IsNamedOAuth2Provider(name string) bool { return slices.Contains(namedOAuth2Providers, name) }

// hasUniqueIndex reports whether c has a unique index on exactly field.
func hasUniqueIndex(c *Collection, field string) bool {
	for _, ix := range c.Indexes {
		u := strings.ToUpper(ix)
		if !strings.Contains(u, "UNIQUE") {
			continue
		}
		open, end := strings.IndexByte(ix, '('), strings.LastIndexByte(ix, ')')
		if open < 0 || end < open {
			continue
		}
		cols := strings.Split(ix[open+1:end], ",")
		if len(cols) == 1 && strings.Trim(strings.TrimSpace(strings.Fields(cols[0] + " x")[0]), "`\"[]") == field {
			return true
		}
	}
	return false
}

// WithoutSecrets returns a copy of o whose providers carry no client
// secret (for exports); o is unchanged.
func (o *AuthOptions) WithoutSecrets() *AuthOptions {
	if o == nil || o.OAuth2 == nil {
		return o
	}
	out := *o
	oa := *o.OAuth2
	oa.Providers = make([]*OAuth2Provider, len(o.OAuth2.Providers))
	for i, p := range o.OAuth2.Providers {
		q := *p
		q.ClientSecret = ""
		oa.Providers[i] = &q
	}
	out.OAuth2 = &oa
	return &out
}
