package dynschema

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/auth"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/db/filter"
)

// Access rules, the one place that decides who may do what (API.md
// "Access rules"). Superusers bypass every rule. For everyone else:
//
//   - a nil rule is superusers only: the operation is FORBIDDEN (a relation
//     or back-relation to such a collection reads as null / []);
//   - "" lets anyone, anonymous included;
//   - an expression is compiled (with the viewer as @request.auth) into a
//     SQL condition with bound parameters that the records must meet: a
//     list leaves out the rows that fail, a single read or a relation reads
//     null, a mutation is FORBIDDEN.
//
// Relations and back-relations apply the target's rules at every depth: a
// related record the viewer may not view reads null (a multi relation
// leaves it out), a back-relation lists only what the viewer may list.
// The relation's own ids (authorId, tagsIds) are the source record's
// values and are returned whatever the target's rules, as in PocketBase.
// A client's where/filter/sort through a relation joins the target's list
// rule (db.CompileFilter), so hidden records neither match nor order. A
// mutation's payload is the record as written (delete: as it was), its
// relations under their rules again.
//
// The checks of a mutation run in the order of API.md "Details that tests
// hold the project to", inside the operation's transaction:
//
//   - create: a nil create rule is FORBIDDEN; the record is inserted, then
//     the rule is evaluated on the inserted row with @request.body = the
//     submitted values; failing rolls the whole operation back (FORBIDDEN).
//   - update: a nil update rule is FORBIDDEN; a record the viewer cannot
//     view (view rule) is NOT_FOUND; the update rule evaluated on the stored
//     record with @request.body = the input is FORBIDDEN when it fails; after
//     the write the rule is evaluated again on the updated row (so a viewer
//     cannot move a record out of its own reach, e.g. hand it to another
//     author under `author = @request.auth.id`), with each
//     @request.body.x:changed keeping the value it had before the write.
//   - delete: as update, without the second check.
//
// @request.body holds the input under the field names, with the update
// modifiers applied as PocketBase does: `viewsIncrement: 2` reads as
// `views` = old + 2, `tagsAppend`/`tagsRemove` as the resulting `tags`.
// Uploaded files are not part of @request.body (as in PocketBase).
//
// Auth collections add two rules:
//
//   - authRule: who may sign in (with a password, and refresh a token).
//     nil refuses every record (FORBIDDEN), "" admits every record whose
//     password matches, an expression must match the record with that
//     record as @request.auth. It is checked after the password, so it
//     reveals nothing about unknown identities.
//   - manageRule: who may manage other records of the collection like a
//     superuser. Without manage access (superusers always have it; otherwise
//     a non-empty manageRule evaluated on the stored record must match a
//     signed-in viewer; nil and "" give it to nobody, as in PocketBase),
//     changing `password` requires `oldPassword` (the current password of
//     the record), and `email` and `verified` cannot be changed by update,
//     nor `verified` set to true by create (BAD_USER_INPUT on that field).
//
// @request.method is the HTTP method, @request.context "default" for HTTP
// requests, "realtime" for subscription events and "protectedFile" for file
// downloads; @request.headers.* are the request headers (names lower-case
// with "-" as "_", first value) and @request.query.* the URL query of the
// /graphql request (first value).
//
// Every collection change (admin API, schema import) compiles every rule
// against the collections as they will be (validateRules, called from the
// engine's OnSchemaChange hook): a rule naming a missing field or
// collection, or a change that would break an existing rule (a dropped
// field, a deleted collection), is refused with BAD_USER_INPUT naming the
// rule, the collection and the position, and nothing changes.

// op is an operation a rule guards.
type op uint8

const (
	opList op = iota
	opView
	opCreate
	opUpdate
	opDelete
	opAuth
	opManage
)

var opVerbs = [...]string{"list", "view", "create", "update", "delete", "sign in to", "manage"}

// ruleOf returns the rule of c that guards o.
func ruleOf(c *db.Collection, o op) *string {
	switch o {
	case opList:
		return c.ListRule
	case opView:
		return c.ViewRule
	case opCreate:
		return c.CreateRule
	case opUpdate:
		return c.UpdateRule
	case opDelete:
		return c.DeleteRule
	case opAuth:
		return c.AuthRule
	case opManage:
		return c.ManageRule
	}
	return nil
}

type accessKey struct {
	c     *db.Collection
	o     op
	alias string
}

type accessResult struct {
	cond *db.Cond
	ok   bool
	err  error
}

// forbidden is the error for an operation whose rule is nil.
func forbidden(c *db.Collection, o op) error {
	return apperr.New(apperr.Forbidden, "only superusers may %s %s", opVerbs[o], c.Name)
}

// isSuperuser reports whether the viewer bypasses the rules.
func (x *exec) isSuperuser() bool { return x.viewer != nil && x.viewer.Superuser }

// ruleExpr returns the parsed rule guarding o on c for the viewer: ok is
// false when the viewer may not perform o at all; expr is nil when every
// record passes.
func (x *exec) ruleExpr(c *db.Collection, o op) (expr filter.Expr, ok bool, err error) {
	if x.isSuperuser() {
		return nil, true, nil
	}
	rule := ruleOf(c, o)
	if rule == nil {
		return nil, false, nil
	}
	if strings.TrimSpace(*rule) == "" {
		return nil, true, nil
	}
	e, err := x.v.parsedRule(*rule)
	if err != nil {
		return nil, false, err
	}
	return e, true, nil
}

// access returns the condition (for the table alias "r") that records must
// meet for the viewer to perform o on t's collection; nil means all do.
// ok is false when the rule is nil and the viewer is not a superuser.
func (x *exec) access(t *objType, o op) (*db.Cond, bool, error) {
	return x.accessAs(t.coll, o, "r")
}

// accessAs is access for another table alias. Results are cached for the
// operation (the viewer and the request do not change within one).
func (x *exec) accessAs(c *db.Collection, o op, alias string) (*db.Cond, bool, error) {
	key := accessKey{c: c, o: o, alias: alias}
	if r, ok := x.accessCache[key]; ok {
		return r.cond, r.ok, r.err
	}
	var res accessResult
	e, ok, err := x.ruleExpr(c, o)
	res.ok, res.err = ok, err
	if err == nil && ok && e != nil {
		cond, cerr := x.d.CompileRule(c, alias, e, x.requestInfo())
		if cerr != nil {
			res.ok, res.err = false, apperr.Wrap(cerr, "compile the %s rule of %s", opVerbs[o], c.Name)
		} else {
			res.cond = &cond
		}
	}
	if x.accessCache == nil {
		x.accessCache = map[accessKey]accessResult{}
	}
	x.accessCache[key] = res
	return res.cond, res.ok, res.err
}

// checkRecord reports whether the record id of t meets the rule of o, with
// body as @request.body (see ruleBody). Mutations call it inside their
// transaction, so it sees the operation's own writes.
func (x *exec) checkRecord(t *objType, o op, id string, body map[string]any) (bool, error) {
	e, ok, err := x.ruleExpr(t.coll, o)
	if err != nil || !ok {
		return false, err
	}
	if e == nil {
		return true, nil
	}
	return x.matches(t, o, e, id, body)
}

// matches reports whether the record id of t meets the rule expression e.
func (x *exec) matches(t *objType, o op, e filter.Expr, id string, body map[string]any) (bool, error) {
	req := *x.requestInfo()
	req.Body = body
	cond, err := x.d.CompileRule(t.coll, "r", e, &req)
	if err != nil {
		return false, apperr.Wrap(err, "compile the %s rule of %s", opVerbs[o], t.coll.Name)
	}
	recs, err := x.findByIDs(t, []string{id}, &cond)
	if err != nil {
		return false, err
	}
	return len(recs) > 0, nil
}

// checkCreated runs the create checks on rec, just inserted (inside the
// transaction) from the input in: the create rule with @request.body = in
// (FORBIDDEN when it fails) and, for auth records, that only superusers and
// managers set verified (BAD_USER_INPUT).
func (x *exec) checkCreated(t *objType, rec db.Record, in map[string]any) error {
	body := x.ruleBody(t, opCreate, in, nil)
	ok, err := x.checkRecord(t, opCreate, rec.ID(), body)
	if err != nil {
		return err
	}
	if !ok {
		return apperr.New(apperr.Forbidden, "the create rule of %s does not allow this record", t.coll.Name)
	}
	if !t.isAuth || x.isSuperuser() {
		return nil
	}
	if v, _ := in["verified"].(bool); !v {
		return nil
	}
	managed, err := x.canManage(t, rec.ID(), body)
	if err != nil || managed {
		return err
	}
	return apperr.InvalidFields("invalid input", map[string]apperr.FieldError{
		"verified": {Code: "forbidden", Message: "only superusers and managers of " + t.coll.Name + " can set verified"},
	})
}

// checkUpdated re-checks the update rule on the record id as updated by
// in (inside the transaction), with @request.body as before the write and
// each @request.body.x:changed keeping its value from before the write
// (old is the record as it was). A failure is FORBIDDEN.
func (x *exec) checkUpdated(t *objType, old db.Record, in map[string]any) error {
	e, ok, err := x.ruleExpr(t.coll, opUpdate)
	if err != nil {
		return err
	}
	if !ok {
		return forbidden(t.coll, opUpdate)
	}
	if e == nil {
		return nil
	}
	body := x.ruleBody(t, opUpdate, in, old)
	e = freezeChanged(t.coll, e, body, old)
	ok, err = x.matches(t, opUpdate, e, old.ID(), body)
	if err != nil {
		return err
	}
	if !ok {
		return apperr.New(apperr.Forbidden, "the update rule of %s does not allow the record as updated", t.coll.Name)
	}
	return nil
}

// canManage reports whether the viewer has manage access to the record id
// of the auth collection of t (see the package comment on manageRule).
func (x *exec) canManage(t *objType, id string, body map[string]any) (bool, error) {
	if x.isSuperuser() {
		return true, nil
	}
	r := t.coll.ManageRule
	if !t.isAuth || r == nil || strings.TrimSpace(*r) == "" || x.viewer == nil || x.viewer.Record == nil {
		return false, nil
	}
	e, err := x.v.parsedRule(*r)
	if err != nil {
		return false, err
	}
	return x.matches(t, opManage, e, id, body)
}

// authInput checks the update input in of the auth record old for the
// changes that need manage access (see the package comment) and returns the
// input without oldPassword, which is not a field. Bad input is
// BAD_USER_INPUT with the field.
func (x *exec) authInput(t *objType, old db.Record, in map[string]any) (map[string]any, error) {
	if !t.isAuth {
		return in, nil
	}
	oldPassword, hasOld := in["oldPassword"]
	if hasOld {
		in = maps.Clone(in)
		delete(in, "oldPassword")
	}
	if x.isSuperuser() {
		return in, nil
	}
	pw, _ := in["password"].(string)
	email, hasEmail := in["email"]
	verified, hasVerified := in["verified"]
	emailChanged := hasEmail && !strings.EqualFold(strOf(email), strOf(old["email"]))
	verifiedChanged := hasVerified && boolOf(verified) != boolOf(old["verified"])
	if pw == "" && !emailChanged && !verifiedChanged {
		return in, nil
	}
	managed, err := x.canManage(t, old.ID(), x.ruleBody(t, opUpdate, in, old))
	if err != nil || managed {
		return in, err
	}
	var fe apperr.FieldErrors
	if pw != "" {
		s, _ := oldPassword.(string)
		switch {
		case s == "":
			fe.Add("oldPassword", "required", "the current password is required to change the password")
		case x.v.eng.cfg.Auth == nil || !x.v.eng.cfg.Auth.CheckPassword(old, s):
			fe.Add("oldPassword", "invalid", "the current password is not correct")
		}
	}
	if emailChanged {
		fe.Add("email", "forbidden", "only superusers and managers of %s can change the email directly", t.coll.Name)
	}
	if verifiedChanged {
		fe.Add("verified", "forbidden", "only superusers and managers of %s can change verified", t.coll.Name)
	}
	return in, fe.Err("invalid input")
}

// checkAuthRule returns FORBIDDEN unless the authRule of t lets rec sign
// in: nil refuses every record, "" admits all, an expression must match
// rec with rec as @request.auth (whoever makes the request).
func (x *exec) checkAuthRule(t *objType, rec db.Record) error {
	denied := apperr.New(apperr.Forbidden, "the records of %s may not sign in this way", t.coll.Name)
	rule := t.coll.AuthRule
	if rule == nil {
		return denied
	}
	if strings.TrimSpace(*rule) == "" {
		return nil
	}
	saved, savedReq, savedCache := x.viewer, x.req, x.accessCache
	x.viewer = &auth.Viewer{Collection: t.coll, Record: rec, Superuser: t.coll.Name == db.SuperusersCollection}
	x.req, x.accessCache = nil, nil
	defer func() { x.viewer, x.req, x.accessCache = saved, savedReq, savedCache }()
	e, err := x.v.parsedRule(*rule)
	if err != nil {
		return err
	}
	ok, err := x.matches(t, opAuth, e, rec.ID(), nil)
	if err != nil {
		return err
	}
	if !ok {
		return denied
	}
	return nil
}

// ruleBody is @request.body for a create or update of t with the input in
// (old: the stored record of an update): values under their field names in
// the form db.RecordInput documents, the update modifiers applied (views =
// old views + viewsIncrement, tags = old tags + tagsAppend - tagsRemove),
// uploads left out. A nil input gives a nil body.
func (x *exec) ruleBody(t *objType, o op, in map[string]any, old db.Record) map[string]any {
	if in == nil {
		return nil
	}
	plans := t.update
	if o == opCreate {
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
			base, _ := toFloat(cur(p.col))
			n, _ := toFloat(v)
			body[p.col] = base + n
		case inAppend:
			body[p.col] = append(slices.Clone(stringList(cur(p.col))), stringList(inputValue(p, v))...)
		case inRemove:
			drop := stringList(inputValue(p, v))
			body[p.col] = slices.DeleteFunc(slices.Clone(stringList(cur(p.col))), func(s string) bool { return slices.Contains(drop, s) })
		}
	}
	return body
}

// freezeChanged returns e with every @request.body.<field>:changed replaced
// by its value for the stored record old (true when the body sets the
// field to a different value), for evaluating the rule on the record as
// updated. e itself (shared, cached) is not modified.
func freezeChanged(c *db.Collection, e filter.Expr, body map[string]any, old db.Record) filter.Expr {
	var operand func(o filter.Operand) (filter.Operand, bool)
	operand = func(o filter.Operand) (filter.Operand, bool) {
		switch o := o.(type) {
		case *filter.Ident:
			if o.Modifier != filter.ModChanged || len(o.Parts) != 3 || o.Parts[0] != "@request" || o.Parts[1] != "body" {
				return o, false
			}
			f := c.FieldByName(o.Parts[2])
			if f == nil {
				return o, false
			}
			v, set := body[f.Name]
			return &filter.Literal{Value: set && !sameValue(f, v, old[f.Name]), Pos: o.Pos}, true
		case *filter.Call:
			var args []filter.Operand
			for i, a := range o.Args {
				na, ch := operand(a)
				if ch && args == nil {
					args = slices.Clone(o.Args)
				}
				if args != nil {
					args[i] = na
				}
			}
			if args == nil {
				return o, false
			}
			return &filter.Call{Name: o.Name, Args: args, Pos: o.Pos}, true
		}
		return o, false
	}
	var expr func(e filter.Expr) (filter.Expr, bool)
	expr = func(e filter.Expr) (filter.Expr, bool) {
		switch e := e.(type) {
		case *filter.Group:
			var items []filter.Expr
			for i, it := range e.Items {
				ni, ch := expr(it)
				if ch && items == nil {
					items = slices.Clone(e.Items)
				}
				if items != nil {
					items[i] = ni
				}
			}
			if items == nil {
				return e, false
			}
			return &filter.Group{Op: e.Op, Items: items}, true
		case *filter.Not:
			nx, ch := expr(e.X)
			if !ch {
				return e, false
			}
			return &filter.Not{X: nx}, true
		case *filter.Compare:
			l, lch := operand(e.Left)
			r, rch := operand(e.Right)
			if !lch && !rch {
				return e, false
			}
			return &filter.Compare{Left: l, Op: e.Op, Right: r, Pos: e.Pos}, true
		}
		return e, false
	}
	out, _ := expr(e)
	return out
}

// sameValue reports whether the body value a and the stored value b of f
// are equal under the filter language's rules (null, "" and [] are the
// same empty value; dates in any accepted layout).
func sameValue(f *db.Field, a, b any) bool {
	return canonValue(f, a) == canonValue(f, b)
}

func canonValue(f *db.Field, v any) string {
	if f.Multiple() {
		l := stringList(v)
		if len(l) == 0 {
			return ""
		}
		b, _ := json.Marshal(l)
		return string(b)
	}
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		if f.Type == db.FieldDate || f.Type == db.FieldAutodate {
			for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"} {
				if tm, err := time.Parse(layout, t); err == nil {
					return db.FormatDate(tm)
				}
			}
		}
		return t
	case bool:
		if t {
			return "1"
		}
		return "0"
	}
	if n, ok := toFloat(v); ok {
		return strconv.FormatFloat(n, 'g', -1, 64)
	}
	if f.Type == db.FieldGeoPoint {
		v, _ = geoPointOf(v)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func strOf(v any) string { s, _ := v.(string); return s }

func boolOf(v any) bool { b, _ := v.(bool); return b }

// httpQueryKey carries the raw URL query of the /graphql request in ctx
// (@request.query.*).
type httpQueryKey struct{}

// withRequestQuery returns ctx carrying r's URL query for @request.query.
func withRequestQuery(ctx context.Context, r *http.Request) context.Context {
	if r.URL == nil || r.URL.RawQuery == "" {
		return ctx
	}
	return context.WithValue(ctx, httpQueryKey{}, r.URL.RawQuery)
}

// requestInfo is @request for rules and filters, built once per operation.
func (x *exec) requestInfo() *db.RequestInfo {
	if x.req != nil {
		return x.req
	}
	r := &db.RequestInfo{Method: requestMethod(x.ctx), Context: x.reqContext}
	if r.Context == "" {
		r.Context = "default"
	}
	if v := x.viewer; v != nil {
		r.AuthCollection = v.Collection
		r.Auth = v.Record
		r.Superuser = v.Superuser
	}
	if x.oc != nil && len(x.oc.Headers) > 0 {
		r.Headers = make(map[string]string, len(x.oc.Headers))
		for k, vs := range x.oc.Headers {
			if len(vs) > 0 {
				r.Headers[strings.ReplaceAll(strings.ToLower(k), "-", "_")] = vs[0]
			}
		}
	}
	if raw, _ := x.ctx.Value(httpQueryKey{}).(string); raw != "" {
		if q, err := url.ParseQuery(raw); err == nil || len(q) > 0 {
			r.Query = make(map[string]string, len(q))
			for k, vs := range q {
				if len(vs) > 0 {
					r.Query[k] = vs[0]
				}
			}
		}
	}
	x.req = r
	return r
}

// validateRules compiles every rule of every collection in all (the
// collections as they will be after a change) and returns BAD_USER_INPUT
// for the first rule that does not compile, keyed by the rule's name
// ("listRule", ...), naming the collection and the position. So a rule
// naming a missing field is refused when it is saved, and so is a change
// of another collection (a dropped or renamed field, a deleted
// collection) that would break an existing rule.
func validateRules(all []*db.Collection) error {
	for _, c := range all {
		for _, r := range []struct {
			name string
			rule *string
		}{
			{"listRule", c.ListRule}, {"viewRule", c.ViewRule}, {"createRule", c.CreateRule},
			{"updateRule", c.UpdateRule}, {"deleteRule", c.DeleteRule},
			{"authRule", c.AuthRule}, {"manageRule", c.ManageRule},
		} {
			if r.rule == nil {
				continue
			}
			err := db.ValidateRule(all, c, *r.rule)
			if err == nil {
				continue
			}
			e := apperr.As(err)
			if e == nil || e.Code != apperr.Invalid {
				return apperr.Wrap(err, "check the %s of %s", r.name, c.Name)
			}
			msg := strings.TrimPrefix(e.Message, "filter: ")
			out := apperr.InvalidFields("invalid "+r.name+" of "+c.Name+": "+msg, map[string]apperr.FieldError{
				r.name: {Code: "invalid_rule", Message: msg},
			})
			out.Pos = e.Pos
			return out
		}
	}
	return nil
}
