package dynschema

import (
	"context"
	"log/slog"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/auth"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/mail"
)

// signInState is what multi-factor sign-in and the new-device alert need
// from the auth service (auth.Service).
type signInState interface {
	StartMFA(ctx context.Context, c *db.Collection, rec db.Record, method string) (string, error)
	FinishMFA(ctx context.Context, c *db.Collection, rec db.Record, mfaID, method string) error
	NewDevice(ctx context.Context, c *db.Collection, rec db.Record, userAgent string) (bool, error)
}

// signInMethod names the sign-in method of a root field kind for
// multi-factor sign-in: "" for a refresh (never a factor); any sign-in
// kind not named here is OAuth2's.
func signInMethod(k rootKind) string {
	switch k {
	case rkAuthRefresh:
		return ""
	case rkAuthPassword:
		return auth.MethodPassword
	case rkAuthOtp:
		return auth.MethodOTP
	}
	return auth.MethodOAuth2
}

// multiFactor applies mfa (docs/api.md "Auth collections") to a sign-in of
// rec that the method of rf has checked: with an mfaId, it must be a
// first factor of rec by another method (it is then used up); without
// one, when mfa.enabled and mfa.rule matches rec, the first factor is
// recorded and the sign-in fails with MFA_REQUIRED and its mfaId.
func (x *operation) multiFactor(rf *rootField, rec db.Record, args map[string]any) error {
	method := signInMethod(rf.kind)
	if method == "" {
		return nil
	}
	c := rf.t.coll
	mfaID, _ := args["mfaId"].(string)
	st, ok := x.v.eng.cfg.Auth.(signInState)
	if mfaID != "" {
		if !ok {
			return apperr.New(apperr.Internal, "multi-factor sign-in is not configured")
		}
		return st.FinishMFA(x.dbctx, c, rec, mfaID, method)
	}
	need, err := x.acc.NeedsMFA(x.dbctx, c, rec)
	if err != nil || !need {
		return err
	}
	if !ok {
		return apperr.New(apperr.Internal, "multi-factor sign-in is not configured")
	}
	if x.mut.tx != nil {
		if x.mut.wroteBefore {
			// Committing the first factor would commit those writes too.
			return apperr.New(apperr.Invalid, "a sign-in that needs a second factor must come before any write of its mutation")
		}
		// The method wrote (an OAuth2 link or sign-up): its writes and the
		// first factor are committed although the mutation fails.
		x.mut.keep = true
	}
	id, err := st.StartMFA(x.dbctx, c, rec, method)
	if err != nil {
		return err
	}
	return apperr.NeedMFA(id)
}

// keepFirstFactor commits the failed mutation's transaction when it holds
// only a sign-in's first factor and the method's own writes (multiFactor),
// and reports whether it did; otherwise the caller rolls back.
func (x *operation) keepFirstFactor() bool {
	tx := x.mut.tx
	if !x.mut.keep || tx == nil {
		return false
	}
	if err := tx.Commit(); err != nil {
		slog.ErrorContext(x.ctx, "auth: commit the first factor of a multi-factor sign-in", "err", err)
		return false
	}
	x.committed() // an OAuth2 sign-up's after-commit hooks (hooks.go)
	return true
}

// alertNewDevice emails the authAlert template to rec when its sign-in
// through rf comes from a device it never signed in from before (and it
// signed in before). Superusers and refreshes are left out, and so is
// everything while SMTP is off; a failure is logged and never fails the
// sign-in.
func (x *operation) alertNewDevice(rf *rootField, rec db.Record) {
	c := rf.t.coll
	st, ok := x.v.eng.cfg.Auth.(signInState)
	if !ok || x.v.eng.cfg.Mail == nil || signInMethod(rf.kind) == "" || c.Name == db.SuperusersCollection ||
		!x.v.eng.cfg.Mail.Sending(x.ctx) {
		return // with SMTP off no alert could go out; devices are not even tracked
	}
	to, _ := rec["email"].(string)
	if to == "" {
		return
	}
	ua := ""
	if r := httpRequestOf(x.ctx); r != nil {
		ua = r.UserAgent()
	}
	isNew, err := st.NewDevice(x.dbctx, c, rec, ua)
	if err != nil {
		slog.ErrorContext(x.ctx, "auth: remember the device of a sign-in", "collection", c.Name, "err", err)
		return
	}
	if isNew {
		x.queueMail(c, mail.AuthAlert, to, mail.Vars{Record: rec})
	}
}
