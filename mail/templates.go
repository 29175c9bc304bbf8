package mail

import (
	"fmt"
	"strings"

	"github.com/monobase/monobase/db"
)

// Kind names a template (EmailTemplateKind on the admin API).
type Kind string

// The templates of the auth flows.
const (
	Verification       Kind = "VERIFICATION"
	ResetPassword      Kind = "RESET_PASSWORD"
	ConfirmEmailChange Kind = "CONFIRM_EMAIL_CHANGE"
	OTP                Kind = "OTP"        // the one-time password of userRequestOtp
	AuthAlert          Kind = "AUTH_ALERT" // a sign-in from a new device
)

// Template is a subject and a plain text body with the placeholders
// {APP_NAME}, {APP_URL}, {TOKEN}, {OTP} and {RECORD:<field>}.
type Template struct{ Subject, Body string }

// Vars are the values of a message's placeholders.
type Vars struct {
	Token  string         // {TOKEN}
	OTP    string         // {OTP}
	Record map[string]any // {RECORD:<field>}; password and tokenKey stay empty
}

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
	OTP: {
		Subject: "OTP for {APP_NAME}",
		Body: "Hello,\n\nYour one-time password is: {OTP}\n\n" +
			"If you did not ask for it, you can ignore this email.\n\nThanks,\n{APP_NAME} team\n",
	},
	AuthAlert: {
		Subject: "Sign-in to {APP_NAME} from a new device",
		Body: "Hello,\n\nYour {APP_NAME} account ({RECORD:email}) was just signed in to from a new device or location.\n\n" +
			"If this was you, you can ignore this email. If it was not, change your password at once.\n\nThanks,\n{APP_NAME} team\n",
	},
}

// TemplateFor returns the template kind of the auth collection c: its
// emailTemplates override when one is set, else the default (for a nil
// c too). It fails for an unknown kind.
func TemplateFor(c *db.Collection, kind Kind) (Template, error) {
	t, ok := Defaults[kind]
	if !ok {
		return Template{}, fmt.Errorf("mail: unknown template %q", kind)
	}
	var o *db.AuthOptions
	if c != nil {
		o = c.AuthOpts()
	}
	if o == nil {
		return t, nil
	}
	et := o.EmailTemplates
	var over *db.EmailTemplate
	switch kind {
	case Verification:
		over = et.Verification
	case ResetPassword:
		over = et.ResetPassword
	case ConfirmEmailChange:
		over = et.ConfirmEmailChange
	case OTP:
		over = et.OTP
	case AuthAlert:
		over = et.AuthAlert
	}
	if over != nil {
		t = Template{Subject: over.Subject, Body: over.Body}
	}
	return t, nil
}

// Render returns the message of the template kind of the auth collection
// c (TemplateFor; nil c: the default) for to, with the placeholders
// replaced by meta and v (missing record fields become empty). It fails
// for an unknown kind.
func Render(kind Kind, c *db.Collection, meta Meta, to string, v Vars) (Message, error) {
	t, err := TemplateFor(c, kind)
	if err != nil {
		return Message{}, err
	}
	record := v.Record
	appURL := strings.TrimRight(meta.AppURL, "/")
	fill := func(s string) string {
		s = strings.NewReplacer("{APP_NAME}", meta.AppName, "{APP_URL}", appURL, "{TOKEN}", v.Token, "{OTP}", v.OTP).Replace(s)
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
