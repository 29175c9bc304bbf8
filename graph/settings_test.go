package graph_test

import (
	"strings"
	"testing"
	"time"

	"github.com/monobase/monobase/mail/mailtest"
)

const settingsQuery = `{ settings { meta { appName appUrl senderName senderAddress }
  smtp { enabled host port username passwordSet tls authMethod localName } } }`

const updateSettings = `mutation($in: SettingsInput!) { updateSettings(input: $in) {
  meta { appName appUrl } smtp { enabled host port username passwordSet } } }`

type settingsOut struct {
	Meta struct{ AppName, AppURL, SenderName, SenderAddress string }
	SMTP struct {
		Enabled     bool
		Host        string
		Port        int
		Username    string
		PasswordSet bool
	}
}

func TestSettingsPartialUpdateAndWriteOnlyPassword(t *testing.T) {
	s := newServer(t)
	var out struct{ Settings settingsOut }
	s.mustDo(t, s.rootToken, settingsQuery, nil, &out)
	if out.Settings.Meta.AppName != "Monobase" || out.Settings.SMTP.Enabled || out.Settings.SMTP.PasswordSet {
		t.Fatalf("defaults = %+v", out.Settings)
	}
	var up struct{ UpdateSettings settingsOut }
	s.mustDo(t, s.rootToken, updateSettings, map[string]any{"in": map[string]any{
		"smtp": map[string]any{"enabled": true, "host": "mail.test", "port": 2525, "username": "u", "password": "hunter2-secret"},
	}}, &up)
	if got := up.UpdateSettings; !got.SMTP.Enabled || got.SMTP.Port != 2525 || !got.SMTP.PasswordSet || got.Meta.AppName != "Monobase" {
		t.Fatalf("after smtp update = %+v", got)
	}
	// meta alone: smtp (and its password) unchanged.
	s.mustDo(t, s.rootToken, updateSettings, map[string]any{"in": map[string]any{
		"meta": map[string]any{"appName": "Acme", "appUrl": "https://acme.test"},
	}}, &up)
	if got := up.UpdateSettings; got.Meta.AppName != "Acme" || got.SMTP.Host != "mail.test" || !got.SMTP.PasswordSet {
		t.Fatalf("after meta update = %+v", got)
	}
	res := s.do(t, s.rootToken, `{ settings { smtp { password } } }`, nil)
	if len(res.Errors) == 0 || res.Errors[0].Extensions.Code != "GRAPHQL_VALIDATION_FAILED" {
		t.Fatalf("smtp.password is readable: %+v %s", res.Errors, res.Data)
	}
	if res := s.do(t, s.rootToken, settingsQuery, nil); strings.Contains(string(res.Data), "hunter2") {
		t.Fatal("the password is in the settings output")
	}
	// Bad input: per-field messages, nothing stored.
	e := s.mustFail(t, s.rootToken, updateSettings, map[string]any{"in": map[string]any{
		"meta": map[string]any{"appUrl": "ftp://x"}, "smtp": map[string]any{"port": 0},
	}}, "BAD_USER_INPUT")
	if e.Extensions.Fields["meta.appUrl"].Code == "" || e.Extensions.Fields["smtp.port"].Code == "" {
		t.Fatalf("fields = %+v", e.Extensions.Fields)
	}
	s.mustDo(t, s.rootToken, settingsQuery, nil, &out)
	if out.Settings.Meta.AppURL != "https://acme.test" || out.Settings.SMTP.Port != 2525 {
		t.Fatalf("a refused update changed the settings: %+v", out.Settings)
	}
}

func TestSettingsSuperusersOnly(t *testing.T) {
	s := newServer(t)
	s.mustFail(t, "", settingsQuery, nil, "UNAUTHENTICATED")
	s.mustFail(t, s.userToken, settingsQuery, nil, "FORBIDDEN")
	s.mustFail(t, s.userToken, `mutation { testEmail(to: "a@b.test", template: VERIFICATION) }`, nil, "FORBIDDEN")
	s.mustFail(t, s.userToken, updateSettings, map[string]any{"in": map[string]any{"meta": map[string]any{"appName": "x"}}}, "FORBIDDEN")
}

func TestTestEmailThroughRealSMTP(t *testing.T) {
	s := newServer(t)
	smtpSrv := mailtest.Start(t, mailtest.Options{Username: "mailer", Password: "pw-123"})
	s.mustDo(t, s.rootToken, updateSettings, map[string]any{"in": map[string]any{
		"meta": map[string]any{"appName": "Acme", "appUrl": "https://acme.test", "senderAddress": "no-reply@acme.test"},
		"smtp": map[string]any{"enabled": true, "host": smtpSrv.Host, "port": smtpSrv.Port, "username": "mailer", "password": "pw-123"},
	}}, nil)
	var out struct{ TestEmail bool }
	s.mustDo(t, s.rootToken, `mutation { testEmail(to: "ops@acme.test", template: RESET_PASSWORD) }`, nil, &out)
	got := smtpSrv.Next(t, 10*time.Second)
	if !out.TestEmail || got.To[0] != "ops@acme.test" || got.User != "mailer" ||
		!strings.Contains(got.Data, "Subject: Reset your Acme password") ||
		!strings.Contains(got.Data, "https://acme.test/_/#/auth/confirm-password-reset/TEST_TOKEN") {
		t.Fatalf("testEmail = %v, message %+v", out.TestEmail, got)
	}
	// A server that is down: the error says why, and never the password.
	smtpSrv.Close()
	e := s.mustFail(t, s.rootToken, `mutation { testEmail(to: "ops@acme.test", template: VERIFICATION) }`, nil, "BAD_USER_INPUT")
	if !strings.Contains(e.Message, "not sent") || strings.Contains(e.Message, "pw-123") {
		t.Fatalf("message = %q", e.Message)
	}
}
