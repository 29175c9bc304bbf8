package db

// The filter compiler: filter.Expr -> SQL condition with bound parameters.
//
// Semantics (PocketBase's, see docs in the comments below):
//
//   - Every value that comes from the filter text or the request is a bound
//     parameter; identifiers come only from validated collection and field
//     names and are double-quoted. Constants such as 1, 0, '' and '[]' are
//     written by the compiler itself.
//   - Empty values: for = and != (and ?=, ?!=) NULL and '' are the same
//     "empty" value, as in PocketBase where unset text reads ''. So
//     `title = null`, `title = ''` and `title = @request.auth.id` for an
//     anonymous request all match rows whose title is NULL or ''; for a
//     bare multi-valued field '[]' is empty too. `x != 'a'` matches rows
//     where x is NULL. Other operators follow SQL (NULL never matches).
//   - Relation paths (author.name, tags.name, posts_via_author.title,
//     @collection.members.user, @request.auth.team.name) are LEFT JOINs
//     inside one EXISTS subquery per filter (the "join scope"), so rows never
//     multiply and every reference to the same path inside one filter means
//     the same related record (PocketBase semantics):
//     `tags.name ?= 'a' && tags.color ?= 'red'` needs one tag that is both;
//     use @collection.x:alias for independent rows. Not (the `where`
//     input's _not) opens a fresh scope. Comparisons that use no relation
//     path stay outside the EXISTS so that indexes on the table work.
//   - Multi-valued paths (through a multi relation, a back-relation,
//     @collection, :each, or a bare multi field with a ?-operator): the
//     ?-operators need ANY value to match; the plain operators need ALL
//     values to match (an empty set counts as one NULL value). The
//     where-only operators (contains, in, ...) are any-of. geoDistance over
//     multi paths is any-of.
//   - A bare multi-valued field with a plain operator compares its stored
//     JSON text (PocketBase: `tags ~ 'id'`), except that = '' / = null test
//     for an empty list.
//   - Trusted compiles (rules, superusers) may use everything. Client
//     filters of other viewers may not use hidden fields (password,
//     tokenKey, Hidden ones), @request.* or @collection.*; a relation whose
//     target collection has a nil list rule is refused, and a target's list
//     rule joins into the relation's ON clause so records the viewer cannot
//     list read as unset. `email` of an auth collection only matches where
//     emailVisibility is on.

import (
	"strconv"
	"strings"
	"time"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/db/filter"
)

// filterNow is the clock of the date macros (a variable for tests).
var filterNow = time.Now

// filterDateLayout is the storage format of dates.
const filterDateLayout = "2006-01-02T15:04:05.000Z"

// filterMaxRelDepth is how many relation hops one path may take.
const filterMaxRelDepth = 6

// CompileRule compiles an access rule (a collection's list/view/create/
// update/delete/auth/manage rule, written by a superuser) like CompileFilter
// but trusted: hidden fields, @request.*, @collection.* and relations to any
// collection may be used whoever the viewer is. Client-supplied filters and
// sorts go through CompileFilter and CompileSort, which refuse those to
// non-superusers and apply related collections' list rules.
func (d *DB) CompileRule(c *Collection, alias string, e filter.Expr, req *RequestInfo) (Cond, error) {
	fc := newFilterCompiler(d.Collection, req, true)
	fc.dl = d.qsql()
	return fc.compile(c, alias, e)
}

// ValidateRule parses rule and compiles it as a trusted rule of c, resolving
// relation targets, back-relations and @collection names among all (the
// collections as they are or will be after a change), so that a rule that
// names a missing field or collection is refused when it is saved. An
// empty rule is valid. A bad rule is apperr.Invalid naming the position.
func ValidateRule(all []*Collection, c *Collection, rule string) error {
	if strings.TrimSpace(rule) == "" {
		return nil
	}
	e, err := filter.ParseCached(rule)
	if err != nil {
		return err
	}
	lookup := func(idOrName string) (*Collection, error) {
		for _, x := range all {
			if x.ID == idOrName || x.Name == idOrName {
				return x, nil
			}
		}
		return nil, apperr.New(apperr.NotFound, "collection %q not found", idOrName)
	}
	_, err = newFilterCompiler(lookup, nil, true).compile(c, "r", e)
	return err
}

// CompileFilter compiles e against the collection c, whose table is aliased
// as alias in the enclosing query, into a SQL condition with bound
// parameters. Unknown fields, type mismatches and unsupported operators are
// apperr.Invalid naming the position. Relation paths become EXISTS
// subqueries, so the result never multiplies rows.
func (d *DB) CompileFilter(c *Collection, alias string, e filter.Expr, req *RequestInfo) (Cond, error) {
	fc := newFilterCompiler(d.Collection, req, req != nil && req.Superuser)
	fc.dl = d.qsql()
	return fc.compile(c, alias, e)
}

// CompileSort compiles sort items into ORDER BY terms for c aliased as alias.
func (d *DB) CompileSort(c *Collection, alias string, items []filter.SortItem, req *RequestInfo) ([]Cond, error) {
	fc := newFilterCompiler(d.Collection, req, req != nil && req.Superuser)
	fc.dl = d.qsql()
	return fc.compileSort(c, alias, items)
}

// filterCompiler holds what one compile needs. Child compilers (for the list
// rules of related collections) share the alias counter so that nested
// aliases never shadow outer ones.
type filterCompiler struct {
	lookup   func(idOrName string) (*Collection, error)
	dl       queryDialect // SQLite's unless the DB's is set
	req      *RequestInfo
	trusted  bool
	now      time.Time
	n        *int
	compares int
	nodes    int // comparisons, groups and negations compiled
	depth    int // groups and negations open
}

// filterMaxArgs bounds the parameters of one compiled filter (SQLite allows
// 32766 in a statement, which also holds the rules).
const filterMaxArgs = 10000

// enter counts one expression node at the current nesting (nest: a group
// or negation, whose items are one level deeper; call leave after them). It
// returns a BAD_USER_INPUT error past filter.MaxNodes nodes or 2 *
// filter.MaxDepth levels: SQLite's limit of 1000 expression levels must not
// surface as an internal error.
func (fc *filterCompiler) enter(nest bool) error {
	fc.nodes++
	if fc.nodes > filter.MaxNodes {
		return filterErr(0, "too many expressions (max %d comparisons, groups and negations)", filter.MaxNodes)
	}
	if nest {
		fc.depth++
		if fc.depth > 2*filter.MaxDepth {
			return filterErr(0, "too deeply nested (max %d levels)", 2*filter.MaxDepth)
		}
	}
	return nil
}

func (fc *filterCompiler) leave() { fc.depth-- }

var filterNoRequest = &RequestInfo{}

func newFilterCompiler(lookup func(string) (*Collection, error), req *RequestInfo, trusted bool) *filterCompiler {
	if req == nil {
		req = filterNoRequest
	}
	return &filterCompiler{lookup: lookup, dl: sqliteDialect{}, req: req, trusted: trusted, now: filterNow().UTC(), n: new(int)}
}

// alias returns a fresh table alias, quoted.
func (fc *filterCompiler) alias(prefix string) string {
	*fc.n++
	return `"_` + prefix + strconv.Itoa(*fc.n) + `"`
}

// filterErr returns a BAD_USER_INPUT error naming the position of the byte
// offset pos.
func filterErr(pos int, format string, args ...any) *apperr.Error {
	e := apperr.New(apperr.Invalid, "filter: "+format, args...)
	e.Pos = pos + 1
	e.Message += " at position " + strconv.Itoa(e.Pos)
	return e
}

// filterQuote double-quotes an identifier.
func filterQuote(name string) string {
	if strings.IndexByte(name, '"') >= 0 {
		name = strings.ReplaceAll(name, `"`, `""`)
	}
	return `"` + name + `"`
}

// filterCol returns alias."name" (alias already quoted).
func filterCol(alias, name string) string {
	if strings.IndexByte(name, '"') >= 0 {
		return alias + "." + filterQuote(name)
	}
	return alias + `."` + name + `"`
}

// compile compiles e against c aliased as alias (unquoted).
func (fc *filterCompiler) compile(c *Collection, alias string, e filter.Expr) (Cond, error) {
	if c == nil {
		return Cond{}, apperr.New(apperr.Internal, "filter: no collection")
	}
	if alias == "" {
		alias = "r"
	}
	s := &filterScope{fc: fc, base: c, alias: filterQuote(alias)}
	var w filterSQL
	w.b = make([]byte, 0, 256)
	if err := s.top(&w, e); err != nil {
		return Cond{}, err
	}
	if len(w.args) > filterMaxArgs {
		return Cond{}, filterErr(0, "too many values (max %d)", filterMaxArgs)
	}
	return Cond{SQL: w.String(), Args: w.args}, nil
}

// filterSQL accumulates SQL text and its arguments in order.
type filterSQL struct {
	b    []byte
	args []any
}

func (w *filterSQL) s(parts ...string) *filterSQL {
	for _, p := range parts {
		w.b = append(w.b, p...)
	}
	return w
}

func (w *filterSQL) arg(sql string, args ...any) *filterSQL {
	w.b = append(w.b, sql...)
	w.args = append(w.args, args...)
	return w
}

func (w *filterSQL) String() string { return string(w.b) }

// filterJoin is one LEFT JOIN of a scope.
type filterJoin struct {
	key   string // the path it stands for, e.g. "author", "tags.:each"
	alias string // quoted
	sql   string
	args  []any
}

// filterScope is one join scope: an outer row (alias of base) plus the
// shared LEFT JOINs that relation paths registered.
type filterScope struct {
	fc    *filterCompiler
	base  *Collection
	alias string // quoted
	joins []*filterJoin
	used  bool // set when a compiled piece referenced a join of this scope
}

func (s *filterScope) child() *filterScope {
	return &filterScope{fc: s.fc, base: s.base, alias: s.alias}
}

func (s *filterScope) findJoin(key string) *filterJoin {
	for _, j := range s.joins {
		if j.key == key {
			return j
		}
	}
	return nil
}

func (s *filterScope) addJoin(key, alias, sql string, args []any) *filterJoin {
	j := &filterJoin{key: key, alias: alias, sql: sql, args: args}
	s.joins = append(s.joins, j)
	return j
}

// writeJoins writes `FROM (SELECT 1) LEFT JOIN ...`.
func (s *filterScope) writeJoins(w *filterSQL) {
	w.s(`FROM (SELECT 1) "_d"`)
	for _, j := range s.joins {
		w.arg(" "+j.sql, j.args...)
	}
}

// top compiles e as a whole scope: items of a top-level group that use no
// join stay outside, the others go into one EXISTS over the scope's joins.
func (s *filterScope) top(w *filterSQL, e filter.Expr) error {
	items := []filter.Expr{e}
	op := filter.And
	if g, ok := e.(*filter.Group); ok {
		if err := s.fc.enter(true); err != nil {
			return err
		}
		defer s.fc.leave()
		if len(g.Items) == 0 {
			w.s(s.fc.dl.boolLit(g.Op != filter.Or))
			return nil
		}
		items, op = g.Items, g.Op
	}
	if op != filter.And && op != filter.Or {
		return filterErr(0, "unknown logic operator %q", op)
	}
	sep := " AND "
	if op == filter.Or {
		sep = " OR "
	}
	// Items are written to w as they come; those that used a join move to
	// inside, which becomes one EXISTS over the scope's joins.
	if len(items) > 1 {
		w.s("(")
	}
	var inside filterSQL
	n := 0
	for _, it := range items {
		s.used = false
		mark := len(w.b)
		if n > 0 {
			w.s(sep)
		}
		start, astart := len(w.b), len(w.args)
		if err := s.expr(w, it); err != nil {
			return err
		}
		if !s.used {
			n++
			continue
		}
		if len(inside.b) > 0 {
			inside.s(sep)
		}
		inside.b = append(inside.b, w.b[start:]...)
		inside.args = append(inside.args, w.args[astart:]...)
		w.b, w.args = w.b[:mark], w.args[:astart]
	}
	if len(inside.b) > 0 {
		if n > 0 {
			w.s(sep)
		}
		w.s("EXISTS (SELECT 1 ")
		s.writeJoins(w)
		w.s(" WHERE ").arg(string(inside.b), inside.args...).s(")")
	}
	if len(items) > 1 {
		w.s(")")
	}
	return nil
}

// expr compiles e inside the scope s.
func (s *filterScope) expr(w *filterSQL, e filter.Expr) error {
	switch e := e.(type) {
	case *filter.Group:
		if err := s.fc.enter(true); err != nil {
			return err
		}
		defer s.fc.leave()
		if len(e.Items) == 0 {
			w.s(s.fc.dl.boolLit(e.Op != filter.Or))
			return nil
		}
		sep := " AND "
		switch e.Op {
		case filter.And:
		case filter.Or:
			sep = " OR "
		default:
			return filterErr(0, "unknown logic operator %q", e.Op)
		}
		w.s("(")
		for i, it := range e.Items {
			if i > 0 {
				w.s(sep)
			}
			if err := s.expr(w, it); err != nil {
				return err
			}
		}
		w.s(")")
		return nil
	case *filter.Not:
		if err := s.fc.enter(true); err != nil {
			return err
		}
		defer s.fc.leave()
		if e.X == nil {
			return filterErr(0, "empty negation")
		}
		w.s("((")
		if err := s.child().top(w, e.X); err != nil {
			return err
		}
		w.s(")" + s.fc.dl.notTrue() + ")")
		return nil
	case *filter.Compare:
		if err := s.fc.enter(false); err != nil {
			return err
		}
		return s.compare(w, e)
	case nil:
		return filterErr(0, "missing expression")
	}
	return filterErr(0, "unsupported expression %T", e)
}

// compileSort compiles sort items. Relation paths must be single-valued;
// they become correlated scalar subqueries.
func (fc *filterCompiler) compileSort(c *Collection, alias string, items []filter.SortItem) ([]Cond, error) {
	if c == nil {
		return nil, apperr.New(apperr.Internal, "sort: no collection")
	}
	if alias == "" {
		alias = "r"
	}
	if len(items) > filter.MaxExprs {
		return nil, filterErr(0, "too many sort terms (max %d)", filter.MaxExprs)
	}
	out := make([]Cond, 0, len(items))
	for _, it := range items {
		if it.Ident == nil || len(it.Ident.Parts) == 0 {
			return nil, filterErr(0, "empty sort term")
		}
		dir := fc.dl.order(it.Desc)
		if len(it.Ident.Parts) == 1 && it.Ident.Parts[0] == filter.Random {
			out = append(out, Cond{SQL: "RANDOM()"})
			continue
		}
		s := &filterScope{fc: fc, base: c, alias: filterQuote(alias)}
		v, err := s.operand(it.Ident, false)
		if err != nil {
			return nil, err
		}
		if v.constant || v.multi != nil {
			return nil, filterErr(it.Ident.Pos, "cannot sort by %q", it.Ident.String())
		}
		var w filterSQL
		if len(s.joins) > 0 {
			w.s("(SELECT ").arg(v.sql, v.args...).s(" ")
			s.writeJoins(&w)
			w.s(")")
		} else {
			w.arg(v.sql, v.args...)
		}
		w.s(dir)
		out = append(out, Cond{SQL: w.String(), Args: w.args})
	}
	return out, nil
}
