package graph

import (
	"context"

	"github.com/monobase/monobase/graph/model"
	"github.com/monobase/monobase/mail"
	"github.com/monobase/monobase/ratelimit"
)

// Option configures NewHandler.
type Option func(*Resolver)

// WithMailSender makes testEmail send through s instead of an SMTP client
// on the stored settings (tests use it for a TLS configuration).
func WithMailSender(s mail.Sender) Option { return func(r *Resolver) { r.mail = s } }

// mailSender returns the sender of testEmail: the configured one, else an
// SMTP client that reads the stored settings at each send.
func (r *Resolver) mailSender() mail.Sender {
	if r.mail != nil {
		return r.mail
	}
	return &mail.SMTPClient{Settings: func(ctx context.Context) (mail.Settings, error) { return mail.Load(ctx, r.db) }}
}

// settingsOut returns the admin API view of s and rl: the password is
// replaced by passwordSet.
func settingsOut(s mail.Settings, rl ratelimit.Settings) *model.Settings {
	return &model.Settings{
		RateLimits: rateLimitsOut(rl),
		Meta:       &model.MetaSettings{AppName: s.Meta.AppName, AppURL: s.Meta.AppURL, SenderName: s.Meta.SenderName, SenderAddress: s.Meta.SenderAddress},
		SMTP: &model.SMTPSettings{
			Enabled: s.SMTP.Enabled, Host: s.SMTP.Host, Port: s.SMTP.Port, Username: s.SMTP.Username,
			PasswordSet: s.SMTP.Password != "", TLS: s.SMTP.TLS, AuthMethod: s.SMTP.AuthMethod, LocalName: s.SMTP.LocalName,
		},
	}
}

// applySettingsInput sets the fields in, leaving out what it leaves out
// (nil groups and nil fields).
func applySettingsInput(s *mail.Settings, in *model.SettingsInput) {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	setBool := func(dst *bool, v *bool) {
		if v != nil {
			*dst = *v
		}
	}
	if m := in.Meta; m != nil {
		set(&s.Meta.AppName, m.AppName)
		set(&s.Meta.AppURL, m.AppURL)
		set(&s.Meta.SenderName, m.SenderName)
		set(&s.Meta.SenderAddress, m.SenderAddress)
	}
	if c := in.SMTP; c != nil {
		setBool(&s.SMTP.Enabled, c.Enabled)
		set(&s.SMTP.Host, c.Host)
		if c.Port != nil {
			s.SMTP.Port = *c.Port
		}
		set(&s.SMTP.Username, c.Username)
		set(&s.SMTP.Password, c.Password)
		setBool(&s.SMTP.TLS, c.TLS)
		set(&s.SMTP.AuthMethod, c.AuthMethod)
		set(&s.SMTP.LocalName, c.LocalName)
	}
}
