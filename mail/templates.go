package mail

import (
	"fmt"
	"strings"
)

// Kind names a template (EmailTemplateKind on the admin API).
type Kind string

// The templates of the auth flows.
const (
	Verification       Kind = "VERIFICATION"
	ResetPassword      Kind = "RESET_PASSWORD"
	ConfirmEmailChange Kind = "CONFIRM_EMAIL_CHANGE"
)

// Template is a subject and a plain text body with the placeholders
// {APP_NAME}, {APP_URL}, {TOKEN} and {RECORD:<field>}.
type Template struct{ Subject, Body string }

// Defaults are the templates every auth collection uses; their links follow
// PocketBase's {APP_URL}/_/#/auth/confirm-*/{TOKEN}.
var Defaults = map[Kind]Template{
	Verification: {
		Subject: "Verify your {APP_NAME} email",
		Body: "Hello,\n\nThank you for joining us at {APP_NAME}.\n\nClick the link below to verify your email address:\n" +
			"{APP_URL}/_/#/auth/confirm-verification/{TOKEN}\n\nThanks,\n{APP_NAME} team\n",
	},
	ResetPassword: {
		Subject: "Reset your {APP_NAME} password",
		Body: "Hello,\n\nClick the link below to reset your password:\n{APP_URL}/_/#/auth/confirm-password-reset/{TOKEN}\n\n" +
			"If you did not ask to reset your password, you can ignore this email.\n\nThanks,\n{APP_NAME} team\n",
	},
	ConfirmEmailChange: {
		Subject: "Confirm your {APP_NAME} new email address",
		Body: "Hello,\n\nClick the link below to confirm your new email address:\n{APP_URL}/_/#/auth/confirm-email-change/{TOKEN}\n\n" +
			"If you did not ask to change your email address, you can ignore this email.\n\nThanks,\n{APP_NAME} team\n",
	},
}

// Render returns the message of the template kind for to, with the
// placeholders replaced; record gives {RECORD:<field>} (missing fields
// become empty). It fails for an unknown kind.
func Render(kind Kind, meta Meta, to, token string, record map[string]any) (Message, error) {
	t, ok := Defaults[kind]
	if !ok {
		return Message{}, fmt.Errorf("mail: unknown template %q", kind)
	}
	appURL := strings.TrimRight(meta.AppURL, "/")
	fill := func(s string) string {
		s = strings.NewReplacer("{APP_NAME}", meta.AppName, "{APP_URL}", appURL, "{TOKEN}", token).Replace(s)
		var b strings.Builder
		for {
			i := strings.Index(s, "{RECORD:")
			j := -1
			if i >= 0 {
				j = strings.IndexByte(s[i:], '}')
			}
			if j < 0 {
				b.WriteString(s)
				return b.String()
			}
			b.WriteString(s[:i])
			name := s[i+len("{RECORD:") : i+j]
			if x, ok := record[name]; ok && x != nil && name != "password" && name != "tokenKey" {
				b.WriteString(fmt.Sprint(x))
			}
			s = s[i+j+1:]
		}
	}
	return Message{To: to, Subject: strings.NewReplacer("\r", " ", "\n", " ").Replace(fill(t.Subject)), Body: fill(t.Body)}, nil
}
