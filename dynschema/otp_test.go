package dynschema

import (
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/monobase/monobase/auth"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/ratelimit"
)

const (
	reqOtp     = `mutation($e: String!) { userRequestOtp(email: $e) { otpId __typename } }`
	otpSignIn  = `mutation($o: String!, $p: String!, $m: String) { userAuthWithOtp(otpId: $o, password: $p, mfaId: $m) { token record { id verified } } }`
	pwSignIn   = `mutation($i: String!, $p: String!, $m: String) { userAuthWithPassword(identity: $i, password: $p, mfaId: $m) { token record { id } } }`
	otpMessage = "invalid or expired one-time password"
)

// testClock is the auth service's clock in these tests: it stands still
// until moved.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// newOtpEnv is a mailEnv whose auth service runs on a test clock, with
// sign-in budgets too large to interfere, and whose users collection has
// the auth options of set applied.
func newOtpEnv(t *testing.T, set func(o *db.AuthOptions, c *db.Collection)) (*mailEnv, *testClock) {
	t.Helper()
	clock := &testClock{now: time.Now()}
	me := newMailEnv(t, func(a *auth.Service) {
		a.Now = clock.Now
		big := ratelimit.Limit{Burst: 1000, Per: time.Hour}
		a.SignInLimits = ratelimit.SignInLimits{PerIdentity: big, PerIP: big}
		a.MailRequestLimits = ratelimit.SignInLimits{PerIdentity: big, PerIP: big}
	})
	me.setAuth(set)
	return me, clock
}

// setAuth changes the users collection: set gets empty auth options (nil
// groups stay as they are) and a copy of the collection for fields and
// indexes.
func (me *mailEnv) setAuth(set func(o *db.AuthOptions, c *db.Collection)) {
	me.t.Helper()
	cur, err := me.d.Collection("users")
	if err != nil {
		me.t.Fatal(err)
	}
	c := *cur
	c.Fields = slices.Clone(cur.Fields)
	c.Indexes = slices.Clone(cur.Indexes)
	o := &db.AuthOptions{}
	set(o, &c)
	c.Auth = o
	if _, err := me.d.UpdateCollection(me.ctx, "users", &c); err != nil {
		me.t.Fatalf("update users: %v", err)
	}
}

func otpOn(o *db.AuthOptions, _ *db.Collection) {
	o.OTP = &db.OTPOptions{Enabled: true, Duration: 180, Length: 8}
}

// requestOtp asks for a code for email and returns the otpId.
func (me *mailEnv) requestOtp(email string) string {
	me.t.Helper()
	var out struct {
		UserRequestOtp struct{ OtpID, Typename string } `json:"userRequestOtp"`
	}
	me.gql("", reqOtp, map[string]any{"e": email}).ok(me.t).decode(me.t, &out)
	if !regexp.MustCompile(`^[a-z0-9]{15}$`).MatchString(out.UserRequestOtp.OtpID) {
		me.t.Fatalf("otpId %q is not an id", out.UserRequestOtp.OtpID)
	}
	return out.UserRequestOtp.OtpID
}

// otpFrom reads the next email, checks its recipient, and returns the
// code of the default OTP template.
func (me *mailEnv) otpFrom(to string) string {
	me.t.Helper()
	m := me.smtp.Next(me.t, mailWait)
	if len(m.To) != 1 || m.To[0] != to {
		me.t.Fatalf("email to %q, want %q", m.To, to)
	}
	match := regexp.MustCompile(`one-time password is: ([0-9]+)`).FindStringSubmatch(m.Data)
	if match == nil || !strings.Contains(m.Data, "Subject: OTP for Acme") {
		me.t.Fatalf("no code in:\n%s", m.Data)
	}
	if len(match[1]) != 8 {
		me.t.Fatalf("code %q: want 8 digits", match[1])
	}
	return match[1]
}

// otpErr runs an OTP sign-in that must fail with BAD_USER_INPUT and the
// one message of a bad code.
func (me *mailEnv) otpErr(otpID, code string) {
	me.t.Helper()
	r := me.gql("", otpSignIn, map[string]any{"o": otpID, "p": code})
	if r.code() != "BAD_USER_INPUT" || !strings.Contains(r.Errors[0].Message, otpMessage) || string(r.Data) != "null" {
		me.t.Fatalf("want BAD_USER_INPUT %q, got %s", otpMessage, r)
	}
}

func wrongCode(code string) string {
	if code[0] == '9' {
		return "0" + code[1:]
	}
	return string(code[0]+1) + code[1:]
}

func TestOtpSignIn(t *testing.T) {
	me, _ := newOtpEnv(t, otpOn)
	ann, _ := me.user("ann@example.com")
	otpID := me.requestOtp("ann@example.com")
	code := me.otpFrom("ann@example.com")

	me.otpErr(otpID, wrongCode(code))
	if v, _ := me.record("ann@example.com")["verified"].(bool); v {
		t.Fatal("a wrong code verified the record")
	}
	var out struct {
		UserAuthWithOtp struct {
			Token  string
			Record struct {
				ID       string
				Verified bool
			}
		} `json:"userAuthWithOtp"`
	}
	me.gql("", otpSignIn, map[string]any{"o": otpID, "p": code}).ok(t).decode(t, &out)
	got := out.UserAuthWithOtp
	if got.Record.ID != ann.ID() || !got.Record.Verified || got.Token == "" {
		t.Fatalf("signed in as %+v", got)
	}
	// The code proved the email: the record is verified, and the token
	// works.
	if v, _ := me.record("ann@example.com")["verified"].(bool); !v {
		t.Fatal("not verified after an OTP sign-in")
	}
	me.gql(got.Token, refresh, nil).ok(t)
	// A code works once.
	me.otpErr(otpID, code)
}

func TestOtpDisabled(t *testing.T) {
	me := newMailEnv(t)
	me.user("ann@example.com")
	for _, r := range []*gqlResp{
		me.gql("", reqOtp, map[string]any{"e": "ann@example.com"}),
		me.gql("", otpSignIn, map[string]any{"o": "abcdefghijklmno", "p": "12345678"}),
	} {
		if r.code() != "FORBIDDEN" || !strings.Contains(r.Errors[0].Message, "otp.enabled") {
			t.Fatalf("want FORBIDDEN naming otp.enabled, got %s", r)
		}
	}
	if me.smtp.Pending() != 0 {
		t.Fatal("an email was sent")
	}
}

func TestOtpUnknownEmail(t *testing.T) {
	me, _ := newOtpEnv(t, otpOn)
	me.user("ann@example.com")
	// An unknown email gets a well-formed otpId and no email: the next
	// email is Ann's.
	fake := me.requestOtp("nobody@example.com")
	me.requestOtp("ann@example.com")
	code := me.otpFrom("ann@example.com")
	if me.smtp.Pending() != 0 {
		t.Fatal("an email was sent for an unknown address")
	}
	// Signing in with it fails exactly as a wrong code does, whatever the
	// code (Ann's included).
	me.otpErr(fake, code)
	me.otpErr(fake, "00000000")
	me.otpErr("not-an-otp-id", code)
	// Bad input is refused as such.
	if r := me.gql("", reqOtp, map[string]any{"e": "not an email"}); r.code() != "BAD_USER_INPUT" {
		t.Fatalf("a malformed email: %s", r)
	}
}

func TestOtpAttemptsExhausted(t *testing.T) {
	me, _ := newOtpEnv(t, otpOn)
	me.user("ann@example.com")
	otpID := me.requestOtp("ann@example.com")
	code := me.otpFrom("ann@example.com")
	for range auth.MaxOTPAttempts {
		me.otpErr(otpID, wrongCode(code))
	}
	// Spent: even the right code is refused now, and nothing changed.
	me.otpErr(otpID, code)
	if v, _ := me.record("ann@example.com")["verified"].(bool); v {
		t.Fatal("a spent code verified the record")
	}
	// A new code works.
	otpID = me.requestOtp("ann@example.com")
	me.gql("", otpSignIn, map[string]any{"o": otpID, "p": me.otpFrom("ann@example.com")}).ok(t)
}

func TestOtpExpired(t *testing.T) {
	me, clock := newOtpEnv(t, otpOn)
	me.user("ann@example.com")
	otpID := me.requestOtp("ann@example.com")
	code := me.otpFrom("ann@example.com")
	clock.add(181 * time.Second) // otp.duration is 180 s
	me.otpErr(otpID, code)
	if v, _ := me.record("ann@example.com")["verified"].(bool); v {
		t.Fatal("an expired code verified the record")
	}
	// Within the duration a code works.
	otpID = me.requestOtp("ann@example.com")
	code = me.otpFrom("ann@example.com")
	clock.add(179 * time.Second)
	me.gql("", otpSignIn, map[string]any{"o": otpID, "p": code}).ok(t)
}

func TestOtpOfDeletedRecord(t *testing.T) {
	me, _ := newOtpEnv(t, otpOn)
	ann, _ := me.user("ann@example.com")
	otpID := me.requestOtp("ann@example.com")
	code := me.otpFrom("ann@example.com")
	users, _ := me.d.Collection("users")
	tx, err := me.d.Begin(me.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Delete(users, ann.ID()); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	// Deleting the record deleted its codes.
	me.otpErr(otpID, code)
}

func TestOtpTemplateOverride(t *testing.T) {
	me, _ := newOtpEnv(t, func(o *db.AuthOptions, c *db.Collection) {
		otpOn(o, c)
		o.EmailTemplates = &db.EmailTemplates{OTP: &db.EmailTemplate{
			Subject: "Your {APP_NAME} code",
			Body:    "Hi {RECORD:name}, your code: [{OTP}] ({RECORD:password})",
		}}
	})
	me.user("ann@example.com")
	otpID := me.requestOtp("ann@example.com")
	m := me.smtp.Next(t, mailWait)
	if !strings.Contains(m.Data, "Subject: Your Acme code") {
		t.Fatalf("subject not overridden:\n%s", m.Data)
	}
	match := regexp.MustCompile(`Hi ann, your code: \[([0-9]{8})\] \(\)`).FindStringSubmatch(m.Data)
	if match == nil {
		t.Fatalf("body not overridden:\n%s", m.Data)
	}
	me.gql("", otpSignIn, map[string]any{"o": otpID, "p": match[1]}).ok(t)
}

func TestOtpSMTPDown(t *testing.T) {
	me, _ := newOtpEnv(t, otpOn)
	me.user("ann@example.com")
	me.smtp.Close()
	// The answer is the same while the SMTP server is down.
	me.requestOtp("ann@example.com")
	me.requestOtp("nobody@example.com")
	select {
	case err := <-me.sent:
		if err == nil {
			t.Fatal("sent to a closed server")
		}
	case <-time.After(mailWait):
		t.Fatal("the queue reported nothing")
	}
}

func TestOtpMustComeBeforeWrites(t *testing.T) {
	me, _ := newOtpEnv(t, otpOn)
	me.blog()
	me.user("ann@example.com")
	otpID := me.requestOtp("ann@example.com")
	code := me.otpFrom("ann@example.com")
	// After a write, the attempt would roll back with the operation: refused.
	r := me.gql("", `mutation($o: String!, $p: String!) {
		createTag(input: {name: "x"}) { id }
		userAuthWithOtp(otpId: $o, password: $p) { token }
	}`, map[string]any{"o": otpID, "p": wrongCode(code)})
	if r.code() != "BAD_USER_INPUT" || !strings.Contains(r.Errors[0].Message, "before any write") {
		t.Fatalf("got %s", r)
	}
	// Two OTP sign-ins in one operation are refused before anything runs.
	r = me.gql("", `mutation($o: String!, $p: String!) {
		a: userAuthWithOtp(otpId: $o, password: $p) { token }
		b: userAuthWithOtp(otpId: $o, password: "00000000") { token }
	}`, map[string]any{"o": otpID, "p": code})
	if r.code() != "BAD_USER_INPUT" || !strings.Contains(r.Errors[0].Message, "only once") {
		t.Fatalf("got %s", r)
	}
	me.gql("", otpSignIn, map[string]any{"o": otpID, "p": code}).ok(t)
}
