package dynschema

import (
	"fmt"
	"strings"

	"github.com/99designs/gqlgen/graphql"

	"github.com/monobase/monobase/access"
	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/db/filter"
	"github.com/monobase/monobase/files"
)

// listSpec is a list read before it is compiled for a table alias.
type listSpec struct {
	t      *objType
	rule   filter.Expr   // nil: every record passes the list rule
	exprs  []filter.Expr // where, filter
	sort   []filter.SortItem
	limit  int
	offset int
}

// listSpec reads the list arguments (where, filter, orderBy, sort, limit,
// offset) of a list of t. For a relation (back-relation) a nil rule gives a
// nil spec (the records are left out); for a root list it is FORBIDDEN.
func (x *operation) listSpec(t *objType, args map[string]any, relation bool) (*listSpec, error) {
	dec, err := x.acc.Rule(t.coll, access.List)
	if err != nil {
		return nil, err
	}
	if !dec.Allowed {
		if relation {
			return nil, nil
		}
		return nil, access.Forbidden(t.coll, access.List)
	}
	s := &listSpec{t: t, rule: dec.Where, limit: defaultLimit}
	if err := x.readFilters(s, args); err != nil {
		return nil, err
	}
	if v, ok := args["orderBy"]; ok && v != nil {
		items, err := orderItems(t, v)
		if err != nil {
			return nil, err
		}
		s.sort = append(s.sort, items...)
	}
	if str, ok := args["sort"].(string); ok && strings.TrimSpace(str) != "" {
		items, err := parseSort(str)
		if err != nil {
			return nil, invalidArg("sort", err)
		}
		s.sort = append(s.sort, items...)
	}
	if v, ok := args["limit"]; ok && v != nil {
		n, _ := toInt(v)
		if max := x.v.eng.maxLimit(); n < 0 || n > max {
			return nil, apperr.InvalidFields("invalid limit", map[string]apperr.FieldError{
				"limit": {Code: "out_of_range", Message: fmt.Sprintf("limit must be between 0 and %d", max)},
			})
		}
		s.limit = n
	}
	if v, ok := args["offset"]; ok && v != nil {
		n, _ := toInt(v)
		if n < 0 {
			return nil, apperr.InvalidFields("invalid offset", map[string]apperr.FieldError{
				"offset": {Code: "out_of_range", Message: "offset must not be negative"},
			})
		}
		s.offset = n
	}
	return s, nil
}

// filteredSpec returns the records the viewer may list (the list rule),
// narrowed by the where and filter arguments, without paging: where
// aggregates, connections and groups start.
func (x *operation) filteredSpec(t *objType, args map[string]any) (*listSpec, error) {
	dec, err := x.acc.Require(t.coll, access.List)
	if err != nil {
		return nil, err
	}
	spec := &listSpec{t: t, rule: dec.Where}
	if err := x.readFilters(spec, args); err != nil {
		return nil, err
	}
	return spec, nil
}

// readFilters adds the where and filter arguments to s.
func (x *operation) readFilters(s *listSpec, args map[string]any) error {
	if w, ok := args["where"].(map[string]any); ok && len(w) > 0 {
		e, err := whereExpr(s.t, w)
		if err != nil {
			return err
		}
		s.exprs = append(s.exprs, e)
	}
	if str, ok := args["filter"].(string); ok && strings.TrimSpace(str) != "" {
		e, err := parseFilter(str)
		if err != nil {
			return invalidArg("filter", err)
		}
		s.exprs = append(s.exprs, e)
	}
	return nil
}

// invalidArg keys a BAD_USER_INPUT error of the argument name (a filter,
// sort or where) by that name, keeping its position; other errors (a broken
// rule of a related collection, a database failure) stay as they are.
func invalidArg(name string, err error) error {
	e := apperr.As(err)
	if e == nil || e.Code != apperr.Invalid {
		return err
	}
	if len(e.Fields) > 0 {
		return e
	}
	out := apperr.InvalidFields("invalid "+name+": "+e.Message, map[string]apperr.FieldError{name: {Code: "invalid", Message: e.Message}})
	out.Pos = e.Pos
	return out
}

// read describes the read of the records of s (the list rule, the
// filters, the order and the page) for db; withRequest adds @request. Without orderBy or sort, a
// list is in creation order: for tables insertion order, so SQLite reads
// a page without sorting the whole table; views order by created when
// they have it.
func (x *operation) read(s *listSpec) *db.Read {
	return &db.Read{
		Collection: s.t.coll,
		Rule:       s.rule,
		Filters:    s.exprs,
		Sort:       s.sort,
		Limit:      s.limit,
		Offset:     s.offset,
	}
}

// hasSingleRelation reports whether lv selects a single relation (that a
// join could read).
func hasSingleRelation(lv *level) bool {
	for i := range lv.fields {
		if p := lv.fields[i].plan; p != nil && p.kind == fkRel {
			return true
		}
	}
	return false
}

// idsRead reads the records of t with those ids that meet rule (nil: all).
func (x *operation) idsRead(t *objType, ids []string, rule filter.Expr) *db.Read {
	return &db.Read{Collection: t.coll, IDs: ids, Rule: rule}
}

// findByIDs reads the records of t with those ids that meet rule.
func (x *operation) findByIDs(t *objType, ids []string, rule filter.Expr) ([]db.Record, error) {
	recs, _, err := x.d.ReadRecords(x.dbctx, x.withRequest(x.idsRead(t, ids, rule)))
	if err != nil {
		return nil, fmt.Errorf("read %s by id: %w", t.coll.Name, readErr(t.coll, err))
	}
	return recs, nil
}

// findPerParent runs a back-relation for many parents in one statement: the
// records of s.t whose relation field via points at one of parents, at most
// offset+limit per parent (db.Read.Parents); offset and limit are then
// applied per parent in the common order.
func (x *operation) findPerParent(s *listSpec, via *db.Field, parents []string, lv *level) (map[string][]db.Record, []db.Record, error) {
	r := x.read(s)
	r.Parents = &db.Parents{Field: via.Name, IDs: parents}
	window := s.offset + s.limit
	rows, err := x.findLevel(r, lv, true, via.Name)
	if err != nil {
		return nil, nil, fmt.Errorf("read the back-relation %s.%s: %w", s.t.coll.Name, via.Name, err)
	}
	want := make(map[string]int, len(parents))
	for _, p := range parents {
		want[p] = 0
	}
	byParent := make(map[string][]db.Record, len(parents))
	all := rows[:0:0]
	for _, r := range rows {
		used := false
		for _, p := range db.StringList(r[via.Name]) {
			n, ok := want[p]
			if !ok || n >= window {
				continue
			}
			want[p] = n + 1
			if n >= s.offset {
				byParent[p] = append(byParent[p], r)
				used = true
			}
		}
		if used {
			all = append(all, r)
		}
	}
	return byParent, all, nil
}

// single writes `post(id)`: null when missing or not viewable.
func (x *operation) single(t *objType, f graphql.CollectedField) bool {
	id, _ := f.ArgumentMap(x.oc.Variables)["id"].(string)
	dec, err := x.acc.Require(t.coll, access.View)
	if err != nil {
		x.fail(err, f.Field)
		return x.nullFor(f.Field, false, true)
	}
	lv := x.collect(t, f.Selections)
	recs, err := x.findLevel(x.idsRead(t, []string{id}, dec.Where), lv, true)
	if err != nil {
		err = fmt.Errorf("read %s by id: %w", t.coll.Name, err)
		x.fail(err, f.Field)
		return x.nullFor(f.Field, false, true)
	}
	if len(recs) == 0 {
		x.buf = append(x.buf, "null"...)
		return true
	}
	x.loadRelations(lv, recs[:1])
	if !x.writeRecord(lv, recs[0]) {
		return x.nullFor(f.Field, false, true)
	}
	return true
}

// list writes `posts(...)`.
func (x *operation) list(t *objType, f graphql.CollectedField) bool {
	spec, err := x.listSpec(t, f.ArgumentMap(x.oc.Variables), false)
	if err != nil {
		x.fail(err, f.Field)
		return x.nullFor(f.Field, true, true)
	}
	if spec.limit == 0 {
		x.buf = append(x.buf, '[', ']')
		return true
	}
	lv := x.collect(t, f.Selections)
	// A join runs for every row SQLite visits: in the default (table)
	// order offset+limit rows, with a sort every row that matches. Past
	// that a table's page is picked first (db.Read.PickPage).
	join := hasSingleRelation(lv)
	r := x.read(spec)
	if join && (len(spec.sort) > 0 || spec.offset > spec.limit) && x.d.CanPickPage(t.coll) {
		r.PickPage = true
	} else {
		join = join && len(spec.sort) == 0 && spec.offset <= spec.limit
	}
	rows, err := x.findLevel(r, lv, join)
	if err != nil {
		x.fail(fmt.Errorf("list %s: %w", t.coll.Name, err), f.Field)
		return x.nullFor(f.Field, true, true)
	}
	x.loadRelations(lv, rows)
	return x.writeRecords(lv, rows, f.Field, true)
}

// me writes the viewer's record typed as its collection's type.
func (x *operation) me(f graphql.CollectedField) bool {
	v := x.viewer
	if v == nil || v.Superuser || v.Collection == nil || v.Record == nil {
		x.buf = append(x.buf, "null"...)
		return true
	}
	t := x.v.m.byColl[v.Collection.ID]
	if t == nil {
		x.buf = append(x.buf, "null"...)
		return true
	}
	rows := []db.Record{v.Record}
	lv := x.load(t, f.Selections, rows)
	if !x.writeRecord(lv, v.Record) {
		return x.nullFor(f.Field, false, true)
	}
	return true
}

// aggregate writes `postsAggregate`: only what is selected is computed.
func (x *operation) aggregate(t *objType, f graphql.CollectedField) bool {
	spec, err := x.filteredSpec(t, f.ArgumentMap(x.oc.Variables))
	if err != nil {
		x.fail(err, f.Field)
		return x.nullFor(f.Field, true, true)
	}
	fields := graphql.CollectFields(x.oc, f.Selections, []string{t.name + "Aggregate"})
	subs := make([][]graphql.CollectedField, len(fields)) // the selections of sum, avg, min and max
	var numbers []string
	seen := map[string]bool{}
	for i, cf := range fields {
		switch cf.Name {
		case "sum", "avg", "min", "max":
			subs[i] = graphql.CollectFields(x.oc, cf.Selections, []string{t.name + "AggregateNumbers"})
			for _, s := range subs[i] {
				if s.Name != "__typename" && !seen[s.Name] {
					seen[s.Name] = true
					numbers = append(numbers, s.Name)
				}
			}
		}
	}
	q := x.withRequest(x.read(spec))
	var res map[string]map[string]any
	var count int64
	if len(numbers) > 0 {
		res, err = x.d.ReadAggregate(x.dbctx, q, numbers)
		if err == nil {
			n, _ := db.ToFloat(res[""]["count"])
			count = int64(n)
		}
	} else {
		counted := false
		for _, cf := range fields {
			if cf.Name == "count" {
				count, err = x.d.ReadCount(x.dbctx, q)
				counted = true
				break
			}
		}
		if !counted {
			err = x.d.CheckRead(q) // a bad filter is reported all the same
		}
	}
	if err != nil {
		x.fail(fmt.Errorf("aggregate %s: %w", t.coll.Name, readErr(t.coll, err)), f.Field)
		return x.nullFor(f.Field, true, true)
	}
	i := -1 // writeObject visits fields in order
	return x.writeObject(fields, func(cf graphql.CollectedField) bool {
		i++
		switch cf.Name {
		case "__typename":
			x.buf = appendString(x.buf, t.name+"Aggregate")
		case "count":
			x.buf = fmt.Appendf(x.buf, "%d", count)
		case "sum", "avg", "min", "max":
			op := cf.Name
			x.writeObject(subs[i], func(s graphql.CollectedField) bool {
				n, ok := db.ToFloat(res[s.Name][op])
				switch {
				case s.Name == "__typename":
					x.buf = appendString(x.buf, t.name+"AggregateNumbers")
				case ok:
					x.buf = appendFloat(x.buf, n)
				default:
					x.buf = append(x.buf, "null"...)
				}
				return true
			})
		default:
			x.buf = append(x.buf, "null"...)
		}
		return true
	})
}

// fileURL is the download URL of a stored file.
func (x *operation) fileURL(c *db.Collection, rec db.Record, name, thumb string, download bool) string {
	if fs := x.v.eng.cfg.Files; fs != nil {
		return fs.URL(c, rec.ID(), name, thumb, download)
	}
	return files.URL(c, rec.ID(), name, thumb, download)
}
