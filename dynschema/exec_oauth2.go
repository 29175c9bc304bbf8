package dynschema

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/monobase/monobase/access"
	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/auth"
	"github.com/monobase/monobase/auth/oauth"
	"github.com/monobase/monobase/db"
)

// OAuth2 sign-in (docs/api.md "OAuth2"): the providers, their code
// exchange and the browser redirect flow are package auth/oauth's (on
// go-pkgz/auth); this file links the provider's account to a record, or
// creates one, in the operation's transaction, and ends in finishSignIn
// like every sign-in.

// oauth2Mutation runs <user>AuthWithOAuth2: the code exchange at the
// provider (before any transaction: it waits on the network), then the
// link or the new record, then the token.
func (x *operation) oauth2Mutation(rf *rootField, f graphql.CollectedField, args map[string]any) bool {
	si, err := x.oauth2SignIn(rf, args)
	if err != nil {
		x.fail(err, f.Field)
		return x.nullFor(f.Field, true, true)
	}
	return x.writeSignIn(rf, f, si)
}

func (x *operation) oauth2SignIn(rf *rootField, args map[string]any) (signIn, error) {
	str := func(k string) string { s, _ := args[k].(string); return s }
	ps := x.v.eng.cfg.OAuth2
	if ps == nil {
		return signIn{}, apperr.InvalidFields("OAuth2 sign-in is off", map[string]apperr.FieldError{
			"provider": {Code: "oauth2_disabled", Message: "OAuth2 sign-in is not configured on this server"}})
	}
	p, err := ps.Lookup(rf.t.coll, str("provider"))
	if err != nil {
		return signIn{}, err
	}
	if oauth.OriginOf(str("redirectUrl")) == "" {
		return signIn{}, apperr.InvalidFields("invalid redirectUrl", map[string]apperr.FieldError{
			"redirectUrl": {Code: "invalid", Message: "the absolute http(s) redirect URL of the authorization"}})
	}
	u, err := p.Exchange(x.ctx, str("code"), str("codeVerifier"), str("redirectUrl"))
	if err != nil {
		return signIn{}, err
	}
	createData, _ := args["createData"].(map[string]any)
	if args["createData"] != nil && createData == nil {
		return signIn{}, apperr.InvalidFields("invalid createData", map[string]apperr.FieldError{
			"createData": {Code: "invalid", Message: "an object of the fields of the new record"}})
	}
	rec, isNew, err := x.oauth2Record(rf.t, u, createData)
	if err != nil {
		return signIn{}, err
	}
	si, err := x.finishSignIn(rf, rec, args)
	if err != nil {
		return signIn{}, err
	}
	raw := any(nil)
	if u.Raw != nil {
		raw = map[string]any(u.Raw)
	}
	si.meta = map[string]any{"isNew": isNew, "provider": p.Name, "rawUser": raw}
	return si, nil
}

// oauth2Record returns the record of t that the provider account u signs
// in to, in this order: the record linked to the account; else the
// verified record with the account's email (when the provider vouches for
// it), which gets the link; else a new record (isNew) made from
// createData, the collection's mapped fields and the email, linked too.
// A record with the email that is not verified, or an email the provider
// does not vouch for, is CONFLICT: linking would hand the record to
// whoever controls the other side.
func (x *operation) oauth2Record(t *objType, u oauth.User, createData map[string]any) (db.Record, bool, error) {
	c := t.coll
	tx, err := x.tx()
	if err != nil {
		return nil, false, err
	}
	rec, err := x.linkedRecord(t, u)
	if err != nil || rec != nil {
		if err == nil {
			err = x.acc.CheckAuthRule(x.dbctx, c, rec)
		}
		return rec, false, err
	}
	isNew := false
	if u.Email != "" {
		rec, err = x.d.FindAuthRecord(x.dbctx, c, u.Email)
		switch {
		case err == nil:
			if verified, _ := rec["verified"].(bool); !verified || !u.EmailVerified {
				why := "its email is not verified yet (confirming a verification or a password reset does it)"
				if !u.EmailVerified {
					why = "the " + u.Provider + " account's email is not verified by " + u.Provider
				}
				return nil, false, apperr.New(apperr.Conflict, "a record of %s has the email of this %s account, but %s: sign in to it another way", c.Name, u.Provider, why)
			}
		case apperr.Is(err, apperr.NotFound):
			rec = nil
		default:
			return nil, false, fmt.Errorf("find %s: %w", c.Name, err)
		}
	}
	if rec == nil {
		if rec, err = x.oauth2Create(t, u, createData); err != nil {
			return nil, false, err
		}
		isNew = true
	}
	if err := tx.LinkExternalAuth(c, rec.ID(), u.Provider, u.ID); err != nil {
		return nil, false, err
	}
	if err := x.acc.CheckAuthRule(x.dbctx, c, rec); err != nil {
		return nil, false, err
	}
	return rec, isNew, nil
}

// linkedRecord returns the record linked to u's account, or nil.
func (x *operation) linkedRecord(t *objType, u oauth.User) (db.Record, error) {
	ea, err := x.d.FindExternalAuth(x.dbctx, t.coll.ID, u.Provider, u.ID)
	if apperr.Is(err, apperr.NotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	recs, err := x.d.FindByIDs(x.dbctx, t.coll, []string{ea.RecordRef})
	if err != nil {
		return nil, fmt.Errorf("find %s: %w", t.coll.Name, err)
	}
	if len(recs) == 0 {
		return nil, apperr.New(apperr.Internal, "the %s account is linked to a missing record", u.Provider)
	}
	return recs[0], nil
}

// oauth2Create creates the record of u as createX does (the create rule,
// the input checks, CheckCreated), from createData plus the mapped
// fields and the email the input leaves unset; a random password; and
// verified when the provider vouches for the email. The verified flag is
// the server's, not part of @request.body.
func (x *operation) oauth2Create(t *objType, u oauth.User, createData map[string]any) (db.Record, error) {
	c := t.coll
	if _, err := x.acc.Require(c, access.Create); err != nil {
		return nil, err
	}
	in := make(map[string]any, len(createData)+5)
	var fe apperr.FieldErrors
	for k, v := range createData {
		if p := t.create[k]; p != nil && p.upload {
			fe.Add("createData."+k, "invalid", "files can't be set through createData")
			continue
		}
		in[k] = v
	}
	if err := fe.Err("invalid createData"); err != nil {
		return nil, err
	}
	m := c.AuthOpts().OAuth2.MappedFields
	for field, val := range map[string]string{m.ID: u.ID, m.Name: u.Name, m.Username: u.Username, m.AvatarURL: u.AvatarURL} {
		if f := c.FieldByName(field); f != nil && val != "" && in[field] == nil && textual(f.Type) {
			in[field] = val
		}
	}
	if in["email"] == nil && u.Email != "" {
		in["email"] = u.Email
	}
	rin, err := x.createInput(t, in, "")
	if err != nil {
		return nil, err
	}
	if rin["password"] == nil {
		pw := auth.NewTokenKey()[:30]
		rin["password"], rin["passwordConfirm"] = pw, pw
	}
	if email, _ := rin["email"].(string); u.EmailVerified && strings.EqualFold(email, u.Email) {
		rin["verified"] = true
	}
	rec, err := x.insert(t, rin) // a sign-up runs the create hooks (hooks.go)
	if err != nil {
		if e := apperr.As(err); e != nil && u.Email == "" && e.Fields["email"].Code == "required" {
			e.Fields["email"] = apperr.FieldError{Code: "required", Message: "the " + u.Provider + " account has no email: pass createData.email"}
		}
		return nil, err
	}
	if err := x.acc.CheckCreated(x.dbctx, c, rec.ID(), x.ruleBody(t, access.Create, in, nil)); err != nil {
		return nil, err
	}
	return rec, nil
}

// textual reports whether a field of type ft takes a mapped string.
func textual(ft db.FieldType) bool {
	return ft == db.FieldText || ft == db.FieldEditor || ft == db.FieldURL || ft == db.FieldEmail
}

// unlinkOAuth2 runs <user>UnlinkOAuth2 for the signed-in record.
func (x *operation) unlinkOAuth2(rf *rootField, args map[string]any) error {
	c := rf.t.coll
	v := x.viewer
	if v == nil || v.Record == nil {
		return apperr.New(apperr.Unauthenticated, "sign in to unlink an OAuth2 account")
	}
	if v.Collection == nil || v.Collection.ID != c.ID {
		return apperr.New(apperr.Forbidden, "the token is not one of %s", c.Name)
	}
	tx, err := x.tx()
	if err != nil {
		return err
	}
	provider, _ := args["provider"].(string)
	return tx.UnlinkExternalAuth(c, v.ID(), provider)
}

// writeAuthMeta writes the AuthMeta of a sign-in (null for none).
func (x *operation) writeAuthMeta(sel ast.SelectionSet, meta map[string]any) {
	if meta == nil {
		x.buf = append(x.buf, "null"...)
		return
	}
	x.writeObj("AuthMeta", sel, func(f graphql.CollectedField) {
		if f.Name == "isNew" {
			b, _ := meta["isNew"].(bool)
			x.buf = strconv.AppendBool(x.buf, b)
			return
		}
		x.buf = appendJSON(x.buf, meta[f.Name])
	})
}

// authMethods writes <user>AuthMethods from the collection's options,
// with a fresh state (and PKCE pair) per OAuth2 provider.
func (x *operation) authMethods(rf *rootField, f graphql.CollectedField) bool {
	c := rf.t.coll
	o := c.AuthOpts()
	ps := x.v.eng.cfg.OAuth2
	x.writeObj("AuthMethods", f.Selections, func(g graphql.CollectedField) {
		switch g.Name {
		case "password":
			x.writeObj("PasswordAuthMethod", g.Selections, func(h graphql.CollectedField) {
				if h.Name == "enabled" {
					x.buf = strconv.AppendBool(x.buf, o.PasswordAuth.Enabled)
				} else {
					x.buf = appendJSON(x.buf, o.PasswordAuth.IdentityFields)
				}
			})
		case "oauth2":
			x.writeObj("OAuth2AuthMethod", g.Selections, func(h graphql.CollectedField) {
				if h.Name == "enabled" {
					x.buf = strconv.AppendBool(x.buf, ps != nil && ps.Enabled(c))
					return
				}
				var providers []*oauth.Provider
				if ps != nil {
					providers = ps.List(c)
				}
				x.buf = append(x.buf, '[')
				for i, p := range providers {
					if i > 0 {
						x.buf = append(x.buf, ',')
					}
					x.writeProviderInfo(h.Selections, p.AuthMethod())
				}
				x.buf = append(x.buf, ']')
			})
		case "otp", "mfa":
			enabled, duration, typ := o.OTP.Enabled, o.OTP.Duration, "OTPAuthMethod"
			if g.Name == "mfa" {
				enabled, duration, typ = o.MFA.Enabled, o.MFA.Duration, "MFAAuthMethod"
			}
			x.writeObj(typ, g.Selections, func(h graphql.CollectedField) {
				if h.Name == "enabled" {
					x.buf = strconv.AppendBool(x.buf, enabled)
				} else {
					x.buf = strconv.AppendInt(x.buf, int64(duration), 10)
				}
			})
		default:
			x.buf = append(x.buf, "null"...)
		}
	})
	return true
}

// writeProviderInfo writes one OAuth2ProviderInfo.
func (x *operation) writeProviderInfo(sel ast.SelectionSet, m oauth.AuthMethod) {
	x.writeObj("OAuth2ProviderInfo", sel, func(h graphql.CollectedField) {
		var s string
		switch h.Name {
		case "name":
			s = m.Name
		case "displayName":
			s = m.DisplayName
		case "state":
			s = m.State
		case "authUrl":
			s = m.AuthURL
		case "codeVerifier":
			s = m.CodeVerifier
		case "codeChallenge":
			s = m.CodeChallenge
		case "codeChallengeMethod":
			s = m.CodeChallengeMethod
		}
		if s == "" {
			x.buf = append(x.buf, "null"...) // only the PKCE fields are ever empty
		} else {
			x.buf = appendString(x.buf, s)
		}
	})
}

// writeObj writes an object of the built-in type typeName whose members
// never fail: __typename, then member for each other selected field.
func (x *operation) writeObj(typeName string, sel ast.SelectionSet, member func(graphql.CollectedField)) {
	x.writeObject(graphql.CollectFields(x.oc, sel, []string{typeName}), func(f graphql.CollectedField) bool {
		if f.Name == "__typename" {
			x.buf = appendString(x.buf, typeName)
		} else {
			member(f)
		}
		return true
	})
}

// OAuth2SignIn signs the provider account u in to the auth collection c
// for the browser redirect flow (auth/oauth.Handler): the same link or
// new record and the same checks as <user>AuthWithOAuth2, in a
// transaction of its own, as the client of request r. It returns the
// record's token; a failure changes nothing.
func (e *Engine) OAuth2SignIn(ctx context.Context, r *http.Request, c *db.Collection, u oauth.User) (string, error) {
	v := e.cur.Load()
	t := v.m.byColl[c.ID]
	if t == nil || !t.isAuth || t.readOnly {
		return "", apperr.New(apperr.NotFound, "no auth collection %q", c.Name)
	}
	x := v.newOperation(e.RequestContext(ctx, r), &graphql.OperationContext{Headers: r.Header, Variables: map[string]any{}})
	x.mut = &mutation{}
	rf := &rootField{kind: rkAuthOAuth2, t: t}
	rec, _, err := x.oauth2Record(t, u, nil)
	var si signIn
	if err == nil {
		si, err = x.finishSignIn(rf, rec, map[string]any{})
	}
	if err == nil && x.mut.tx != nil {
		if err = x.mut.tx.Commit(); err != nil {
			err = fmt.Errorf("commit: %w", err)
		} else {
			x.committed() // the after-commit hooks (hooks.go)
		}
	}
	if err != nil {
		if !x.keepFirstFactor() { // MFA_REQUIRED keeps the link or sign-up with the first factor
			x.rollback()
		}
		return "", err
	}
	return si.token, nil
}
