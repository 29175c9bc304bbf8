package db

import (
	"strings"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/db/filter"
)

// MemMatch is a rule or filter of one collection compiled for evaluation
// in memory on a record's values (see memmatch.go for what compiles).
type MemMatch struct {
	c       *Collection
	trusted bool
	root    memNode
	reqs    []memOperand // the @request operands, by memOperand.ri
}

// memNode is *memGroup, *memNot or *memCmp.
type memNode interface{}

type memGroup struct {
	or    bool
	items []memNode
}

type memNot struct{ x memNode }

type memCmp struct {
	c    *filter.Compare
	l, r memOperand
}

// memOperand is a column of the record (col), a constant (v) or a
// @request value resolved at each evaluation (req).
type memOperand struct {
	v     *filterValue
	col   *Field
	req   *filter.Ident
	anyOp bool
	ri    int // index of req in MemMatch.reqs
}

var errMemUnsupported = apperr.New(apperr.Internal, "not evaluated in memory")

// memLookup refuses every collection: supported expressions name none.
func memLookup(string) (*Collection, error) { return nil, errMemUnsupported }

// CompileMemMatch compiles e on c for evaluation in memory; trusted as for
// CompileRule (true) or CompileFilter (the viewer is a superuser). It
// returns nil when e has a part memory cannot evaluate, or does not
// compile to SQL at all (the statement then reports the error).
func CompileMemMatch(c *Collection, e filter.Expr, trusted bool) *MemMatch {
	if c == nil || e == nil {
		return nil
	}
	fc := newFilterCompiler(memLookup, nil, trusted)
	if _, err := fc.compile(c, "r", e); err != nil {
		return nil
	}
	fc = newFilterCompiler(memLookup, nil, trusted)
	s := &filterScope{fc: fc, base: c, alias: filterQuote("r")}
	root, ok := s.memNode(e)
	if !ok {
		return nil
	}
	m := &MemMatch{c: c, trusted: trusted, root: root}
	m.indexRequest(root)
	return m
}

// indexRequest numbers the @request operands under n into m.reqs.
func (m *MemMatch) indexRequest(n memNode) {
	switch n := n.(type) {
	case *memGroup:
		for _, it := range n.items {
			m.indexRequest(it)
		}
	case *memNot:
		m.indexRequest(n.x)
	case *memCmp:
		for _, o := range []*memOperand{&n.l, &n.r} {
			if o.req != nil {
				o.ri = len(m.reqs)
				m.reqs = append(m.reqs, *o)
			}
		}
	}
}

// resolve returns the compiled values of m's @request operands for req
// (by memOperand.ri); ok is false when one of them needs the statement,
// as every evaluation with req would then.
func (m *MemMatch) resolve(req *RequestInfo) (vals []*filterValue, ok bool) {
	if len(m.reqs) == 0 {
		return nil, true
	}
	ev := memEval{m: m, req: req}
	vals = make([]*filterValue, len(m.reqs))
	for i, o := range m.reqs {
		if vals[i], ok = ev.operand(o); !ok {
			return nil, false
		}
	}
	return vals, true
}

func (s *filterScope) memNode(e filter.Expr) (memNode, bool) {
	switch e := e.(type) {
	case *filter.Group:
		if e.Op != filter.And && e.Op != filter.Or {
			return nil, false
		}
		g := &memGroup{or: e.Op == filter.Or, items: make([]memNode, 0, len(e.Items))}
		for _, it := range e.Items {
			n, ok := s.memNode(it)
			if !ok {
				return nil, false
			}
			g.items = append(g.items, n)
		}
		return g, true
	case *filter.Not:
		n, ok := s.memNode(e.X)
		return &memNot{x: n}, ok
	case *filter.Compare:
		return s.memCompare(e)
	}
	return nil, false
}

func (s *filterScope) memCompare(c *filter.Compare) (memNode, bool) {
	anyOp := false
	switch c.Op {
	case filter.Eq, filter.Neq, filter.Gt, filter.Gte, filter.Lt, filter.Lte, filter.Like, filter.NotLike:
	case filter.AnyEq, filter.AnyNeq, filter.AnyGt, filter.AnyGte, filter.AnyLt, filter.AnyLte, filter.AnyLike, filter.AnyNotLike,
		filter.Contains, filter.NotContains, filter.StartsWith, filter.EndsWith, filter.RawLike:
		anyOp = true
	default:
		return nil, false
	}
	l, ok := s.memOperand(c.Left, anyOp)
	if !ok {
		return nil, false
	}
	r, ok := s.memOperand(c.Right, anyOp)
	if !ok || l.col != nil && r.col != nil {
		return nil, false
	}
	if r.col != nil || r.req != nil {
		switch c.Op {
		case filter.Eq, filter.Neq, filter.Gt, filter.Gte, filter.Lt, filter.Lte,
			filter.AnyEq, filter.AnyNeq, filter.AnyGt, filter.AnyGte, filter.AnyLt, filter.AnyLte:
		default:
			// LIKE patterns and the where operators need a constant on
			// the right (a request value resolves to one; a column
			// does not).
			if r.col != nil {
				return nil, false
			}
		}
	}
	return &memCmp{c: c, l: l, r: r}, true
}

func (s *filterScope) memOperand(o filter.Operand, anyOp bool) (memOperand, bool) {
	switch o := o.(type) {
	case *filter.Literal:
		v, err := s.literal(o)
		return memOperand{v: v}, err == nil
	case *filter.Ident:
		if len(o.Parts) == 0 || o.Modifier != "" {
			return memOperand{}, false
		}
		if strings.HasPrefix(o.Parts[0], "@") {
			p := o.Parts
			ok := p[0] == "@request" && (len(p) == 2 && (p[1] == "context" || p[1] == "method") ||
				len(p) == 3 && p[1] == "auth")
			return memOperand{req: o, anyOp: anyOp}, ok && s.fc.trusted
		}
		s.used = false
		v, err := s.ident(o, anyOp)
		if err != nil || s.used || v.multi != nil || v.guard != "" || v.noFallback || v.emptyArray || v.constant {
			return memOperand{}, false
		}
		f := v.field
		if f == nil || f.Multiple() || f.Type == FieldJSON || f.Type == FieldGeoPoint || f.Type == FieldPassword ||
			v.sql != filterCol(s.alias, f.Name) {
			return memOperand{}, false
		}
		return memOperand{v: v, col: f}, true
	}
	return memOperand{}, false
}

// Eval evaluates m on the values rec of a record of m's collection, with
// req as @request (nil: none). t is SQL's three-valued answer; ok is
// false when this evaluation needs the statement.
func (m *MemMatch) Eval(rec Record, req *RequestInfo) (t tri, ok bool) {
	ev := memEval{m: m, rec: rec, req: req}
	return ev.node(m.root)
}

// memEval is one evaluation.
type memEval struct {
	m     *MemMatch
	rec   Record
	req   *RequestInfo
	scope *filterScope   // for @request values, built on first use
	vals  []*filterValue // the @request values resolved already (MatchPlan), or nil
}

func (ev *memEval) node(n memNode) (tri, bool) {
	switch n := n.(type) {
	case *memGroup:
		if len(n.items) == 0 {
			return triOf(!n.or), true
		}
		acc := triOf(!n.or)
		for _, it := range n.items {
			t, ok := ev.node(it)
			if !ok {
				return 0, false
			}
			if n.or {
				acc = triOr(acc, t)
			} else {
				acc = triAnd(acc, t)
			}
		}
		return acc, true
	case *memNot:
		t, ok := ev.node(n.x)
		return triOf(t != triTrue), ok // (x) IS NOT 1
	case *memCmp:
		return ev.compare(n)
	}
	return 0, false
}

// operand returns the compiled value of o for this evaluation.
func (ev *memEval) operand(o memOperand) (*filterValue, bool) {
	if o.req == nil {
		return o.v, true
	}
	if ev.vals != nil {
		return ev.vals[o.ri], true
	}
	if ev.scope == nil {
		fc := newFilterCompiler(memLookup, ev.req, ev.m.trusted)
		ev.scope = &filterScope{fc: fc, base: ev.m.c, alias: filterQuote("r")}
	}
	ev.scope.used = false
	v, err := ev.scope.request(o.req, o.anyOp)
	if err != nil || ev.scope.used || !v.constant || v.multi != nil {
		return nil, false
	}
	return v, true
}

// value returns the SQL value of the compiled operand v: a column of the
// record with its affinity, or a bound constant (no affinity).
func (ev *memEval) value(v *filterValue, col *Field) (sqlv, bool) {
	if col != nil {
		return columnValue(col, ev.rec[col.Name])
	}
	switch v.sql {
	case "NULL":
		return sqlv{}, true
	case "?":
		if len(v.args) == 1 {
			return bindValue(v.args[0])
		}
	}
	return sqlv{}, false
}

func (ev *memEval) compare(n *memCmp) (tri, bool) {
	l, ok := ev.operand(n.l)
	if !ok {
		return 0, false
	}
	r, ok := ev.operand(n.r)
	if !ok {
		return 0, false
	}
	l, r = filterNormDates(l, r), filterNormDates(r, l)
	var lcol, rcol *Field
	if n.l.col != nil && l == n.l.v {
		lcol = n.l.col
	}
	if n.r.col != nil && r == n.r.v {
		rcol = n.r.col
	}
	if lcol == nil && !l.constant || rcol == nil && !r.constant || l.noFallback || r.noFallback || l.guard != "" || r.guard != "" {
		return 0, false
	}
	lv, ok := ev.value(l, lcol)
	if !ok {
		return 0, false
	}
	rv, ok := ev.value(r, rcol)
	if !ok {
		return 0, false
	}
	switch n.c.Op {
	case filter.Eq, filter.AnyEq:
		return memEq(true, l, r, lv, rv)
	case filter.Neq, filter.AnyNeq:
		return memEq(false, l, r, lv, rv)
	case filter.Gt, filter.AnyGt:
		return sqlCmpOp(lv, rv, func(c int) bool { return c > 0 })
	case filter.Gte, filter.AnyGte:
		return sqlCmpOp(lv, rv, func(c int) bool { return c >= 0 })
	case filter.Lt, filter.AnyLt:
		return sqlCmpOp(lv, rv, func(c int) bool { return c < 0 })
	case filter.Lte, filter.AnyLte:
		return sqlCmpOp(lv, rv, func(c int) bool { return c <= 0 })
	case filter.Like, filter.AnyLike:
		if !r.constant {
			return 0, false
		}
		return sqlLike(lv, filterLikeWrap(r.constText()), false)
	case filter.NotLike, filter.AnyNotLike:
		if !r.constant {
			return 0, false
		}
		return sqlLike(lv, filterLikeWrap(r.constText()), true)
	case filter.Contains, filter.NotContains, filter.StartsWith, filter.EndsWith, filter.RawLike:
		if !r.constant || r.sql == "NULL" {
			return 0, false
		}
		return sqlLike(lv, likePattern(n.c.Op, r.constText()), n.c.Op == filter.NotContains)
	}
	return 0, false
}

// memEq is filterEq evaluated: = (eq) or != with PocketBase's empty-value
// rules, on the compiled values l, r whose SQL values are lv, rv.
func memEq(eq bool, l, r *filterValue, lv, rv sqlv) (tri, bool) {
	lEmpty, rEmpty := l.constant && l.empty, r.constant && r.empty
	empty := sqlv{k: kText}
	switch {
	case lEmpty && rEmpty:
		return triOf(eq), true
	case l.notNull || l.constant && !l.empty || r.notNull || r.constant && !r.empty:
		if lEmpty {
			lv = empty
		}
		if rEmpty {
			rv = empty
		}
		if eq {
			return sqlEqual(lv, rv)
		}
		return sqlIsNot(lv, rv)
	case lEmpty:
		return memIsEmpty(eq, rv)
	case rEmpty:
		return memIsEmpty(eq, lv)
	}
	return 0, false // COALESCE of two columns: not compiled
}

// memIsEmpty is filterIsEmpty evaluated: v is the empty string or NULL,
// or (not eq) neither.
func memIsEmpty(eq bool, v sqlv) (tri, bool) {
	empty := sqlv{k: kText}
	if eq {
		t, ok := sqlEqual(v, empty)
		return triOr(t, triOf(v.k == kNull)), ok
	}
	t, ok := sqlIsNot(v, empty)
	return triAnd(t, triOf(v.k != kNull)), ok
}
