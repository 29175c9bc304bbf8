package dynschema

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/monobase/monobase/auth"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/mail"
	"github.com/monobase/monobase/mail/mailtest"
	"github.com/monobase/monobase/ratelimit"
	"github.com/monobase/monobase/subscriptions"
)

const mailWait = 10 * time.Second // a safety net, not a timing assertion

// mailEnv is an env whose engine sends the flows' emails through a real
// queue and SMTP client to a real SMTP server on 127.0.0.1.
type mailEnv struct {
	*env
	smtp *mailtest.Server
	sent chan error // the queue's result of each message
}

func newMailEnv(t *testing.T, set ...func(*auth.Service)) *mailEnv {
	t.Helper()
	me := &mailEnv{smtp: mailtest.Start(t, mailtest.Options{Username: "mailer", Password: "smtp-pw"}), sent: make(chan error, 100)}
	me.env = newConfigEnv(t, subscriptions.Options{}, func(c *Config) {
		a := c.Auth.(*auth.Service)
		a.MailRequestLimits = ratelimit.SignInLimits{PerIdentity: ratelimit.Limit{Burst: 4, Per: time.Hour}}
		for _, f := range set {
			f(a)
		}
		d := c.DB
		settings := func(ctx context.Context) (mail.Settings, error) { return mail.Load(ctx, d) }
		q := mail.NewQueue(&mail.SMTPClient{Settings: settings}, mail.QueueConfig{Attempts: 2, Backoff: time.Millisecond})
		q.Sent = func(_ mail.Message, err error) { me.sent <- err }
		t.Cleanup(func() { q.Close(context.Background()) })
		c.Mail = &mail.Outbox{Queue: q, Settings: settings}
	})
	err := mail.Save(me.ctx, me.d, mail.Settings{
		Meta: mail.Meta{AppName: "Acme", AppURL: "https://acme.test", SenderName: "Acme", SenderAddress: "no-reply@acme.test"},
		SMTP: mail.SMTP{Enabled: true, Host: me.smtp.Host, Port: me.smtp.Port, Username: "mailer", Password: "smtp-pw", AuthMethod: "LOGIN"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return me
}

// tokenFrom reads the next email, checks its recipient, and returns the
// token of its link to path (confirm-verification, ...).
func (me *mailEnv) tokenFrom(to, path string) string {
	me.t.Helper()
	m := me.smtp.Next(me.t, mailWait)
	if len(m.To) != 1 || m.To[0] != to {
		me.t.Fatalf("email to %q, want %q", m.To, to)
	}
	match := regexp.MustCompile(`https://acme\.test/_/#/auth/` + path + `/([A-Za-z0-9_.-]+)`).FindStringSubmatch(m.Data)
	if match == nil || !strings.Contains(m.Data, "Acme") {
		me.t.Fatalf("no %s link in:\n%s", path, m.Data)
	}
	return match[1]
}

func (me *mailEnv) record(email string) db.Record {
	me.t.Helper()
	c, _ := me.d.Collection("users")
	rec, err := me.d.FindAuthRecord(me.ctx, c, email)
	if err != nil {
		me.t.Fatalf("find %s: %v", email, err)
	}
	return rec
}

// mustBool runs a mutation that answers a Boolean and fails unless true.
func (me *mailEnv) mustBool(token, query string, vars map[string]any) {
	me.t.Helper()
	r := me.gql(token, query, vars).ok(me.t)
	if !strings.Contains(string(r.Data), ":true}") {
		me.t.Fatalf("data = %s", r.Data)
	}
}

// refusedToken runs a confirmation and fails unless it is BAD_USER_INPUT.
func (me *mailEnv) refused(token, query string, vars map[string]any, code string) {
	me.t.Helper()
	r := me.gql(token, query, vars)
	if r.code() != code {
		me.t.Fatalf("want %s, got %s", code, r)
	}
}

const (
	reqVerification  = `mutation($e: String!) { userRequestVerification(email: $e) }`
	confVerification = `mutation($t: String!) { userConfirmVerification(token: $t) }`
	reqReset         = `mutation($e: String!) { userRequestPasswordReset(email: $e) }`
	confReset        = `mutation($t: String!, $p: String!, $c: String!) { userConfirmPasswordReset(token: $t, password: $p, passwordConfirm: $c) }`
	reqChange        = `mutation($e: String!) { userRequestEmailChange(newEmail: $e) }`
	confChange       = `mutation($t: String!, $p: String!) { userConfirmEmailChange(token: $t, password: $p) }`
	refresh          = `mutation { userAuthRefresh { token } }`
	signInQ          = `mutation($i: String!, $p: String!) { userAuthWithPassword(identity: $i, password: $p) { token } }`
)

func TestFlowVerification(t *testing.T) {
	me := newMailEnv(t)
	me.user("ann@example.com")
	// An unknown email answers the same and sends nothing: the next email
	// is Ann's.
	me.mustBool("", reqVerification, map[string]any{"e": "nobody@example.com"})
	me.mustBool("", reqVerification, map[string]any{"e": "ann@example.com"})
	tok := me.tokenFrom("ann@example.com", "confirm-verification")
	if me.smtp.Pending() != 0 {
		t.Fatal("an email was sent for an unknown address")
	}
	// Forged, or a token of another flow: refused, nothing changes.
	me.refused("", confVerification, map[string]any{"t": tok[:len(tok)-2] + "xx"}, "BAD_USER_INPUT")
	me.refused("", confReset, map[string]any{"t": tok, "p": "new-password-1", "c": "new-password-1"}, "BAD_USER_INPUT")
	if v, _ := me.record("ann@example.com")["verified"].(bool); v {
		t.Fatal("a refused token verified the record")
	}
	me.mustBool("", confVerification, map[string]any{"t": tok})
	if v, _ := me.record("ann@example.com")["verified"].(bool); !v {
		t.Fatal("not verified after confirmation")
	}
	r := me.gql("", confVerification, map[string]any{"t": tok})
	if r.code() != "BAD_USER_INPUT" || !strings.Contains(r.Errors[0].Message, "invalid or expired token") {
		t.Fatalf("a used token: %s", r)
	}
}

func TestFlowPasswordReset(t *testing.T) {
	me := newMailEnv(t)
	_, oldToken := me.user("ann@example.com")
	me.mustBool("", reqReset, map[string]any{"e": "ann@example.com"})
	tok := me.tokenFrom("ann@example.com", "confirm-password-reset")
	// A mismatched confirmation changes nothing (the old token still works).
	me.refused("", confReset, map[string]any{"t": tok, "p": "new-password-1", "c": "other-password"}, "BAD_USER_INPUT")
	me.gql(oldToken, refresh, nil).ok(t)
	me.mustBool("", confReset, map[string]any{"t": tok, "p": "new-password-1", "c": "new-password-1"})
	// The record's other tokens are revoked, the new password signs in,
	// and the reset token works once.
	me.refused(oldToken, refresh, nil, "UNAUTHENTICATED")
	me.gql("", signInQ, map[string]any{"i": "ann@example.com", "p": "new-password-1"}).ok(t)
	me.refused("", confReset, map[string]any{"t": tok, "p": "new-password-2", "c": "new-password-2"}, "BAD_USER_INPUT")
	me.gql("", signInQ, map[string]any{"i": "ann@example.com", "p": "new-password-1"}).ok(t)
}

func TestFlowExpiredToken(t *testing.T) {
	// Tokens issued already expired.
	me := newMailEnv(t, func(a *auth.Service) { a.ActionDurations.PasswordReset = -time.Minute })
	_, tok := me.user("ann@example.com")
	me.mustBool("", reqReset, map[string]any{"e": "ann@example.com"})
	expired := me.tokenFrom("ann@example.com", "confirm-password-reset")
	me.refused("", confReset, map[string]any{"t": expired, "p": "new-password-3", "c": "new-password-3"}, "BAD_USER_INPUT")
	me.gql(tok, refresh, nil).ok(t)
	me.gql("", signInQ, map[string]any{"i": "ann@example.com", "p": "password123"}).ok(t)
}

func TestFlowEmailChange(t *testing.T) {
	me := newMailEnv(t)
	_, annToken := me.user("ann@example.com")
	me.user("bob@example.com")
	me.refused("", reqChange, map[string]any{"e": "ann2@example.com"}, "UNAUTHENTICATED")
	me.refused(annToken, reqChange, map[string]any{"e": "bob@example.com"}, "BAD_USER_INPUT")
	me.refused(annToken, reqChange, map[string]any{"e": "not an email"}, "BAD_USER_INPUT")
	me.mustBool(annToken, reqChange, map[string]any{"e": "ann2@example.com"})
	tok := me.tokenFrom("ann2@example.com", "confirm-email-change")
	me.refused("", confChange, map[string]any{"t": tok, "p": "wrong-password"}, "BAD_USER_INPUT")
	me.record("ann@example.com") // unchanged
	me.mustBool("", confChange, map[string]any{"t": tok, "p": "password123"})
	rec := me.record("ann2@example.com")
	if v, _ := rec["verified"].(bool); !v {
		t.Fatal("the new email is not verified")
	}
	me.refused(annToken, refresh, nil, "UNAUTHENTICATED")
	me.refused("", confChange, map[string]any{"t": tok, "p": "password123"}, "BAD_USER_INPUT")
	me.gql("", signInQ, map[string]any{"i": "ann2@example.com", "p": "password123"}).ok(t)
}

func TestFlowSMTPDownAndRateLimit(t *testing.T) {
	me := newMailEnv(t)
	me.user("ann@example.com")
	me.smtp.Close()
	// The answer does not change while the SMTP server is down; the queue
	// tries, then gives up.
	me.mustBool("", reqReset, map[string]any{"e": "ann@example.com"})
	select {
	case err := <-me.sent:
		if err == nil || strings.Contains(err.Error(), "smtp-pw") {
			t.Fatalf("send result = %v", err)
		}
	case <-time.After(mailWait):
		t.Fatal("the queue reported nothing")
	}
	// The request budget: 4 per address, then RATE_LIMITED, the same for
	// an address that exists and one that does not.
	for _, email := range []string{"ann@example.com", "ghost@example.com"} {
		used := 0
		if email == "ann@example.com" {
			used = 1
		}
		for i := used; i < 4; i++ {
			me.mustBool("", reqVerification, map[string]any{"e": email})
		}
		me.refused("", reqReset, map[string]any{"e": email}, "RATE_LIMITED")
	}
}
