package dynschema

import (
	"context"
	"fmt"
	"log/slog"
	netmail "net/mail"
	"strings"

	"github.com/99designs/gqlgen/graphql"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/mail"
)

// otpAuth is what sign-in with a one-time password needs from the auth
// service (auth.Service).
type otpAuth interface {
	RequestOTP(ctx context.Context, c *db.Collection, rec db.Record, sentTo string) (otpID, code string, err error)
	CheckOTP(ctx context.Context, c *db.Collection, otpID, code string) (recordID string, err error)
	MailRequestAllowed(ctx context.Context, c *db.Collection, identity string) error
}

// otpService returns the auth service's OTP side when c has otp.enabled,
// else a FORBIDDEN error.
func (x *operation) otpService(c *db.Collection) (otpAuth, error) {
	oa, ok := x.v.eng.cfg.Auth.(otpAuth)
	if !ok {
		return nil, apperr.New(apperr.Internal, "authentication is not configured")
	}
	if o := c.AuthOpts(); o == nil || !o.OTP.Enabled {
		return nil, apperr.New(apperr.Forbidden, "sign-in with a one-time password is not enabled for %s (otp.enabled)", c.Name)
	}
	return oa, nil
}

// requestOtp runs <user>RequestOtp and writes its OtpRequest.
func (x *operation) requestOtp(rf *rootField, f graphql.CollectedField, args map[string]any) bool {
	otpID, err := x.newOtp(rf.t.coll, args)
	if err != nil {
		x.fail(err, f.Field)
		return x.nullFor(f.Field, true, true)
	}
	x.buf = append(x.buf, '{')
	for i, s := range graphql.CollectFields(x.oc, f.Selections, []string{"OtpRequest"}) {
		if i > 0 {
			x.buf = append(x.buf, ',')
		}
		x.buf = appendKey(x.buf, s.Alias)
		switch s.Name {
		case "__typename":
			x.buf = appendString(x.buf, "OtpRequest")
		case "otpId":
			x.buf = appendString(x.buf, otpID)
		default:
			x.buf = append(x.buf, "null"...)
		}
	}
	x.buf = append(x.buf, '}')
	return true
}

// newOtp stores a one-time password for the record with the email of args
// and queues it by email. An unknown email gets an otpId all the same,
// stored alike, and no email (no enumeration): only bad input, the
// request budget or a database failure is an error.
func (x *operation) newOtp(c *db.Collection, args map[string]any) (string, error) {
	oa, err := x.otpService(c)
	if err != nil {
		return "", err
	}
	email, _ := args["email"].(string)
	email = strings.TrimSpace(email)
	if a, err := netmail.ParseAddress(email); err != nil || a.Address != email || len(email) > 254 {
		return "", apperr.InvalidFields("invalid email", map[string]apperr.FieldError{"email": {Code: "invalid_email", Message: "must be an email address"}})
	}
	if err := oa.MailRequestAllowed(x.ctx, c, strings.ToLower(email)); err != nil {
		return "", err
	}
	rec, err := x.d.FindAuthRecord(x.dbctx, c, email)
	switch {
	case apperr.Is(err, apperr.NotFound):
		rec = nil
	case err != nil:
		return "", fmt.Errorf("find %s: %w", c.Name, err)
	}
	// x.dbctx carries the operation's transaction when it has one (the
	// code is then stored with its other writes), else the code is stored
	// at once.
	otpID, code, err := oa.RequestOTP(x.dbctx, c, rec, email)
	if err != nil {
		return "", err
	}
	if rec != nil {
		to, _ := rec["email"].(string)
		x.queueMail(c, mail.OTP, to, mail.Vars{OTP: code, Record: rec})
	}
	return otpID, nil
}

// otpRecord finds the record that <user>AuthWithOtp signs in: the one of
// the emailed code, which is spent (each attempt counted whatever the
// outcome of the operation, so it must not ride in a transaction).
func (x *operation) otpRecord(rf *rootField, args map[string]any) (db.Record, error) {
	c := rf.t.coll
	oa, err := x.otpService(c)
	if err != nil {
		return nil, err
	}
	if x.mut.tx != nil {
		return nil, apperr.New(apperr.Invalid, "a sign-in with a one-time password must come before any write of its mutation")
	}
	otpID, _ := args["otpId"].(string)
	code, _ := args["password"].(string)
	a := x.v.eng.cfg.Auth
	// The failed sign-in budgets are checked before the code is.
	if err := a.SignInAllowed(x.ctx, c, otpID); err != nil {
		return nil, err
	}
	id, err := oa.CheckOTP(x.ctx, c, otpID, code)
	if apperr.Is(err, apperr.Invalid) {
		a.SignInFailed(x.ctx, c, otpID)
	}
	if err != nil {
		return nil, err
	}
	recs, err := x.d.FindByIDs(x.dbctx, c, []string{id})
	if err != nil {
		return nil, fmt.Errorf("find %s: %w", c.Name, err)
	}
	if len(recs) == 0 {
		return nil, apperr.New(apperr.Invalid, "the record of this one-time password no longer exists")
	}
	if err := x.acc.CheckAuthRule(x.dbctx, c, recs[0]); err != nil {
		return nil, err
	}
	// The code proved the email; this stays even when a second factor is
	// then required (multiFactor keeps a method's own writes).
	return x.markVerified(c, recs[0])
}

// markVerified sets verified on rec in the operation's transaction, and
// returns the record as stored.
func (x *operation) markVerified(c *db.Collection, rec db.Record) (db.Record, error) {
	if v, _ := rec["verified"].(bool); v {
		return rec, nil
	}
	tx, err := x.tx()
	if err != nil {
		return nil, err
	}
	return tx.Update(c, rec.ID(), db.RecordPatch{Set: db.RecordInput{"verified": true}})
}

// queueMail renders the template kind of c for to and queues it. A
// failure is logged and never reaches the caller, whose answer must not
// depend on whether the email exists.
func (x *operation) queueMail(c *db.Collection, kind mail.Kind, to string, v mail.Vars) {
	m := x.v.eng.cfg.Mail
	if m == nil {
		slog.WarnContext(x.ctx, "mail: no mailer configured, email not sent", "collection", c.Name, "template", kind)
		return
	}
	meta, err := m.Meta(x.ctx)
	if err != nil {
		slog.ErrorContext(x.ctx, "mail: load settings", "err", err)
		return
	}
	msg, err := mail.Render(kind, c, meta, to, v)
	if err != nil {
		slog.ErrorContext(x.ctx, "mail: render", "template", kind, "err", err)
		return
	}
	m.Enqueue(msg)
}
