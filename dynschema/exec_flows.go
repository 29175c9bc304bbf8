package dynschema

import (
	"context"
	"fmt"
	"log/slog"
	netmail "net/mail"
	"strings"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/auth"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/mail"
)

// Mailer is what the email flows need: the meta settings of the templates
// and a queue that sends off the request path (mail.Outbox).
type Mailer interface {
	// Meta returns the current meta settings (app name, app URL).
	Meta(ctx context.Context) (mail.Meta, error)
	// Enqueue queues m and reports whether it was queued.
	Enqueue(m mail.Message) bool
	// Sending reports whether email can go out (SMTP is enabled).
	Sending(ctx context.Context) bool
}

// flowAuth is what the email flows need from the auth service.
type flowAuth interface {
	IssueActionToken(c *db.Collection, rec db.Record, a auth.Action, newEmail string) (string, error)
	ParseActionToken(ctx context.Context, c *db.Collection, token string, a auth.Action) (db.Record, string, error)
	MailRequestAllowed(ctx context.Context, c *db.Collection, identity string) error
}

// flowMutation runs the email flows of an auth collection (docs/api.md
// "Auth collections: options and flows"); every one answers a Boolean.
func (x *operation) flowMutation(rf *rootField, args map[string]any) (bool, error) {
	fa, ok := x.v.eng.cfg.Auth.(flowAuth)
	if !ok {
		return false, apperr.New(apperr.Internal, "authentication is not configured")
	}
	c := rf.t.coll
	str := func(k string) string { s, _ := args[k].(string); return s }
	switch rf.kind {
	case rkRequestVerification:
		return true, x.requestMail(fa, c, str("email"), auth.ActionVerification, mail.Verification)
	case rkRequestPasswordReset:
		return true, x.requestMail(fa, c, str("email"), auth.ActionPasswordReset, mail.ResetPassword)
	case rkRequestEmailChange:
		return true, x.requestEmailChange(fa, rf, str("newEmail"))
	case rkConfirmVerification:
		return true, x.confirm(fa, c, str("token"), auth.ActionVerification, func(rec db.Record, _ string) (db.RecordInput, error) {
			return db.RecordInput{"verified": true}, nil
		})
	case rkConfirmPasswordReset:
		return true, x.confirm(fa, c, str("token"), auth.ActionPasswordReset, func(rec db.Record, _ string) (db.RecordInput, error) {
			// A new password rotates tokenKey (db), revoking every token;
			// the link proved the email, so it is verified too.
			return db.RecordInput{"password": str("password"), "passwordConfirm": str("passwordConfirm"), "verified": true}, nil
		})
	case rkConfirmEmailChange:
		return true, x.confirm(fa, c, str("token"), auth.ActionEmailChange, func(rec db.Record, newEmail string) (db.RecordInput, error) {
			return x.emailChangeInput(c, rec, newEmail, str("password"))
		})
	}
	return false, apperr.New(apperr.Internal, "unknown flow")
}

// requestMail queues the email of action for the record with email, if
// any. The answer is the same whether or not the record exists (no
// enumeration): only the request budget or a database failure is an error.
func (x *operation) requestMail(fa flowAuth, c *db.Collection, email string, a auth.Action, kind mail.Kind) error {
	email = strings.TrimSpace(email)
	if err := fa.MailRequestAllowed(x.ctx, c, strings.ToLower(email)); err != nil {
		return err
	}
	if email == "" {
		return nil
	}
	rec, err := x.d.FindAuthRecord(x.dbctx, c, email)
	if apperr.Is(err, apperr.NotFound) || apperr.Is(err, apperr.Invalid) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("find %s: %w", c.Name, err)
	}
	if verified, _ := rec["verified"].(bool); verified && a == auth.ActionVerification {
		return nil
	}
	to, _ := rec["email"].(string)
	x.sendFlowMail(fa, c, rec, a, kind, to, "")
	return nil
}

// requestEmailChange queues the confirmation of newEmail to newEmail, for
// the signed-in record of the collection.
func (x *operation) requestEmailChange(fa flowAuth, rf *rootField, newEmail string) error {
	c := rf.t.coll
	v := x.viewer
	if v == nil {
		return apperr.New(apperr.Unauthenticated, "sign in to change your email")
	}
	if v.Collection == nil || v.Collection.ID != c.ID {
		return apperr.New(apperr.Forbidden, "the token is not one of %s", c.Name)
	}
	newEmail = strings.TrimSpace(newEmail)
	if err := checkNewEmail(x.d, x.dbctx, c, v.Record, newEmail); err != nil {
		return err
	}
	if err := fa.MailRequestAllowed(x.ctx, c, v.ID()); err != nil {
		return err
	}
	x.sendFlowMail(fa, c, v.Record, auth.ActionEmailChange, mail.ConfirmEmailChange, newEmail, newEmail)
	return nil
}

// checkNewEmail returns a BAD_USER_INPUT error on newEmail when it is not
// an address, is the record's own or another record's.
func checkNewEmail(d *db.DB, dbctx context.Context, c *db.Collection, rec db.Record, newEmail string) error {
	bad := func(code, msg string) error {
		return apperr.InvalidFields("invalid new email", map[string]apperr.FieldError{"newEmail": {Code: code, Message: msg}})
	}
	if a, err := netmail.ParseAddress(newEmail); err != nil || a.Address != newEmail || len(newEmail) > 254 {
		return bad("invalid_email", "must be an email address")
	}
	if cur, _ := rec["email"].(string); strings.EqualFold(cur, newEmail) {
		return bad("same_email", "is already the record's email")
	}
	switch _, err := d.FindAuthRecord(dbctx, c, newEmail); {
	case err == nil:
		return bad("not_unique", "is already in use")
	case !apperr.Is(err, apperr.NotFound):
		return fmt.Errorf("find %s: %w", c.Name, err)
	}
	return nil
}

// sendFlowMail issues the token and queues the email (queueMail). A
// failure is logged and never reaches the caller, whose answer must not
// depend on whether the email exists.
func (x *operation) sendFlowMail(fa flowAuth, c *db.Collection, rec db.Record, a auth.Action, kind mail.Kind, to, newEmail string) {
	token, err := fa.IssueActionToken(c, rec, a, newEmail)
	if err != nil {
		slog.ErrorContext(x.ctx, "mail: issue token", "collection", c.Name, "action", a, "err", err)
		return
	}
	x.queueMail(c, kind, to, mail.Vars{Token: token, Record: rec})
}

// confirm checks token for action in the operation's transaction and
// applies the change that patch returns; a bad token changes nothing.
func (x *operation) confirm(fa flowAuth, c *db.Collection, token string, a auth.Action, patch func(rec db.Record, newEmail string) (db.RecordInput, error)) error {
	tx, err := x.tx()
	if err != nil {
		return err
	}
	rec, newEmail, err := fa.ParseActionToken(x.dbctx, c, token, a)
	if err != nil {
		return err
	}
	set, err := patch(rec, newEmail)
	if err != nil {
		return err
	}
	if _, err := tx.Update(c, rec.ID(), db.RecordPatch{Set: set}); err != nil {
		return err
	}
	return nil
}

// emailChangeInput checks the record's password (within the sign-in
// budgets) and that newEmail is still free, and returns the change: the
// new email, verified, and a new tokenKey that revokes every token.
func (x *operation) emailChangeInput(c *db.Collection, rec db.Record, newEmail, password string) (db.RecordInput, error) {
	a := x.v.eng.cfg.Auth
	email, _ := rec["email"].(string)
	if err := a.SignInAllowed(x.ctx, c, email); err != nil {
		return nil, err
	}
	if !a.CheckPassword(rec, password) {
		a.SignInFailed(x.ctx, c, email)
		return nil, apperr.InvalidFields("invalid password", map[string]apperr.FieldError{"password": {Code: "invalid_password", Message: "is not the record's password"}})
	}
	if newEmail == "" {
		return nil, apperr.New(apperr.Invalid, "invalid or expired token: ask for a new email")
	}
	switch _, err := x.d.FindAuthRecord(x.dbctx, c, newEmail); {
	case err == nil:
		return nil, apperr.InvalidFields("invalid new email", map[string]apperr.FieldError{"newEmail": {Code: "not_unique", Message: "is already in use"}})
	case !apperr.Is(err, apperr.NotFound):
		return nil, fmt.Errorf("find %s: %w", c.Name, err)
	}
	return db.RecordInput{"email": newEmail, "verified": true, "tokenKey": auth.NewTokenKey()}, nil
}
