package dynschema

import (
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"

	"github.com/monobase/monobase/access"
	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/db"
)

// This file is the nested writes of docs/api.md "Nested writes": beside a
// relation field author (connect by id), the create and update inputs have
// authorCreate: <Target>CreateInput, and a multi relation tags has
// tagsCreate: [<Target>CreateInput!]. The records of the nested inputs are
// created first, in the mutation's transaction, each through its own
// collection's create rule and create hooks; their ids then stand in the
// input as if the client had given them (author, tags on create; tags or
// tagsAppend on update), so the parent's rules, hooks and validation see
// plain ids.

// MaxNestedRecords bounds the records that the nested inputs of one
// mutation operation create, all root fields together. The depth of the
// nesting is bounded by the query depth limit (settings limits.maxDepth).
const MaxNestedRecords = 100

// nestTarget returns the type whose records a nested create of the
// relation field f makes, or nil when f gets no <name>Create input: not a
// visible relation, a target that is not exposed or read-only (a view), or
// a field of the collection already named <name>Create.
func (b *typeBuilder) nestTarget(f *db.Field) *objType {
	if f.Type != db.FieldRelation || f.Hidden || f.System {
		return nil
	}
	target := b.cp.m.byColl[f.Collection]
	if target == nil || target.readOnly || b.t.coll.FieldByName(f.Name+"Create") != nil {
		return nil
	}
	return target
}

// nestedInputs adds <relation>Create to the create and update inputs of
// every writable relation field with a target (nestTarget). The input
// types reference each other, so nested inputs nest to any depth; they are
// all nullable, so the recursion is valid GraphQL.
func (b *typeBuilder) nestedInputs() {
	for _, f := range b.t.coll.Fields {
		target := b.nestTarget(f)
		if target == nil || b.t.create[f.Name] == nil {
			continue
		}
		p := &inPlan{kind: inNested, col: f.Name, field: f, multi: f.Multiple(), target: target}
		typ := target.name + "CreateInput"
		if p.multi {
			typ = "[" + typ + "!]"
		}
		b.addCreate(-1, f.Name+"Create", typ, p)
		if b.t.update[f.Name] != nil {
			b.addUpdate(-1, f.Name+"Create", typ, p)
		}
	}
}

// hasNested reports whether the input in has a nested input key, null
// ones included.
func hasNested(plans map[string]*inPlan, in map[string]any) bool {
	for k := range in {
		if p := plans[k]; p != nil && p.kind == inNested {
			return true
		}
	}
	return false
}

// nestedInput runs the nested creates of in, the create (update false) or
// update input of t given to a root field: it checks the whole tree first
// (both a relation and its Create given, depth, MaxNestedRecords), then
// creates the records, children before the records that reference them,
// and returns in with their ids in place of the nested inputs. An input
// without nested creates is returned as it is. Errors name the nested
// input's path (presentNested).
func (x *operation) nestedInput(t *objType, in map[string]any, update bool) (map[string]any, error) {
	plans := t.create
	if update {
		plans = t.update
	}
	if !hasNested(plans, in) {
		return in, nil
	}
	var fe apperr.FieldErrors
	n := x.checkNested(plans, in, "", 1, &fe)
	if n == 0 && len(fe) == 0 {
		return x.resolveNested(plans, in, update) // only nulls: drops them
	}
	if err := fe.Err("invalid nested input"); err != nil {
		return nil, err
	}
	if x.mut.nested+n > MaxNestedRecords {
		return nil, apperr.InvalidFields("invalid nested input", map[string]apperr.FieldError{
			"input": {Code: "too_many", Message: fmt.Sprintf("a mutation creates at most %d nested records (this one: %d)", MaxNestedRecords, x.mut.nested+n)},
		})
	}
	x.mut.nested += n
	// The uploads of the root field were stored under its keys: the
	// nested inputs store their own (uploadNames).
	saved := x.mut.cur
	x.mut.cur = nil
	out, err := x.resolveNested(plans, in, update)
	x.mut.cur = saved
	if err != nil {
		return nil, presentNested(err)
	}
	return out, nil
}

// checkNested adds to fe the refusals of the nested inputs of in (plans:
// its input type's) at the path prefix, depth levels down, and returns the
// number of records they create.
func (x *operation) checkNested(plans map[string]*inPlan, in map[string]any, prefix string, depth int, fe *apperr.FieldErrors) int {
	n := 0
	for _, k := range sortedKeys(in) {
		p, v := plans[k], in[k]
		if p == nil || p.kind != inNested || v == nil {
			continue
		}
		path := prefix + k
		if !p.multi && in[p.col] != nil {
			fe.Add(path, "conflict", "give %s or %s, not both", p.col, k)
			continue
		}
		if max := x.v.eng.live.Load().MaxDepth; depth > max {
			fe.Add(path, "too_deep", "nested inputs go at most %d levels deep (settings limits.maxDepth)", max)
			continue
		}
		items := []any{v}
		if p.multi {
			items = asList(v)
		}
		for i, item := range items {
			ipath := path
			if p.multi {
				ipath += "." + strconv.Itoa(i)
			}
			m, ok := item.(map[string]any)
			if !ok {
				fe.Add(ipath, "invalid", "%s must be a %sCreateInput", ipath, p.target.name)
				continue
			}
			n += 1 + x.checkNested(p.target.create, m, ipath+".", depth+1, fe)
			if n > MaxNestedRecords {
				return n // no need to walk further
			}
		}
	}
	return n
}

// resolveNested creates the records of the nested inputs of in and returns
// a copy of in with their ids in place: author for authorCreate; for
// tagsCreate, tags (create, or update when tags is given) or tagsAppend
// (update), after the ids given there. The error of a nested record is a
// *nestedError with its path.
func (x *operation) resolveNested(plans map[string]*inPlan, in map[string]any, update bool) (map[string]any, error) {
	out := maps.Clone(in)
	for _, k := range sortedKeys(in) {
		p, v := plans[k], in[k]
		if p == nil || p.kind != inNested {
			continue
		}
		delete(out, k)
		if v == nil {
			continue
		}
		if !p.multi {
			m, _ := v.(map[string]any)
			id, err := x.createNested(p.target, m)
			if err != nil {
				return nil, inPath(k, err)
			}
			out[p.col] = id
			continue
		}
		items := asList(v)
		ids := make([]any, 0, len(items))
		for i, item := range items {
			m, _ := item.(map[string]any)
			id, err := x.createNested(p.target, m)
			if err != nil {
				return nil, inPath(k+"."+strconv.Itoa(i), err)
			}
			ids = append(ids, id)
		}
		key := p.col
		if update && out[p.col] == nil {
			key = p.col + "Append"
		}
		out[key] = append(asList(out[key]), ids...)
	}
	return out, nil
}

// createNested creates a record of t from the nested input in (its own
// nested inputs first) and returns its id: the create rule of t applies as
// to a root create, and the create hooks run.
func (x *operation) createNested(t *objType, in map[string]any) (string, error) {
	if err := x.ctx.Err(); err != nil {
		return "", err
	}
	if _, err := x.acc.Require(t.coll, access.Create); err != nil {
		return "", err
	}
	in, err := x.resolveNested(t.create, in, false)
	if err != nil {
		return "", err
	}
	id, _ := in["id"].(string)
	if id == "" && hasUploads(t.create, in) {
		id = newID() // the files are stored under it
	}
	rec, err := x.createRecord(t, in, id)
	if err != nil {
		return "", err
	}
	return rec.ID(), nil
}

// createRecord writes a record of t from its create input in (no nested
// inputs left) with the id (""; generated) in the operation's transaction,
// through the create hooks, and checks it against the create rule.
func (x *operation) createRecord(t *objType, in map[string]any, id string) (db.Record, error) {
	rin, err := x.createInput(t, in, id)
	if err != nil {
		return nil, err
	}
	if id != "" {
		rin["id"] = id
	}
	rec, err := x.insert(t, rin) // through the create hooks (hooks.go)
	if err != nil {
		return nil, err
	}
	if err := x.acc.CheckCreated(x.dbctx, t.coll, rec.ID(), x.ruleBody(t, access.Create, in, nil)); err != nil {
		return nil, err
	}
	return rec, nil
}

// nestedError is the error of a nested record with the path of its input
// below the root field's input (authorCreate, tagsCreate.1.authorCreate).
type nestedError struct {
	path string
	err  error
}

func (e *nestedError) Error() string { return e.path + ": " + e.err.Error() }
func (e *nestedError) Unwrap() error { return e.err }

// inPath returns err as the error of the nested input at key, one level
// above the path it has.
func inPath(key string, err error) error {
	var ne *nestedError
	if errors.As(err, &ne) {
		return &nestedError{path: key + "." + ne.path, err: ne.err}
	}
	return &nestedError{path: key, err: err}
}

// presentNested returns the error a client sees for the failed nested
// record of err: its own code, the message prefixed with the path, and
// extensions.fields keyed by the path (authorCreate.name for a field
// error, authorCreate itself for an error about the whole record, such as
// FORBIDDEN by its create rule). Internal errors stay internal, with the
// path for the log.
func presentNested(err error) error {
	var ne *nestedError
	if !errors.As(err, &ne) {
		return err
	}
	ae := apperr.As(ne.err)
	if ae == nil || ae.Code == apperr.Internal || ae.Code == apperr.Timeout {
		return fmt.Errorf("nested create %s: %w", ne.path, ne.err)
	}
	out := *ae
	out.Message = ne.path + ": " + ae.Message
	out.Fields = make(map[string]apperr.FieldError, max(1, len(ae.Fields)))
	for k, f := range ae.Fields {
		out.Fields[ne.path+"."+k] = f
	}
	if len(ae.Fields) == 0 {
		out.Fields[ne.path] = apperr.FieldError{Code: strings.ToLower(string(ae.Code)), Message: ae.Message}
	}
	return &out
}

// updatable returns the refusal of an update of the record id of t that
// comes before its input is looked at: no update rule (FORBIDDEN), a
// record the viewer cannot view (NOT_FOUND).
func (x *operation) updatable(t *objType, id string) error {
	if _, err := x.acc.Require(t.coll, access.Update); err != nil {
		return err
	}
	if _, err := x.tx(); err != nil {
		return err
	}
	_, err := x.viewable(t, id)
	return err
}
