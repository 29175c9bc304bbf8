package mail

import (
	"context"
	"encoding/json"
	"fmt"
	"net/mail"
	"strings"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/db"
)

// The _params keys of the settings groups.
const (
	metaParam = "settings.meta"
	smtpParam = "settings.smtp"
)

// Meta is the settings group meta: what emails call the application and
// where their links point.
type Meta struct {
	AppName       string `json:"appName"`
	AppURL        string `json:"appUrl"`
	SenderName    string `json:"senderName"`
	SenderAddress string `json:"senderAddress"`
}

// SMTP is the settings group smtp. Password is write-only on the admin API.
type SMTP struct {
	Enabled  bool   `json:"enabled"`
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Username string `json:"username"`
	Password string `json:"password"`
	// TLS: implicit TLS from the first byte (port 465). When false the
	// connection starts plain and is upgraded with STARTTLS whenever the
	// server offers it.
	TLS bool `json:"tls"`
	// AuthMethod is PLAIN (the default) or LOGIN; it is used only with a
	// username.
	AuthMethod string `json:"authMethod"`
	// LocalName is the name sent with EHLO (default "localhost").
	LocalName string `json:"localName"`
}

// Settings are the groups this package reads.
type Settings struct {
	Meta Meta
	SMTP SMTP
}

// DefaultMeta is meta before anything is saved.
var DefaultMeta = Meta{AppName: "Monobase", AppURL: "http://localhost:8090", SenderName: "Support", SenderAddress: "no-reply@example.com"}

// DefaultSMTP is smtp before anything is saved: off.
var DefaultSMTP = SMTP{Host: "127.0.0.1", Port: 587, AuthMethod: "PLAIN"}

// Load returns the stored settings, defaults for groups never saved. It
// fails when _params cannot be read or holds invalid JSON, and when the
// stored password cannot be read (it is encrypted at rest and the key is
// missing or another: the error wraps db.DB.OpenSecret's).
func Load(ctx context.Context, d *db.DB) (Settings, error) {
	s := Settings{Meta: DefaultMeta, SMTP: DefaultSMTP}
	for key, dst := range map[string]any{metaParam: &s.Meta, smtpParam: &s.SMTP} {
		raw, ok, err := d.Param(ctx, key)
		if err != nil {
			return s, fmt.Errorf("load %s: %w", key, err)
		}
		if !ok || len(raw) == 0 {
			continue
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			return s, fmt.Errorf("decode %s: %w", key, err)
		}
	}
	pw, err := d.OpenSecret(s.SMTP.Password)
	if err != nil {
		s.SMTP.Password = ""
		return s, fmt.Errorf("load %s.password: %w", smtpParam, err)
	}
	s.SMTP.Password = pw
	return s, nil
}

// Save validates s and stores both groups, the password sealed by
// db.DB.SealSecret (encrypted with MONOBASE_ENCRYPTION_KEY). Invalid values are a
// BAD_USER_INPUT *apperr.Error with per-field messages (meta.appUrl, ...);
// a storage failure is wrapped.
func Save(ctx context.Context, d *db.DB, s Settings) error {
	if err := s.Validate(); err != nil {
		return err
	}
	smtp := s.SMTP
	pw, err := d.SealSecret(smtp.Password)
	if err != nil {
		return fmt.Errorf("save %s.password: %w", smtpParam, err)
	}
	smtp.Password = pw // encrypted at rest with MONOBASE_ENCRYPTION_KEY
	for key, v := range map[string]any{metaParam: s.Meta, smtpParam: smtp} {
		raw, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("encode %s: %w", key, err)
		}
		if err := d.SetParam(ctx, key, raw); err != nil {
			return fmt.Errorf("save %s: %w", key, err)
		}
	}
	return nil
}

// Validate returns a BAD_USER_INPUT error naming each invalid field, or nil.
func (s Settings) Validate() error {
	var fe apperr.FieldErrors
	m := s.Meta
	if strings.TrimSpace(m.AppName) == "" || len(m.AppName) > 200 || hasNewline(m.AppName) {
		fe.Add("meta.appName", "invalid", "must be 1 to 200 characters on one line")
	}
	if !strings.HasPrefix(m.AppURL, "http://") && !strings.HasPrefix(m.AppURL, "https://") || hasNewline(m.AppURL) || len(m.AppURL) > 2000 {
		fe.Add("meta.appUrl", "invalid", "must be an http(s) URL")
	}
	if hasNewline(m.SenderName) || len(m.SenderName) > 200 {
		fe.Add("meta.senderName", "invalid", "must be at most 200 characters on one line")
	}
	if a, err := mail.ParseAddress(m.SenderAddress); err != nil || a.Name != "" || hasNewline(m.SenderAddress) {
		fe.Add("meta.senderAddress", "invalid", "must be an email address")
	}
	c := s.SMTP
	if c.Enabled && strings.TrimSpace(c.Host) == "" {
		fe.Add("smtp.host", "required", "cannot be blank when smtp is enabled")
	}
	if hasNewline(c.Host) || hasNewline(c.Username) || hasNewline(c.LocalName) {
		fe.Add("smtp", "invalid", "host, username and localName must be on one line")
	}
	if c.Port < 1 || c.Port > 65535 {
		fe.Add("smtp.port", "invalid", "must be between 1 and 65535")
	}
	switch strings.ToUpper(c.AuthMethod) {
	case "", "PLAIN", "LOGIN":
	default:
		fe.Add("smtp.authMethod", "invalid", "must be PLAIN or LOGIN")
	}
	return fe.Err("invalid settings")
}

func hasNewline(s string) bool { return strings.ContainsAny(s, "\r\n") }
