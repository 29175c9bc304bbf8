package dynschema

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/99designs/gqlgen/graphql"

	"github.com/monobase/monobase/access"
	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/auth"
	"github.com/monobase/monobase/db"
)

// storedFile is a file in the file store.
type storedFile struct{ collectionID, recordID, name string }

// mutation is the state of one mutation operation: all its root fields share
// one transaction, begun at the first write.
type mutation struct {
	tx      *db.Tx
	created []storedFile             // uploads saved by this operation: deleted on rollback
	orphans []storedFile             // files replaced or removed: deleted after the commit
	uploads map[string]*savedUploads // by root field alias: saved before the transaction (uploads.go)
	cur     *savedUploads            // those of the root field being run

	// wroteBefore: a root field before the running one has written.
	// keep: commit despite the failure, which is MFA_REQUIRED after a
	// sign-in method's own writes (exec_mfa.go).
	wroteBefore, keep bool

	nested int // records created by nested inputs (nested.go)

	commits []pendingHook // after-commit hooks of the writes (hooks.go)
}

// runMutation executes the root fields serially in one transaction. Any
// error rolls everything back and the data is null.
func (x *operation) runMutation() *graphql.Response {
	fields := graphql.CollectFields(x.oc, x.oc.Operation.SelectionSet, []string{"Mutation"})
	x.mut = &mutation{}
	if !x.rateLimit(fields, x.v.m.mutation) {
		return &graphql.Response{Data: []byte("null")}
	}
	if !x.saveUploadsFirst(fields) {
		x.rollback()
		return &graphql.Response{Data: []byte("null")}
	}
	written := x.writeObject(fields, func(f graphql.CollectedField) bool {
		before := x.errs
		return x.mutationField(f) && x.errs == before && x.ctx.Err() == nil
	})
	if !written {
		if x.keepFirstFactor() { // exec_mfa.go
			// Committed without the root fields that come after the
			// sign-in: the files stored for them are not used.
			x.deleteUnusedUploads()
		} else {
			x.rollback()
		}
		return &graphql.Response{Data: []byte("null")}
	}
	if tx := x.mut.tx; tx != nil {
		x.orphanDeleted(tx)
		if err := tx.Commit(); err != nil {
			x.rollback()
			x.fail(fmt.Errorf("commit: %w", err), nil)
			return &graphql.Response{Data: []byte("null")}
		}
		for _, sf := range x.mut.orphans {
			x.deleteFile(sf)
		}
		x.committed() // the after-commit hooks (hooks.go)
	}
	x.deleteUnusedUploads()
	return &graphql.Response{Data: x.buf}
}

func (x *operation) rollback() {
	if x.mut.tx != nil {
		if err := x.mut.tx.Rollback(); err != nil {
			slog.ErrorContext(x.ctx, "rollback", "err", err)
		}
	}
	for _, sf := range x.mut.created {
		x.deleteFile(sf)
	}
}

func (x *operation) deleteFile(sf storedFile) {
	fs := x.v.eng.cfg.Files
	if fs == nil {
		return
	}
	if err := fs.Delete(context.WithoutCancel(x.ctx), sf.collectionID, sf.recordID, sf.name); err != nil {
		slog.ErrorContext(x.ctx, "delete file", "collection", sf.collectionID, "record", sf.recordID, "file", sf.name, "err", err)
	}
}

// tx returns the operation's transaction, beginning it on first use.
func (x *operation) tx() (*db.Tx, error) {
	if x.mut.tx == nil {
		tx, err := x.d.Begin(x.ctx)
		if err != nil {
			return nil, fmt.Errorf("begin: %w", err)
		}
		x.mut.tx = tx
		x.dbctx = tx.Context()
	}
	return x.mut.tx, nil
}

func (x *operation) mutationField(f graphql.CollectedField) bool {
	if f.Name == "__typename" {
		x.buf = appendString(x.buf, "Mutation")
		return true
	}
	rf := x.v.m.mutation[f.Name]
	if f.Name == "fileToken" {
		rf = &rootField{kind: rkFileToken}
	}
	if ef := x.v.m.custom["Mutation."+f.Name]; rf == nil && ef != nil {
		return x.customField("Mutation", f, ef) // extend.go
	}
	if rf == nil {
		x.fail(apperr.New(apperr.Internal, "unknown field Mutation.%s", f.Name), f.Field)
		return x.nullFor(f.Field, true, true)
	}
	return x.rootField("Mutation", f, true, func() bool {
		args := f.ArgumentMap(x.oc.Variables)
		var rec db.Record
		var err error
		t := rf.t
		x.mut.cur = x.mut.uploads[f.Alias]
		x.mut.wroteBefore = x.mut.tx != nil
		switch rf.kind {
		case rkCreate:
			rec, err = x.create(t, args)
		case rkUpdate:
			rec, err = x.update(t, args)
		case rkDelete:
			rec, err = x.delete(t, args)
		case rkAuthPassword, rkAuthRefresh, rkAuthOtp:
			return x.authMutation(rf, f, args)
		case rkRequestOtp:
			return x.requestOtp(rf, f, args)
		case rkAuthOAuth2:
			return x.oauth2Mutation(rf, f, args)
		case rkUnlinkOAuth2:
			err := x.unlinkOAuth2(rf, args)
			if err != nil {
				x.fail(err, f.Field)
				return x.nullFor(f.Field, true, true)
			}
			x.buf = strconv.AppendBool(x.buf, true)
			return true
		case rkFileToken:
			return x.fileToken(f)
		case rkRequestVerification, rkConfirmVerification, rkRequestPasswordReset,
			rkConfirmPasswordReset, rkRequestEmailChange, rkConfirmEmailChange:
			ok, err := x.flowMutation(rf, args)
			if err != nil {
				x.fail(err, f.Field)
				return x.nullFor(f.Field, true, true)
			}
			x.buf = strconv.AppendBool(x.buf, ok)
			return true
		}
		if err != nil {
			x.fail(err, f.Field)
			return x.nullFor(f.Field, true, true)
		}
		lv := x.load(t, f.Selections, []db.Record{rec})
		if !x.writeRecord(lv, rec) {
			return x.nullFor(f.Field, true, true)
		}
		return true
	})
}

func inputArg(args map[string]any) map[string]any {
	m, _ := args["input"].(map[string]any)
	return m
}

func (x *operation) create(t *objType, args map[string]any) (db.Record, error) {
	if _, err := x.acc.Require(t.coll, access.Create); err != nil {
		return nil, err
	}
	if _, err := x.tx(); err != nil {
		return nil, err
	}
	in, err := x.nestedInput(t, inputArg(args), false) // the nested records first (nested.go)
	if err != nil {
		return nil, err
	}
	id, _ := in["id"].(string)
	if su := x.mut.cur; su != nil {
		id = su.id // the files were stored under it
	} else if id == "" && hasUploads(t.create, in) {
		id = newID()
	}
	rec, err := x.createRecord(t, in, id)
	if err != nil {
		return nil, err
	}
	if x.mut.cur != nil {
		x.mut.cur.used = true
	}
	return rec, nil
}

// viewable returns the record id of t if the viewer may view it, else
// NOT_FOUND (existence is not revealed).
func (x *operation) viewable(t *objType, id string) (db.Record, error) {
	notFound := apperr.New(apperr.NotFound, "%s %q not found", t.name, id)
	dec, err := x.acc.Rule(t.coll, access.View)
	if err != nil {
		return nil, err
	}
	if !dec.Allowed {
		return nil, notFound
	}
	recs, err := x.findByIDs(t, []string{id}, dec.Where)
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, notFound
	}
	return recs[0], nil
}

// guard runs the checks of an update or delete in the order of docs/api.md: a
// nil rule is FORBIDDEN, a record the viewer cannot view NOT_FOUND, a rule
// that denies FORBIDDEN. It returns the record as it is.
func (x *operation) guard(t *objType, o access.Op, id string, body map[string]any) (db.Record, error) {
	if _, err := x.acc.Require(t.coll, o); err != nil {
		return nil, err
	}
	if _, err := x.tx(); err != nil {
		return nil, err
	}
	old, err := x.viewable(t, id)
	if err != nil {
		return nil, err
	}
	ok, err := x.acc.Check(x.dbctx, t.coll, o, id, x.ruleBody(t, o, body, old))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, apperr.New(apperr.Forbidden, "the %s rule of %s does not allow this", o, t.coll.Name)
	}
	return old, nil
}

func (x *operation) update(t *objType, args map[string]any) (db.Record, error) {
	id, _ := args["id"].(string)
	in := inputArg(args)
	if hasNested(t.update, in) {
		// A missing or forbidden record fails before its nested records
		// are created (nested.go).
		if err := x.updatable(t, id); err != nil {
			return nil, err
		}
		var err error
		if in, err = x.nestedInput(t, in, true); err != nil {
			return nil, err
		}
	}
	old, err := x.guard(t, access.Update, id, in)
	if err != nil {
		return nil, err
	}
	in, body, err := x.authInput(t, old, in)
	if err != nil {
		return nil, err
	}
	patch, err := x.updatePatch(t, in, id)
	if err != nil {
		return nil, err
	}
	rec, err := x.updateRec(t, old, patch) // through the update hooks (hooks.go)
	if err != nil {
		return nil, err
	}
	if x.mut.cur != nil {
		x.mut.cur.used = true
	}
	if err := x.acc.CheckUpdated(x.dbctx, t.coll, old, body); err != nil {
		return nil, err
	}
	x.orphanFiles(t.coll, old, rec)
	return rec, nil
}

func (x *operation) delete(t *objType, args map[string]any) (db.Record, error) {
	id, _ := args["id"].(string)
	old, err := x.guard(t, access.Delete, id, nil)
	if err != nil {
		return nil, err
	}
	// Its files, and those of the records its delete cascades to, are
	// scheduled for deletion before the commit (orphanDeleted).
	return x.deleteRec(t, old) // through the delete hooks (hooks.go)
}

// orphanDeleted schedules the files of every record tx deleted, cascade
// deletes included, for deletion after the commit.
func (x *operation) orphanDeleted(tx *db.Tx) {
	for _, ev := range tx.Deleted() {
		x.orphanFiles(ev.Collection, ev.Record, nil)
	}
}

// orphanFiles schedules the files of old (a record of c) that rec no
// longer has (nil: all of them) for deletion after the commit.
func (x *operation) orphanFiles(c *db.Collection, old, rec db.Record) {
	for _, f := range c.Fields {
		if f.Type != db.FieldFile {
			continue
		}
		keep := map[string]bool{}
		if rec != nil {
			for _, n := range db.StringList(rec[f.Name]) {
				keep[n] = true
			}
		}
		for _, n := range db.StringList(old[f.Name]) {
			if !keep[n] {
				x.mut.orphans = append(x.mut.orphans, storedFile{c.ID, old.ID(), n})
			}
		}
	}
}

// newID returns a random record id: 15 characters of [a-z0-9].
func newID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	var b [15]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:])
}

// signIn is a finished sign-in: the record, its token, and what the
// method tells about it (UserAuth.meta; nil for none).
type signIn struct {
	rec   db.Record
	token string
	meta  map[string]any
}

// authMutation runs the sign-in mutations (<user>AuthWithPassword,
// <user>AuthRefresh): the method finds and checks the record, then
// finishSignIn issues the token.
func (x *operation) authMutation(rf *rootField, f graphql.CollectedField, args map[string]any) bool {
	var si signIn
	rec, err := x.authRecord(rf, args)
	if err == nil {
		si, err = x.finishSignIn(rf, rec, args)
	}
	if err != nil {
		x.fail(err, f.Field)
		return x.nullFor(f.Field, true, true)
	}
	return x.writeSignIn(rf, f, si)
}

// writeSignIn writes the <T>Auth object of a finished sign-in:
// { token record meta }.
func (x *operation) writeSignIn(rf *rootField, f graphql.CollectedField, si signIn) bool {
	t, rec, token := rf.t, si.rec, si.token
	sub := graphql.CollectFields(x.oc, f.Selections, []string{t.name + "Auth"})
	x.buf = append(x.buf, '{')
	for i, s := range sub {
		if i > 0 {
			x.buf = append(x.buf, ',')
		}
		x.buf = appendKey(x.buf, s.Alias)
		switch s.Name {
		case "__typename":
			x.buf = appendString(x.buf, t.name+"Auth")
		case "token":
			x.buf = appendString(x.buf, token)
		case "record":
			// The signed-in record sees itself (email included).
			saved, savedAcc := x.viewer, x.acc
			x.setViewer(&auth.Viewer{Collection: t.coll, Record: rec})
			x.push(s.Alias)
			lv := x.load(t, s.Selections, []db.Record{rec})
			ok := x.writeRecord(lv, rec)
			x.pop()
			x.viewer, x.acc = saved, savedAcc
			if !ok {
				return x.nullFor(f.Field, true, true)
			}
		case "meta":
			x.writeAuthMeta(s.Selections, si.meta)
		default:
			x.buf = append(x.buf, "null"...)
		}
	}
	x.buf = append(x.buf, '}')
	return true
}

// finishSignIn issues the token of rec, which a sign-in method of rf has
// found and checked: every method ends here, so what applies to all of them
// (multi-factor sign-in, alerts) goes here.
func (x *operation) finishSignIn(rf *rootField, rec db.Record, args map[string]any) (signIn, error) {
	a := x.v.eng.cfg.Auth
	if a == nil {
		return signIn{}, apperr.New(apperr.Internal, "authentication is not configured")
	}
	if err := x.multiFactor(rf, rec, args); err != nil { // exec_mfa.go
		return signIn{}, err
	}
	// The auth hooks run around the issue of the token (hooks.go).
	token, err := x.signInHooks(rf, rec, func() (string, error) { return a.IssueToken(rf.t.coll, rec) })
	if err != nil {
		return signIn{}, err
	}
	x.alertNewDevice(rf, rec)
	return signIn{rec: rec, token: token}, nil
}

// authRecord finds and checks the record to sign in.
func (x *operation) authRecord(rf *rootField, args map[string]any) (db.Record, error) {
	t := rf.t
	if rf.kind == rkAuthRefresh {
		v := x.viewer
		if v == nil {
			return nil, apperr.New(apperr.Unauthenticated, "sign in first")
		}
		if v.Collection == nil || v.Collection.ID != t.coll.ID {
			return nil, apperr.New(apperr.Forbidden, "the token is not one of %s", t.coll.Name)
		}
		if v.Impersonated {
			return nil, apperr.New(apperr.Forbidden, "an impersonation token can't be refreshed")
		}
		recs, _, err := x.d.ReadRecords(x.dbctx, &db.Read{Collection: t.coll, IDs: []string{v.ID()}})
		if err != nil {
			return nil, fmt.Errorf("reload %s: %w", t.coll.Name, err)
		}
		if len(recs) == 0 {
			return nil, apperr.New(apperr.Unauthenticated, "the signed-in record no longer exists")
		}
		if err := x.acc.CheckAuthRule(x.dbctx, t.coll, recs[0]); err != nil {
			return nil, err
		}
		return recs[0], nil
	}
	if rf.kind == rkAuthOtp {
		return x.otpRecord(rf, args) // exec_otp.go
	}
	pa := t.coll.AuthOpts().PasswordAuth
	if !pa.Enabled {
		return nil, apperr.New(apperr.Forbidden, "password sign-in is disabled for %s (passwordAuth.enabled)", t.coll.Name)
	}
	invalid := apperr.New(apperr.Invalid, "invalid credentials")
	identity, _ := args["identity"].(string)
	password, _ := args["password"].(string)
	a := x.v.eng.cfg.Auth
	if a == nil {
		return nil, apperr.New(apperr.Internal, "authentication is not configured")
	}
	// The failed sign-in budgets are checked before any lookup or hash.
	if err := a.SignInAllowed(x.ctx, t.coll, identity); err != nil {
		return nil, err
	}
	rec, err := x.d.FindAuthRecordByIdentity(x.dbctx, t.coll, pa.IdentityFields, identity)
	if err != nil {
		if apperr.Is(err, apperr.NotFound) || apperr.Is(err, apperr.Invalid) {
			// A check against no record costs as much as a real one (auth
			// compares a dummy hash), so timing does not reveal the identity.
			a.CheckPassword(nil, password)
			a.SignInFailed(x.ctx, t.coll, identity)
			return nil, invalid
		}
		return nil, fmt.Errorf("find %s: %w", t.coll.Name, err)
	}
	if !a.CheckPassword(rec, password) {
		a.SignInFailed(x.ctx, t.coll, identity)
		return nil, invalid
	}
	if err := x.acc.CheckAuthRule(x.dbctx, t.coll, rec); err != nil {
		return nil, err
	}
	return rec, nil
}

// fileToken issues a short-lived token that lets the signed-in record (or
// superuser) download protected files through ?token=.
func (x *operation) fileToken(f graphql.CollectedField) bool {
	v := x.viewer
	var token string
	var err error = apperr.New(apperr.Unauthenticated, "sign in to get a file token")
	if v != nil && x.v.eng.cfg.Auth != nil {
		token, err = x.v.eng.cfg.Auth.IssueFileToken(v.Collection, v.Record)
	}
	if err != nil {
		x.fail(err, f.Field)
		return x.nullFor(f.Field, true, true)
	}
	x.buf = appendString(x.buf, token)
	return true
}
