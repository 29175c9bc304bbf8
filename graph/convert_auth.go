package graph

import (
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/graph/model"
)

// toAuthOptions converts the auth option groups of a collection input; a
// group left out stays nil (db keeps the stored group, or the default), a
// group given has its omitted fields at their defaults. It returns nil
// when no group is given.
func toAuthOptions(in *model.CollectionInput) *db.AuthOptions {
	if in.AuthToken == nil && in.PasswordAuth == nil && in.Oauth2 == nil && in.Otp == nil && in.Mfa == nil && in.EmailTemplates == nil {
		return nil
	}
	o := &db.AuthOptions{}
	if t := in.AuthToken; t != nil {
		o.AuthToken = &db.TokenOptions{Duration: or(t.Duration, db.DefaultAuthTokenDuration)}
	}
	if p := in.PasswordAuth; p != nil {
		o.PasswordAuth = &db.PasswordAuth{Enabled: or(p.Enabled, true), IdentityFields: p.IdentityFields}
	}
	if p := in.Oauth2; p != nil {
		o.OAuth2 = toOAuth2(p)
	}
	if p := in.Otp; p != nil {
		o.OTP = &db.OTPOptions{Enabled: deref(p.Enabled), Duration: or(p.Duration, db.DefaultOTPDuration), Length: or(p.Length, db.DefaultOTPLength)}
	}
	if p := in.Mfa; p != nil {
		o.MFA = &db.MFAOptions{Enabled: deref(p.Enabled), Duration: or(p.Duration, db.DefaultMFADuration), Rule: deref(p.Rule)}
	}
	if p := in.EmailTemplates; p != nil {
		o.EmailTemplates = &db.EmailTemplates{
			Verification: toTemplate(p.Verification), ResetPassword: toTemplate(p.ResetPassword),
			ConfirmEmailChange: toTemplate(p.ConfirmEmailChange), OTP: toTemplate(p.Otp), AuthAlert: toTemplate(p.AuthAlert),
		}
	}
	return o
}

func toOAuth2(in *model.OAuth2Input) *db.OAuth2Options {
	o := &db.OAuth2Options{Enabled: deref(in.Enabled), Providers: make([]*db.OAuth2Provider, 0, len(in.Providers))}
	if m := in.MappedFields; m != nil {
		o.MappedFields = db.OAuth2Mapped{ID: deref(m.ID), Name: deref(m.Name), Username: deref(m.Username), AvatarURL: deref(m.AvatarURL)}
	}
	for _, p := range in.Providers {
		o.Providers = append(o.Providers, &db.OAuth2Provider{
			Name: p.Name, ClientID: p.ClientID, ClientSecret: deref(p.ClientSecret), DisplayName: deref(p.DisplayName),
			PKCE: or(p.Pkce, true), AuthURL: deref(p.AuthURL), TokenURL: deref(p.TokenURL), UserInfoURL: deref(p.UserInfoURL),
			Scopes: p.Scopes,
		})
	}
	return o
}

func toTemplate(in *model.EmailTemplateInput) *db.EmailTemplate {
	if in == nil {
		return nil
	}
	return &db.EmailTemplate{Subject: in.Subject, Body: in.Body}
}

// or returns *p, or def when p is nil.
func or[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}
