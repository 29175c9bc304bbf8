// Package access makes every access decision of Monobase: which rule of a
// collection guards an operation, the list/view/create/update/delete
// checks, the before-and-after check of an update, manageRule and
// authRule, @request built from the viewer, and the validation of rules
// when collections change. It knows no GraphQL: the engine (dynschema) and
// the file download handler (files) both ask it, and it asks db, which
// writes the SQL.
//
// Superusers bypass every rule. For everyone else:
//
//   - a nil rule is superusers only: the operation is FORBIDDEN (a relation
//     or back-relation to such a collection reads as null / []);
//   - "" lets anyone, anonymous included;
//   - an expression (the filter syntax, with the viewer as @request.auth)
//     is a condition the records must meet: a list leaves out the rows that
//     fail, a single read or a relation reads null, a mutation is
//     FORBIDDEN.
//
// The checks of a mutation run inside the operation's transaction (the ctx
// given to them carries it):
//
//   - create: a nil create rule is FORBIDDEN; the record is inserted, then
//     the rule is evaluated on the inserted row with @request.body = the
//     submitted values; failing rolls the whole operation back
//     (CheckCreated).
//   - update: a nil update rule is FORBIDDEN; a record the viewer cannot
//     view is NOT_FOUND; the update rule evaluated on the stored record
//     with @request.body = the input is FORBIDDEN when it fails (Check);
//     after the write the rule is evaluated again on the updated row, with
//     each @request.body.x:changed keeping the value it had before the
//     write (CheckUpdated), so a viewer cannot move a record out of its own
//     reach.
//   - delete: as update, without the second check.
//
// Auth collections add two rules:
//
//   - authRule: who may sign in. nil refuses every record, "" admits every
//     record, an expression must match the record with that record as
//     @request.auth (CheckAuthRule). Callers check it after the password.
//   - manageRule: who may manage other records of the collection like a
//     superuser (CanManage): superusers always; otherwise a non-empty
//     manageRule evaluated on the stored record must match a signed-in
//     viewer (nil and "" give it to nobody). Without it, changing password
//     requires the current one, and email and verified cannot be changed by
//     update, nor verified set by create (CheckAuthUpdate, CheckCreated).
//
// The mfa.rule of an auth collection is evaluated like authRule: it decides
// whose sign-ins need a second method (NeedsMFA).
//
// @request.method is the HTTP method, @request.context "default" for HTTP
// requests, "realtime" for subscription events and "protectedFile" for file
// downloads; @request.headers.* are the request headers (names lower-case
// with "-" as "_", first value) and @request.query.* the URL query (first
// value).
package access

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/auth"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/db/filter"
)

// Op is an operation a rule guards.
type Op uint8

// The operations, one per rule of a collection.
const (
	List Op = iota
	View
	Create
	Update
	Delete
	Auth   // sign in (authRule)
	Manage // manage other records like a superuser (manageRule)
)

var verbs = [...]string{"list", "view", "create", "update", "delete", "sign in to", "manage"}

// String returns the verb of o ("list", ..., "sign in to", "manage").
func (o Op) String() string {
	if int(o) < len(verbs) {
		return verbs[o]
	}
	return "access"
}

// RuleOf returns the rule of c that guards o (nil: superusers only).
func RuleOf(c *db.Collection, o Op) *string {
	switch o {
	case List:
		return c.ListRule
	case View:
		return c.ViewRule
	case Create:
		return c.CreateRule
	case Update:
		return c.UpdateRule
	case Delete:
		return c.DeleteRule
	case Auth:
		return c.AuthRule
	case Manage:
		return c.ManageRule
	}
	return nil
}

// Forbidden is the error for an operation whose rule is nil.
func Forbidden(c *db.Collection, o Op) error {
	return apperr.New(apperr.Forbidden, "only superusers may %s %s", o, c.Name)
}

// Decision is what a rule says about an operation for one viewer.
type Decision struct {
	// Allowed is false when the viewer may not perform the operation at
	// all (a nil rule, not a superuser).
	Allowed bool
	// Where is the condition the records must meet (db.Read.Rule); nil
	// when every record passes.
	Where filter.Expr
}

// Info is what @request holds besides the viewer.
type Info struct {
	Method   string      // the HTTP method
	Context  string      // "default" when empty, "realtime", "protectedFile"
	Headers  http.Header // the request headers, nil for none
	RawQuery string      // the URL query of the request
}

// Rules caches the parsed rules (by their text) of one set of
// collections; its zero value is ready. The engine keeps one per schema
// version.
type Rules struct{ m sync.Map } // rule text -> filter.Expr or error

// Parse returns the parsed rule, or the BAD_USER_INPUT error of a rule
// that does not parse. A nil *Rules parses through filter.ParseCached.
func (rs *Rules) Parse(rule string) (filter.Expr, error) {
	if rs == nil {
		e, err := filter.ParseCached(rule)
		if err != nil {
			return nil, apperr.Wrap(err, "invalid access rule")
		}
		return e, nil
	}
	if v, ok := rs.m.Load(rule); ok {
		if err, isErr := v.(error); isErr {
			return nil, err
		}
		return v.(filter.Expr), nil
	}
	e, err := filter.ParseCached(rule)
	if err != nil {
		err = apperr.Wrap(err, "invalid access rule")
		rs.m.Store(rule, err)
		return nil, err
	}
	rs.m.Store(rule, e)
	return e, nil
}

// Request decides for one operation (or one subscription event) of one
// viewer. It is not safe for concurrent use.
type Request struct {
	d      *db.DB
	rules  *Rules
	viewer *auth.Viewer
	info   Info
	req    *db.RequestInfo // built on first use
}

// New returns the checker of an operation of viewer (nil: anonymous) on d,
// parsing rules through rules (nil: filter.ParseCached).
func New(d *db.DB, rules *Rules, viewer *auth.Viewer, info Info) *Request {
	return &Request{d: d, rules: rules, viewer: viewer, info: info}
}

// As returns a checker of the same request for another viewer.
func (r *Request) As(viewer *auth.Viewer) *Request {
	return &Request{d: r.d, rules: r.rules, viewer: viewer, info: r.info}
}

// Viewer returns the viewer the checker decides for (nil: anonymous).
func (r *Request) Viewer() *auth.Viewer { return r.viewer }

// Superuser reports whether the viewer bypasses the rules.
func (r *Request) Superuser() bool { return r.viewer != nil && r.viewer.Superuser }

// RequestInfo returns @request for rules and filters, built once.
func (r *Request) RequestInfo() *db.RequestInfo {
	if r.req != nil {
		return r.req
	}
	ri := &db.RequestInfo{Method: r.info.Method, Context: r.info.Context}
	if ri.Context == "" {
		ri.Context = "default"
	}
	if v := r.viewer; v != nil {
		ri.AuthCollection = v.Collection
		ri.Auth = v.Record
		ri.Superuser = v.Superuser
	}
	if len(r.info.Headers) > 0 {
		ri.Headers = make(map[string]string, len(r.info.Headers))
		for k, vs := range r.info.Headers {
			if len(vs) > 0 {
				ri.Headers[strings.ReplaceAll(strings.ToLower(k), "-", "_")] = vs[0]
			}
		}
	}
	if raw := r.info.RawQuery; raw != "" {
		if q, err := url.ParseQuery(raw); err == nil || len(q) > 0 {
			ri.Query = make(map[string]string, len(q))
			for k, vs := range q {
				if len(vs) > 0 {
					ri.Query[k] = vs[0]
				}
			}
		}
	}
	r.req = ri
	return ri
}

// Rule returns what the rule of c guarding o says for the viewer. A rule
// that does not parse is BAD_USER_INPUT ("invalid access rule").
func (r *Request) Rule(c *db.Collection, o Op) (Decision, error) {
	if r.Superuser() {
		return Decision{Allowed: true}, nil
	}
	rule := RuleOf(c, o)
	if rule == nil {
		return Decision{}, nil
	}
	if strings.TrimSpace(*rule) == "" {
		return Decision{Allowed: true}, nil
	}
	e, err := r.rules.Parse(*rule)
	if err != nil {
		return Decision{}, err
	}
	return Decision{Allowed: true, Where: e}, nil
}

// Require is Rule that returns FORBIDDEN when the viewer may not perform o
// at all.
func (r *Request) Require(c *db.Collection, o Op) (Decision, error) {
	dec, err := r.Rule(c, o)
	if err == nil && !dec.Allowed {
		err = Forbidden(c, o)
	}
	return dec, err
}

// CanView reports whether viewer (nil: anonymous) may view the record id of
// c under its viewRule, reading it with one statement unless the rule lets
// everyone. The file download handler asks it with @request.context
// "protectedFile".
func CanView(ctx context.Context, d *db.DB, c *db.Collection, id string, viewer *auth.Viewer, info Info) (bool, error) {
	r := New(d, nil, viewer, info)
	dec, err := r.Rule(c, View)
	if err != nil || !dec.Allowed {
		return false, err
	}
	if dec.Where == nil {
		return true, nil
	}
	return r.matches(ctx, c, View, dec.Where, id, nil)
}
