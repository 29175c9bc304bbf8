package access

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/auth"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/db/filter"
)

// Check reports whether the record id of c meets the rule of o for the
// viewer, with body as @request.body (the input under field names, the
// update modifiers applied; nil for none). Mutations call it inside their
// transaction (ctx), so it sees the operation's own writes. A nil rule
// gives false, a rule that does not compile an error.
func (r *Request) Check(ctx context.Context, c *db.Collection, o Op, id string, body map[string]any) (bool, error) {
	dec, err := r.Rule(c, o)
	if err != nil || !dec.Allowed {
		return false, err
	}
	if dec.Where == nil {
		return true, nil
	}
	return r.matches(ctx, c, o, dec.Where, id, body)
}

// matches reports whether the record id of c meets the rule expression e
// with body as @request.body: one read by id.
func (r *Request) matches(ctx context.Context, c *db.Collection, o Op, e filter.Expr, id string, body map[string]any) (bool, error) {
	req := *r.RequestInfo()
	req.Body = body
	recs, _, err := r.d.ReadRecords(ctx, &db.Read{Collection: c, Request: &req, IDs: []string{id}, Rule: e})
	if err != nil {
		var ce *db.CompileError
		if errors.As(err, &ce) {
			return false, apperr.Wrap(ce.Err, "compile the %s rule of %s", o, c.Name)
		}
		return false, fmt.Errorf("read %s by id: %w", c.Name, err)
	}
	return len(recs) > 0, nil
}

// CheckCreated runs the create checks on the record id of c, just
// inserted (inside the transaction of ctx) with body as @request.body: the
// create rule (FORBIDDEN when it fails) and, for auth records, that only
// superusers and managers set verified (BAD_USER_INPUT on verified).
func (r *Request) CheckCreated(ctx context.Context, c *db.Collection, id string, body map[string]any) error {
	ok, err := r.Check(ctx, c, Create, id, body)
	if err != nil {
		return err
	}
	if !ok {
		return apperr.New(apperr.Forbidden, "the create rule of %s does not allow this record", c.Name)
	}
	if !c.IsAuth() || r.Superuser() {
		return nil
	}
	if v, _ := body["verified"].(bool); !v {
		return nil
	}
	managed, err := r.CanManage(ctx, c, id, body)
	if err != nil || managed {
		return err
	}
	return apperr.InvalidFields("invalid input", map[string]apperr.FieldError{
		"verified": {Code: "forbidden", Message: "only superusers and managers of " + c.Name + " can set verified"},
	})
}

// CheckUpdated re-checks the update rule on the record old of c as
// updated (inside the transaction of ctx), with body as @request.body and
// each @request.body.x:changed keeping its value from before the write.
// A failure (or a nil rule) is FORBIDDEN.
func (r *Request) CheckUpdated(ctx context.Context, c *db.Collection, old db.Record, body map[string]any) error {
	dec, err := r.Require(c, Update)
	if err != nil || dec.Where == nil {
		return err
	}
	e := freezeChanged(c, dec.Where, body, old)
	ok, err := r.matches(ctx, c, Update, e, old.ID(), body)
	if err != nil {
		return err
	}
	if !ok {
		return apperr.New(apperr.Forbidden, "the update rule of %s does not allow the record as updated", c.Name)
	}
	return nil
}

// CanManage reports whether the viewer has manage access to the record id
// of the auth collection c (see the package comment on manageRule), with
// body as @request.body.
func (r *Request) CanManage(ctx context.Context, c *db.Collection, id string, body map[string]any) (bool, error) {
	if r.Superuser() {
		return true, nil
	}
	rule := c.ManageRule
	if !c.IsAuth() || rule == nil || strings.TrimSpace(*rule) == "" || r.viewer == nil || r.viewer.Record == nil {
		return false, nil
	}
	e, err := r.rules.Parse(*rule)
	if err != nil {
		return false, err
	}
	return r.matches(ctx, c, Manage, e, id, body)
}

// CheckAuthUpdate checks an update of the auth record old of c for the
// changes that need manage access: body is @request.body (the input under
// field names), oldPassword the current password the client gave, and
// checkPassword compares a password with a record's hash (nil: passwords
// cannot be checked). Without manage access a new password needs the
// current one, and email and verified cannot change: BAD_USER_INPUT on
// those fields. Records of other collections pass.
func (r *Request) CheckAuthUpdate(ctx context.Context, c *db.Collection, old db.Record, body map[string]any, oldPassword string, checkPassword func(db.Record, string) bool) error {
	if !c.IsAuth() || r.Superuser() {
		return nil
	}
	pw, _ := body["password"].(string)
	email, hasEmail := body["email"]
	verified, hasVerified := body["verified"]
	emailChanged := hasEmail && !strings.EqualFold(strOf(email), strOf(old["email"]))
	verifiedChanged := hasVerified && boolOf(verified) != boolOf(old["verified"])
	if pw == "" && !emailChanged && !verifiedChanged {
		return nil
	}
	managed, err := r.CanManage(ctx, c, old.ID(), body)
	if err != nil || managed {
		return err
	}
	var fe apperr.FieldErrors
	if pw != "" {
		switch {
		case oldPassword == "":
			fe.Add("oldPassword", "required", "the current password is required to change the password")
		case checkPassword == nil || !checkPassword(old, oldPassword):
			fe.Add("oldPassword", "invalid", "the current password is not correct")
		}
	}
	if emailChanged {
		fe.Add("email", "forbidden", "only superusers and managers of %s can change the email directly", c.Name)
	}
	if verifiedChanged {
		fe.Add("verified", "forbidden", "only superusers and managers of %s can change verified", c.Name)
	}
	return fe.Err("invalid input")
}

// CheckAuthRule returns FORBIDDEN unless the authRule of c lets rec sign
// in: nil refuses every record, "" admits all, an expression must match
// rec with rec as @request.auth (whoever makes the request).
func (r *Request) CheckAuthRule(ctx context.Context, c *db.Collection, rec db.Record) error {
	denied := apperr.New(apperr.Forbidden, "the records of %s may not sign in this way", c.Name)
	rule := c.AuthRule
	if rule == nil {
		return denied
	}
	if strings.TrimSpace(*rule) == "" {
		return nil
	}
	e, err := r.rules.Parse(*rule)
	if err != nil {
		return err
	}
	as := r.As(&auth.Viewer{Collection: c, Record: rec, Superuser: c.Name == db.SuperusersCollection})
	ok, err := as.matches(ctx, c, Auth, e, rec.ID(), nil)
	if err != nil {
		return err
	}
	if !ok {
		return denied
	}
	return nil
}

func strOf(v any) string { s, _ := v.(string); return s }

func boolOf(v any) bool { b, _ := v.(bool); return b }
