package model

import "github.com/monobase/monobase/db"

// The auth options of an AUTH collection; each is null for other types.

// AuthToken returns the token options.
func (c Collection) AuthToken() *db.TokenOptions {
	if o := c.AuthOpts(); o != nil {
		return o.AuthToken
	}
	return nil
}

// PasswordAuth returns the password sign-in options.
func (c Collection) PasswordAuth() *db.PasswordAuth {
	if o := c.AuthOpts(); o != nil {
		return o.PasswordAuth
	}
	return nil
}

// OAuth2 returns the OAuth2 options, secrets hidden.
func (c Collection) OAuth2() *OAuth2Options {
	if o := c.AuthOpts(); o != nil {
		return &OAuth2Options{o.OAuth2}
	}
	return nil
}

// Otp returns the one-time password options.
func (c Collection) Otp() *db.OTPOptions {
	if o := c.AuthOpts(); o != nil {
		return o.OTP
	}
	return nil
}

// Mfa returns the multi-factor options.
func (c Collection) Mfa() *MFAOptions {
	if o := c.AuthOpts(); o != nil {
		return &MFAOptions{o.MFA}
	}
	return nil
}

// EmailTemplates returns the template overrides.
func (c Collection) EmailTemplates() *db.EmailTemplates {
	if o := c.AuthOpts(); o != nil {
		return o.EmailTemplates
	}
	return nil
}

// OAuth2Options wraps db.OAuth2Options so that providers hide their secret.
type OAuth2Options struct{ *db.OAuth2Options }

// MappedFields returns the field mapping with "" read as null.
func (o OAuth2Options) MappedFields() OAuth2Mapped { return OAuth2Mapped{o.OAuth2Options.MappedFields} }

// Providers returns the providers.
func (o OAuth2Options) Providers() []OAuth2Provider {
	out := make([]OAuth2Provider, len(o.OAuth2Options.Providers))
	for i, p := range o.OAuth2Options.Providers {
		out[i] = OAuth2Provider{p}
	}
	return out
}

// OAuth2Mapped reads the unset mappings as null.
type OAuth2Mapped struct{ m db.OAuth2Mapped }

// ID is the field that takes the provider's user id.
func (m OAuth2Mapped) ID() *string { return nonEmpty(m.m.ID) }

// Name is the field that takes the provider's user name.
func (m OAuth2Mapped) Name() *string { return nonEmpty(m.m.Name) }

// Username is the field that takes the provider's username.
func (m OAuth2Mapped) Username() *string { return nonEmpty(m.m.Username) }

// AvatarURL is the field that takes the provider's avatar URL.
func (m OAuth2Mapped) AvatarURL() *string { return nonEmpty(m.m.AvatarURL) }

// OAuth2Provider is a provider without its secret (ClientSecret is not in
// the schema; ClientSecretSet says whether one is stored).
type OAuth2Provider struct{ *db.OAuth2Provider }

// ClientSecretSet reports whether a client secret is stored.
func (p OAuth2Provider) ClientSecretSet() bool { return p.OAuth2Provider.ClientSecret != "" }

// DisplayName is null when unset.
func (p OAuth2Provider) DisplayName() *string { return nonEmpty(p.OAuth2Provider.DisplayName) }

// AuthURL is null when unset (a named provider's default).
func (p OAuth2Provider) AuthURL() *string { return nonEmpty(p.OAuth2Provider.AuthURL) }

// TokenURL is null when unset.
func (p OAuth2Provider) TokenURL() *string { return nonEmpty(p.OAuth2Provider.TokenURL) }

// UserInfoURL is null when unset.
func (p OAuth2Provider) UserInfoURL() *string { return nonEmpty(p.OAuth2Provider.UserInfoURL) }

// Scopes never reads as null.
func (p OAuth2Provider) Scopes() []string {
	if p.OAuth2Provider.Scopes == nil {
		return []string{}
	}
	return p.OAuth2Provider.Scopes
}

// MFAOptions reads an empty rule as null.
type MFAOptions struct{ *db.MFAOptions }

// Rule is null when every record needs a second method.
func (o MFAOptions) Rule() *string { return nonEmpty(o.MFAOptions.Rule) }
