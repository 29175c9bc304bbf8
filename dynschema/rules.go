package dynschema

import (
	"strings"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/db/filter"
)

// Access rules, the one place that decides who may do what (API.md
// "Access rules"): superusers bypass every rule; a nil rule is superusers
// only; "" is anyone; an expression is compiled to a SQL condition (with
// the viewer as @request.auth) that rows must meet.

// op is an operation a rule guards.
type op uint8

const (
	opList op = iota
	opView
	opCreate
	opUpdate
	opDelete
	opAuth
)

var opVerbs = [...]string{"list", "view", "create", "update", "delete", "authenticate with"}

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
		if c.AuthRule == nil {
			empty := "" // unset: anyone with the password
			return &empty
		}
		return c.AuthRule
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

// accessAs is access for another table alias.
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
// body as @request.body (create, update and delete checks run inside the
// mutation's transaction).
func (x *exec) checkRecord(t *objType, o op, id string, body map[string]any) (bool, error) {
	e, ok, err := x.ruleExpr(t.coll, o)
	if err != nil || !ok {
		return false, err
	}
	if e == nil {
		return true, nil
	}
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
	x.req = r
	return r
}
