package dynschema

import (
	"errors"
	"maps"
	"slices"

	"github.com/monobase/monobase/access"
	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/auth"
	"github.com/monobase/monobase/db"
)

// Access rules are decided by the access package (its package comment
// says what each rule means); this file adapts the engine to it: the
// checker of an operation, @request.body from a mutation's input, and the
// errors of the reads that db compiles.
//
// How the engine applies them: relations and back-relations apply the
// target's rules at every depth: a related record the viewer may not view
// reads null (a multi relation leaves it out), a back-relation lists only
// what the viewer may list. The relation's own ids (authorId, tagsIds) are
// the source record's values and are returned whatever the target's
// rules, as in PocketBase. A client's where/filter/sort through a relation
// joins the target's list rule (db compiles it), so hidden records neither
// match nor order. A mutation's payload is the record as written (delete:
// as it was), its relations under their rules again.
//
// @request.body holds the input under the field names, with the update
// modifiers applied as PocketBase does: `viewsIncrement: 2` reads as
// `views` = old + 2, `tagsAppend`/`tagsRemove` as the resulting `tags`
// (ruleBody). Uploaded files are not part of @request.body.
//
// Every collection change is checked inside its transaction: on a running
// engine by its OnSchemaChange hook (prepare: access.ValidateRules, then
// the build), by schema import through Validate (the same checks, no
// engine).

// setAccess sets up the access checker of the operation for its viewer,
// with @request.context reqContext ("" for "default"), inside x (no
// allocation of its own).
func (x *operation) setAccess(reqContext string) {
	info := access.Info{Method: "POST", Context: reqContext}
	if r := httpRequestOf(x.ctx); r != nil {
		info.Method = r.Method
		if r.URL != nil {
			info.RawQuery = r.URL.RawQuery
		}
	}
	if x.oc != nil {
		info.Headers = x.oc.Headers
	}
	x.accBuf = *access.New(x.d, &x.v.rules, x.viewer, info)
	x.acc = &x.accBuf
}

// withRequest returns r with @request set when something in it is
// compiled (a rule, a filter, a sort, a join's rule): building @request
// (the headers, the query) is left out of the reads that need none.
func (x *operation) withRequest(r *db.Read) *db.Read {
	need := r.Rule != nil || len(r.Filters) > 0 || len(r.Sort) > 0
	for i := 0; i < len(r.Joins) && !need; i++ {
		need = r.Joins[i].Rule != nil
	}
	if need && r.Request == nil {
		r.Request = x.acc.RequestInfo()
	}
	return r
}

// setViewer makes viewer the operation's viewer (and the access checker's).
func (x *operation) setViewer(viewer *auth.Viewer) {
	x.viewer = viewer
	x.acc = x.acc.As(viewer)
}

// readErr returns the error of a read of c: a rule that does not compile
// as an internal error naming the collection, a filter or sort as
// BAD_USER_INPUT on that argument (invalidArg); others unchanged.
func readErr(c *db.Collection, err error) error {
	var ce *db.CompileError
	if !errors.As(err, &ce) {
		return err
	}
	switch ce.Part {
	case "filter", "sort":
		return invalidArg(ce.Part, ce.Err)
	}
	return apperr.Wrap(ce.Err, "compile the %s of %s", ce.Part, c.Name)
}

// ruleBody is @request.body for a create or update of t with the input in
// (old: the stored record of an update): values under their field names in
// the form db.RecordInput documents, the update modifiers applied (views =
// old views + viewsIncrement, tags = old tags + tagsAppend - tagsRemove),
// uploads left out. A nil input gives a nil body.
func (x *operation) ruleBody(t *objType, o access.Op, in map[string]any, old db.Record) map[string]any {
	if in == nil {
		return nil
	}
	plans := t.update
	if o == access.Create {
		plans = t.create
	}
	body := make(map[string]any, len(in))
	var mods []string
	for k, v := range in {
		p := plans[k]
		switch {
		case p == nil:
			body[k] = v
		case p.kind == inScalar || p.kind == inPassword:
			if !p.upload {
				body[p.col] = inputValue(p, v)
			}
		default:
			mods = append(mods, k)
		}
	}
	slices.Sort(mods) // Append before Increment before Remove: a stable order
	cur := func(col string) any {
		if v, ok := body[col]; ok {
			return v
		}
		return old[col]
	}
	for _, k := range mods {
		p, v := plans[k], in[k]
		if v == nil || p.upload {
			continue
		}
		switch p.kind {
		case inInc:
			base, _ := db.ToFloat(cur(p.col))
			n, _ := db.ToFloat(v)
			body[p.col] = base + n
		case inAppend:
			body[p.col] = append(slices.Clone(db.StringList(cur(p.col))), db.StringList(inputValue(p, v))...)
		case inRemove:
			drop := db.StringList(inputValue(p, v))
			body[p.col] = slices.DeleteFunc(slices.Clone(db.StringList(cur(p.col))), func(s string) bool { return slices.Contains(drop, s) })
		}
	}
	return body
}

// authInput checks the update input in of the auth record old of t for
// the changes that need manage access (access.CheckAuthUpdate) and returns
// the input without oldPassword, which is not a field, and its
// @request.body. Bad input is BAD_USER_INPUT with the field.
func (x *operation) authInput(t *objType, old db.Record, in map[string]any) (map[string]any, map[string]any, error) {
	if !t.isAuth {
		return in, x.ruleBody(t, access.Update, in, old), nil
	}
	oldPassword, hasOld := in["oldPassword"]
	if hasOld {
		in = maps.Clone(in)
		delete(in, "oldPassword")
	}
	body := x.ruleBody(t, access.Update, in, old)
	var check func(db.Record, string) bool
	if a := x.v.eng.cfg.Auth; a != nil {
		check = a.CheckPassword
	}
	s, _ := oldPassword.(string)
	if err := x.acc.CheckAuthUpdate(x.dbctx, t.coll, old, body, s, check); err != nil {
		return in, body, err
	}
	return in, body, nil
}
