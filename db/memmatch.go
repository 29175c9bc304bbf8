package db

import (
	"sync"
	"sync/atomic"

	"github.com/monobase/monobase/db/filter"
)

// In-memory matching: ReadMatch (realtime events) evaluates a rule or
// filter on the event's record without SQL when the expression is made
// only of what memory can compute exactly as SQLite would:
//
//   - comparisons (=, !=, <, <=, >, >=, ~, !~, their ?-forms on single
//     fields, and the where input's contains, notContains, startsWith,
//     endsWith and like) of the record's own single-valued fields (not
//     JSON, GEOPOINT or password; a single relation's `x.id` counts as
//     `x`) with literals, @request.auth.<field>, @request.auth.id,
//     collectionId, collectionName, @request.context and @request.method;
//   - && and || (groups), and the where input's negation.
//
// The compiled form (a MemMatch) is built once per collection definition,
// expression and trust, and kept in a bounded cache. Constant operands
// are the filter compiler's own values (filterValue: the same empty-value
// flags, date normalization, number parsing of @request.auth fields), and
// memsql.go gives them SQLite's semantics: column affinity of the CAST in
// MatchValues, the affinity conversions of comparisons, NULL and
// three-valued logic, BINARY text order and LIKE with ESCAPE '\'. A value
// whose conversion memory cannot reproduce exactly (a REAL rendered as
// text, text parsed as a number with spaces or more than 15 digits, ...)
// makes that one evaluation fall back to the statement. Everything else
// (relation paths, back-relations, @collection, functions, modifiers,
// macros, @request.body/query/headers, field against field, in/notIn)
// is never compiled and always uses the statement.

// memCacheMax bounds the compiled expressions kept; past it the cache
// starts over.
const memCacheMax = 4096

// memMatchState is the DB's in-memory matching: the compiled expressions
// and whether matching in memory is on.
type memMatchState struct {
	off   atomic.Bool
	hits  atomic.Uint64 // ReadMatch calls answered in memory
	mu    sync.Mutex    // serializes the cache's replacement
	cache atomic.Pointer[memCache]
}

// memCache maps a memKey to its *MemMatch (nil: not supported); reads
// take no lock, as every batch of an event asks at once.
type memCache struct {
	m sync.Map
	n atomic.Int64
}

type memKey struct {
	c       *Collection
	e       filter.Expr
	trusted bool
}

// SetMatchInMemory turns the in-memory evaluation of ReadMatch on (the
// default) or off (every check is a statement, as for benchmarks that
// compare the two).
func (d *DB) SetMatchInMemory(on bool) { d.mem.off.Store(!on) }

// MatchedInMemory returns how many ReadMatch calls were answered without a
// statement.
func (d *DB) MatchedInMemory() uint64 { return d.mem.hits.Load() }

// memMatch returns the compiled form of e on c (nil: not supported), from
// the cache.
func (d *DB) memMatch(c *Collection, e filter.Expr, trusted bool) *MemMatch {
	k := memKey{c, e, trusted}
	st := &d.mem
	mc := st.cache.Load()
	if mc != nil {
		if v, ok := mc.m.Load(k); ok {
			return v.(*MemMatch)
		}
	}
	m := CompileMemMatch(c, e, trusted)
	st.mu.Lock()
	mc = st.cache.Load()
	if mc == nil || mc.n.Load() >= memCacheMax {
		mc = &memCache{}
		st.cache.Store(mc)
	}
	if _, loaded := mc.m.LoadOrStore(k, m); !loaded {
		mc.n.Add(1)
	}
	st.mu.Unlock()
	return m
}

// readMatchInMemory evaluates r's rule and filters on rec in memory; ok is
// false when any of them needs the statement.
func (d *DB) readMatchInMemory(r *Read, rec Record) (match, ok bool) {
	if d.mem.off.Load() {
		return false, false
	}
	var ms [4]*MemMatch
	list := ms[:0]
	if r.Rule != nil {
		m := d.memMatch(r.Collection, r.Rule, true)
		if m == nil {
			return false, false
		}
		list = append(list, m)
	}
	trusted := r.Request != nil && r.Request.Superuser
	for _, e := range r.Filters {
		m := d.memMatch(r.Collection, e, trusted)
		if m == nil {
			return false, false
		}
		list = append(list, m)
	}
	match = true
	for _, m := range list {
		t, ok := m.Eval(rec, r.Request)
		if !ok {
			return false, false
		}
		if t != triTrue {
			match = false
		}
	}
	d.mem.hits.Add(1)
	return match, true
}

// MatchPlan is a read's check prepared for in-memory evaluation on many
// records (a realtime subscription's rule and filters, event after
// event): the expressions compiled and the @request values resolved
// once. Match answers exactly as MatchInMemory would for the same read.
type MatchPlan struct {
	d      *DB
	always bool // nothing to check: every record matches
	ok     bool // memory can evaluate the read
	items  []matchPlanItem
}

type matchPlanItem struct {
	m    *MemMatch
	vals []*filterValue // m's @request values for the read's request
}

// PrepareMatch prepares r's rule and filters for Match. The plan holds r's
// @request as it is now: prepare again when the viewer changes.
func (d *DB) PrepareMatch(r *Read) *MatchPlan {
	p := &MatchPlan{d: d}
	if r.Rule == nil && len(r.Filters) == 0 {
		p.always, p.ok = true, true
		return p
	}
	add := func(e filter.Expr, trusted bool) bool {
		m := d.memMatch(r.Collection, e, trusted)
		if m == nil {
			return false
		}
		vals, ok := m.resolve(r.Request)
		p.items = append(p.items, matchPlanItem{m, vals})
		return ok
	}
	if r.Rule != nil && !add(r.Rule, true) {
		return p
	}
	trusted := r.Request != nil && r.Request.Superuser
	for _, e := range r.Filters {
		if !add(e, trusted) {
			return p
		}
	}
	p.ok = true
	return p
}

// Match evaluates the plan's read on rec in memory; ok is false when a
// statement is needed (or matching in memory is off), as for
// MatchInMemory.
func (p *MatchPlan) Match(rec Record) (match, ok bool) {
	if p.always {
		return true, true
	}
	if !p.ok || p.d.mem.off.Load() {
		return false, false
	}
	match = true
	for _, it := range p.items {
		ev := memEval{m: it.m, rec: rec, vals: it.vals}
		t, ok := ev.node(it.m.root)
		if !ok {
			return false, false
		}
		if t != triTrue {
			match = false
		}
	}
	p.d.mem.hits.Add(1)
	return match, true
}
