package dynschema

import (
	"strings"
	"testing"
	"time"

	"github.com/monobase/monobase/db"
)

func mfaOn(rule string) func(o *db.AuthOptions, c *db.Collection) {
	return func(o *db.AuthOptions, c *db.Collection) {
		otpOn(o, c)
		o.MFA = &db.MFAOptions{Enabled: true, Duration: 1800, Rule: rule}
	}
}

// mfaRequired runs a sign-in that must fail with MFA_REQUIRED and no
// token, and returns its extensions.mfaId.
func (me *mailEnv) mfaRequired(query string, vars map[string]any) string {
	me.t.Helper()
	r := me.gql("", query, vars)
	if r.code() != "MFA_REQUIRED" || string(r.Data) != "null" {
		me.t.Fatalf("want MFA_REQUIRED and no data, got %s", r)
	}
	id, _ := r.Errors[0].Extensions["mfaId"].(string)
	if len(id) < 20 {
		me.t.Fatalf("mfaId %q", id)
	}
	return id
}

// mfaRefused runs a sign-in that must fail with BAD_USER_INPUT on mfaId.
func (me *mailEnv) mfaRefused(query string, vars map[string]any, msg string) {
	me.t.Helper()
	r := me.gql("", query, vars)
	fields, _ := func() (map[string]any, bool) {
		if len(r.Errors) == 0 {
			return nil, false
		}
		f, ok := r.Errors[0].Extensions["fields"].(map[string]any)
		return f, ok
	}()
	if r.code() != "BAD_USER_INPUT" || fields["mfaId"] == nil || !strings.Contains(r.Errors[0].Message, msg) || string(r.Data) != "null" {
		me.t.Fatalf("want BAD_USER_INPUT on mfaId (%q), got %s", msg, r)
	}
}

func TestMfaPasswordThenOtp(t *testing.T) {
	me, _ := newOtpEnv(t, mfaOn(""))
	ann, _ := me.user("ann@example.com")
	mfaID := me.mfaRequired(pwSignIn, map[string]any{"i": "ann@example.com", "p": "password123"})
	// A wrong password never gets that far.
	if r := me.gql("", pwSignIn, map[string]any{"i": "ann@example.com", "p": "wrong"}); r.code() != "BAD_USER_INPUT" {
		t.Fatalf("wrong password: %s", r)
	}
	// The same method again is refused, and the mfaId stays usable.
	me.mfaRefused(pwSignIn, map[string]any{"i": "ann@example.com", "p": "password123", "m": mfaID}, "must differ")
	otpID := me.requestOtp("ann@example.com")
	code := me.otpFrom("ann@example.com")
	var out struct {
		UserAuthWithOtp struct {
			Token  string
			Record struct{ ID string }
		} `json:"userAuthWithOtp"`
	}
	me.gql("", otpSignIn, map[string]any{"o": otpID, "p": code, "m": mfaID}).ok(t).decode(t, &out)
	if out.UserAuthWithOtp.Record.ID != ann.ID() || out.UserAuthWithOtp.Token == "" {
		t.Fatalf("signed in as %+v", out.UserAuthWithOtp)
	}
	// A refresh never asks for a second factor; the mfaId is used up.
	me.gql(out.UserAuthWithOtp.Token, refresh, nil).ok(t)
	me.mfaRefused(pwSignIn, map[string]any{"i": "ann@example.com", "p": "password123", "m": mfaID}, "invalid or expired mfaId")
}

func TestMfaOtpThenPassword(t *testing.T) {
	me, _ := newOtpEnv(t, mfaOn(""))
	me.user("ann@example.com")
	otpID := me.requestOtp("ann@example.com")
	mfaID := me.mfaRequired(otpSignIn, map[string]any{"o": otpID, "p": me.otpFrom("ann@example.com")})
	// The first factor's own write stays although the mutation failed: the
	// code proved the email.
	if v, _ := me.record("ann@example.com")["verified"].(bool); !v {
		t.Fatal("the OTP first factor did not verify the email")
	}
	me.gql("", pwSignIn, map[string]any{"i": "ann@example.com", "p": "password123", "m": mfaID}).ok(t)
}

func TestMfaRefusals(t *testing.T) {
	me, clock := newOtpEnv(t, mfaOn(""))
	me.user("ann@example.com")
	me.user("bob@example.com")
	annMfa := me.mfaRequired(pwSignIn, map[string]any{"i": "ann@example.com", "p": "password123"})

	// Ann's mfaId does not finish Bob's sign-in.
	otpID := me.requestOtp("bob@example.com")
	me.mfaRefused(otpSignIn, map[string]any{"o": otpID, "p": me.otpFrom("bob@example.com"), "m": annMfa}, "invalid or expired mfaId")
	// A forged one neither.
	otpID = me.requestOtp("ann@example.com")
	me.mfaRefused(otpSignIn, map[string]any{"o": otpID, "p": me.otpFrom("ann@example.com"), "m": annMfa + "x"}, "invalid or expired mfaId")
	// Past mfa.duration it is expired.
	clock.add(1801 * time.Second)
	otpID = me.requestOtp("ann@example.com")
	me.mfaRefused(otpSignIn, map[string]any{"o": otpID, "p": me.otpFrom("ann@example.com"), "m": annMfa}, "invalid or expired mfaId")
}

func TestMfaRule(t *testing.T) {
	me, _ := newOtpEnv(t, mfaOn(`name = "boss"`))
	me.user("ann@example.com")
	me.user("boss@example.com")
	// The rule does not match Ann: one method is enough.
	me.gql("", pwSignIn, map[string]any{"i": "ann@example.com", "p": "password123"}).ok(t)
	me.mfaRequired(pwSignIn, map[string]any{"i": "boss@example.com", "p": "password123"})
}

func TestMfaMustComeBeforeWrites(t *testing.T) {
	me, _ := newOtpEnv(t, mfaOn(""))
	me.blog()
	me.user("ann@example.com")
	r := me.gql("", `mutation {
		createTag(input: {name: "x"}) { id }
		userAuthWithPassword(identity: "ann@example.com", password: "password123") { token }
	}`, nil)
	if r.code() != "BAD_USER_INPUT" || !strings.Contains(r.Errors[0].Message, "before any write") {
		t.Fatalf("got %s", r)
	}
}
