package db

import (
	"strings"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/db/filter"
)

// filterCursor is where a path walk stands: a row of coll, either a table
// row under a SQL alias (the scope's outer row or one of its joins) or a
// static record (@request.auth, @request.body) whose values are bound.
type filterCursor struct {
	coll   *Collection
	key    string         // the path so far, keys the scope's joins
	alias  string         // quoted alias of the row; "" for a static record
	static map[string]any // the static record when alias == ""
	shared bool           // alias is a join of the scope
	chain  *filterChain   // set once the path went through a multi step
	calias string         // the row's alias inside chain
	hops   int
}

// operand compiles an operand. anyOp: the comparison is any-of, so a bare
// multi-valued field stands for its values one by one.
func (s *filterScope) operand(o filter.Operand, anyOp bool) (*filterValue, error) {
	switch o := o.(type) {
	case *filter.Literal:
		return s.literal(o)
	case *filter.Ident:
		return s.ident(o, anyOp)
	case *filter.Call:
		return s.call(o)
	case *filter.List:
		return nil, filterErr(o.Pos, "a list needs in or notIn")
	}
	return nil, filterErr(0, "missing operand")
}

func (s *filterScope) ident(id *filter.Ident, anyOp bool) (*filterValue, error) {
	if len(id.Parts) == 0 || id.Parts[0] == "" {
		return nil, filterErr(id.Pos, "empty identifier")
	}
	first := id.Parts[0]
	if strings.HasPrefix(first, "@") {
		switch {
		case filter.Macros[first] && len(id.Parts) == 1 && id.Modifier == "":
			return s.macro(first), nil
		case first == "@request" && len(id.Parts) >= 2, first == "@collection" && len(id.Parts) >= 3:
			if !s.fc.trusted {
				return nil, filterErr(id.Pos, "only superusers can filter by %q", id.String())
			}
			if first == "@request" {
				return s.request(id, anyOp)
			}
			return s.collection(id, anyOp)
		}
		return nil, filterErr(id.Pos, "unknown identifier %q", id.String())
	}
	return s.walk(filterCursor{coll: s.base, alias: s.alias}, id, id.Parts, anyOp)
}

// walk resolves parts from the cursor: relations, back-relations and JSON
// paths up to the final field.
func (s *filterScope) walk(cur filterCursor, id *filter.Ident, parts []string, anyOp bool) (*filterValue, error) {
	for i := 0; ; i++ {
		part := parts[i]
		f := cur.coll.FieldByName(part)
		last := i == len(parts)-1
		if f == nil {
			if !last {
				if src, sf, ok := s.backRelation(cur, part); ok {
					next, err := s.backJoin(cur, src, sf, part, id)
					if err != nil {
						return nil, err
					}
					cur = next
					continue
				}
			}
			if id.Parts[0] == "@request" {
				return s.static(id, nil, false) // unknown @request.* fields read as NULL
			}
			return nil, filterErr(id.Pos, "unknown field %q", strings.Join(parts[:i+1], "."))
		}
		if err := s.checkField(cur.coll, f, id); err != nil {
			return nil, err
		}
		if last {
			return s.final(cur, f, id, anyOp)
		}
		switch f.Type {
		case FieldJSON, FieldGeoPoint:
			return s.jsonPath(cur, f, id, parts[i+1:])
		case FieldRelation:
			if !f.Multiple() && i+2 == len(parts) && parts[i+1] == "id" && id.Modifier == "" {
				return s.final(cur, f, &filter.Ident{Parts: parts[:i+1], Pos: id.Pos}, false)
			}
			next, err := s.relation(cur, f, id)
			if err != nil {
				return nil, err
			}
			cur = next
		default:
			return nil, filterErr(id.Pos, "field %q is not a relation", strings.Join(parts[:i+1], "."))
		}
	}
}

// checkField refuses hidden fields in untrusted compiles.
func (s *filterScope) checkField(c *Collection, f *Field, id *filter.Ident) error {
	if s.fc.trusted {
		return nil
	}
	if f.Hidden || f.Type == FieldPassword || c.IsAuth() && f.Name == "tokenKey" {
		return filterErr(id.Pos, "field %q cannot be filtered", f.Name)
	}
	return nil
}

// col returns the SQL of field f of the cursor's row.
func (s *filterScope) col(cur filterCursor, f *Field) (string, []any) {
	if cur.alias != "" {
		if cur.shared {
			s.used = true
		}
		return filterCol(cur.alias, f.Name), nil
	}
	v := s.staticConst(f, cur.static[f.Name])
	return v.sql, v.args
}

func (s *filterScope) target(f *Field, id *filter.Ident) (*Collection, error) {
	t, err := s.fc.lookup(f.Collection)
	if err != nil || t == nil {
		return nil, filterErr(id.Pos, "relation %q points to a missing collection", f.Name)
	}
	return t, nil
}

// vis appends to w the list rule of c for the row alias (untrusted only).
func (s *filterScope) vis(w *filterSQL, c *Collection, alias string, id *filter.Ident) error {
	if s.fc.trusted {
		return nil
	}
	if c.ListRule == nil {
		return filterErr(id.Pos, "%q: the records of %q are visible to superusers only", id.String(), c.Name)
	}
	if *c.ListRule == "" {
		return nil
	}
	e, err := filter.ParseCached(*c.ListRule)
	if err != nil {
		return apperr.Wrap(err, "list rule of %q", c.Name)
	}
	child := &filterCompiler{lookup: s.fc.lookup, dl: s.fc.dl, req: s.fc.req, trusted: true, now: s.fc.now, n: s.fc.n}
	cs := &filterScope{fc: child, base: c, alias: alias}
	var rw filterSQL
	if err := cs.top(&rw, e); err != nil {
		return apperr.Wrap(err, "list rule of %q", c.Name)
	}
	w.s(" AND (").arg(rw.String(), rw.args...).s(")")
	return nil
}

// relation moves the cursor along the relation field f.
func (s *filterScope) relation(cur filterCursor, f *Field, id *filter.Ident) (filterCursor, error) {
	if cur.hops >= filterMaxRelDepth {
		return cur, filterErr(id.Pos, "too many relation levels in %q (max %d)", id.String(), filterMaxRelDepth)
	}
	t, err := s.target(f, id)
	if err != nil {
		return cur, err
	}
	colSQL, colArgs := s.col(cur, f)
	tq := filterQuote(t.Name)
	next := filterCursor{coll: t, key: cur.key + "." + f.Name, shared: true, hops: cur.hops + 1}
	j := s.findJoin(next.key)
	if !f.Multiple() {
		if j == nil {
			a := s.fc.alias("j")
			var js filterSQL
			js.s("LEFT JOIN ", tq, " ", a, " ON ", a, `."id" = `).arg(colSQL, colArgs...)
			if err := s.vis(&js, t, a, id); err != nil {
				return cur, err
			}
			j = s.addJoin(next.key, a, js.String(), js.args)
		}
		if cur.chain != nil {
			m := s.fc.alias("m")
			var cs filterSQL
			cs.s(" JOIN ", tq, " ", m, " ON ", m, `."id" = `, filterCol(cur.calias, f.Name))
			if err := s.vis(&cs, t, m, id); err != nil {
				return cur, err
			}
			cur.chain.from.WriteString(cs.String())
			cur.chain.fargs = append(cur.chain.fargs, cs.args...)
			next.chain, next.calias = cur.chain, m
		}
	} else {
		if j == nil {
			je := s.fc.alias("j")
			var js filterSQL
			js.arg(s.fc.dl.eachFrom(colSQL, je, false, true), colArgs...)
			s.addJoin(next.key+"#", je, js.String(), js.args)
			a := s.fc.alias("j")
			js = filterSQL{}
			js.s("LEFT JOIN ", tq, " ", a, " ON ", a, `."id" = `, je, `."value"`)
			if err := s.vis(&js, t, a, id); err != nil {
				return cur, err
			}
			j = s.addJoin(next.key, a, js.String(), js.args)
		}
		ch, me := s.chainEach(cur, f, colSQL, colArgs)
		m := s.fc.alias("m")
		var cs filterSQL
		cs.s(" JOIN ", tq, " ", m, " ON ", m, `."id" = `, me, `."value"`)
		if err := s.vis(&cs, t, m, id); err != nil {
			return cur, err
		}
		ch.from.WriteString(cs.String())
		ch.fargs = append(ch.fargs, cs.args...)
		next.chain, next.calias = ch, m
	}
	s.used = true
	next.alias = j.alias
	return next, nil
}

// chainEach starts or extends the cursor's chain with json_each over the
// multi-valued field f; it returns the chain and the json_each alias.
func (s *filterScope) chainEach(cur filterCursor, f *Field, colSQL string, colArgs []any) (*filterChain, string) {
	me := s.fc.alias("m")
	ch := cur.chain
	if ch == nil {
		ch = &filterChain{}
		ch.from.WriteString(s.fc.dl.eachFrom(colSQL, me, false, false))
		ch.fargs = append(ch.fargs, colArgs...)
	} else {
		ch.from.WriteString(s.fc.dl.eachFrom(filterCol(cur.calias, f.Name), me, true, false))
	}
	return ch, me
}

// backRelation recognizes `<collection>_via_<field>` naming a relation field
// of another collection that points to the cursor's collection.
func (s *filterScope) backRelation(cur filterCursor, part string) (*Collection, *Field, bool) {
	i := strings.LastIndex(part, "_via_")
	if i <= 0 || i+5 >= len(part) {
		return nil, nil, false
	}
	src, err := s.fc.lookup(part[:i])
	if err != nil || src == nil {
		return nil, nil, false
	}
	sf := src.FieldByName(part[i+5:])
	if sf == nil || sf.Type != FieldRelation || (sf.Collection != cur.coll.ID && sf.Collection != cur.coll.Name) {
		return nil, nil, false
	}
	return src, sf, true
}

// backJoin moves the cursor to the records of src whose field sf points to
// the cursor's row. A back-relation is multi-valued.
func (s *filterScope) backJoin(cur filterCursor, src *Collection, sf *Field, part string, id *filter.Ident) (filterCursor, error) {
	if cur.hops >= filterMaxRelDepth {
		return cur, filterErr(id.Pos, "too many relation levels in %q (max %d)", id.String(), filterMaxRelDepth)
	}
	if err := s.checkField(src, sf, id); err != nil {
		return cur, err
	}
	idf := cur.coll.FieldByName("id")
	if idf == nil {
		idf = &Field{Name: "id", Type: FieldText}
	}
	idSQL, idArgs := s.col(cur, idf)
	sq := filterQuote(src.Name)
	sfq := filterQuote(sf.Name)
	match := func(w *filterSQL, a, idSQL string, idArgs []any) {
		if sf.Multiple() {
			w.arg(idSQL, idArgs...).s(s.fc.dl.eachIn(a + "." + sfq))
		} else {
			w.s(a, ".", sfq, " = ").arg(idSQL, idArgs...)
		}
	}
	next := filterCursor{coll: src, key: cur.key + "." + part, shared: true, hops: cur.hops + 1}
	j := s.findJoin(next.key)
	if j == nil {
		a := s.fc.alias("j")
		var js filterSQL
		js.s("LEFT JOIN ", sq, " ", a, " ON ")
		match(&js, a, idSQL, idArgs)
		if err := s.vis(&js, src, a, id); err != nil {
			return cur, err
		}
		j = s.addJoin(next.key, a, js.String(), js.args)
	}
	m := s.fc.alias("m")
	ch := cur.chain
	var cs filterSQL
	if ch == nil {
		ch = &filterChain{}
		ch.from.WriteString(sq + " " + m)
		match(&cs, m, idSQL, idArgs)
		if err := s.vis(&cs, src, m, id); err != nil {
			return cur, err
		}
		ch.where = append(ch.where, cs.String())
		ch.wargs = append(ch.wargs, cs.args...)
	} else {
		cs.s(" JOIN ", sq, " ", m, " ON ")
		match(&cs, m, cur.calias+`."id"`, nil)
		if err := s.vis(&cs, src, m, id); err != nil {
			return cur, err
		}
		ch.from.WriteString(cs.String())
		ch.fargs = append(ch.fargs, cs.args...)
	}
	s.used = true
	next.alias, next.chain, next.calias = j.alias, ch, m
	return next, nil
}

// final compiles the last field of a path with its modifier.
func (s *filterScope) final(cur filterCursor, f *Field, id *filter.Ident, anyOp bool) (*filterValue, error) {
	if cur.alias == "" {
		return s.finalStatic(cur, f, id, anyOp)
	}
	colSQL, _ := s.col(cur, f)
	ccol := ""
	if cur.chain != nil {
		ccol = filterCol(cur.calias, f.Name)
	}
	listy := f.Type == FieldSelect || f.Type == FieldRelation || f.Type == FieldFile
	wrap := func(x string) string { return x }
	v := &filterValue{field: f, pt: fieldPT(f)}
	switch id.Modifier {
	case "":
		if f.Multiple() && anyOp {
			return s.each(cur, f, colSQL, nil), nil
		}
		if f.Type == FieldJSON {
			wrap = s.fc.dl.jsonRoot
			v.noFallback = true
			v.pt = ptJSON
		}
		v.emptyArray = f.Multiple()
	case filter.ModLower:
		wrap = s.fc.dl.lower
		v.pt = ptText
	case filter.ModLength:
		v.pt = ptInt
		switch {
		case f.Multiple():
			wrap = s.fc.dl.jsonLength
		case listy:
			wrap = func(x string) string { return "(CASE WHEN " + x + " IS NULL OR " + x + " = '' THEN 0 ELSE 1 END)" }
		default:
			return nil, filterErr(id.Pos, ":length applies to select, relation and file fields, not %q", f.Name)
		}
		v.notNull = true
		v.field = nil
	case filter.ModEach:
		if !listy {
			return nil, filterErr(id.Pos, ":each applies to select, relation and file fields, not %q", f.Name)
		}
		if f.Multiple() {
			return s.each(cur, f, colSQL, nil), nil
		}
	case filter.ModIsset, filter.ModChanged:
		return nil, filterErr(id.Pos, ":%s applies to @request.body fields only", id.Modifier)
	default:
		return nil, filterErr(id.Pos, "unknown modifier %q", id.Modifier)
	}
	v.sql = wrap(colSQL)
	if cur.chain != nil {
		cur.chain.value = wrap(ccol)
		v.multi = cur.chain
	}
	if !s.fc.trusted && cur.coll.IsAuth() && f.Name == "email" && cur.coll.FieldByName("emailVisibility") != nil {
		v.guard = cur.alias + `."emailVisibility" = 1`
		if cur.chain != nil {
			cur.chain.where = append(cur.chain.where, cur.calias+`."emailVisibility" = 1`)
		}
	}
	return v, nil
}

// each returns the values of the multi-valued field f one by one: a shared
// json_each join plus the chain for all-values semantics.
func (s *filterScope) each(cur filterCursor, f *Field, colSQL string, colArgs []any) *filterValue {
	key := cur.key + "." + f.Name + ":each"
	j := s.findJoin(key)
	if j == nil {
		a := s.fc.alias("j")
		var js filterSQL
		js.arg(s.fc.dl.eachFrom(colSQL, a, false, true), colArgs...)
		j = s.addJoin(key, a, js.String(), js.args)
	}
	s.used = true
	ch, me := s.chainEach(cur, f, colSQL, colArgs)
	ch.value = me + `."value"`
	return &filterValue{sql: j.alias + `."value"`, multi: ch, pt: ptText}
}

// jsonPath compiles a path into a JSON or GEOPOINT field.
func (s *filterScope) jsonPath(cur filterCursor, f *Field, id *filter.Ident, rest []string) (*filterValue, error) {
	for _, p := range rest {
		if p == "" {
			return nil, filterErr(id.Pos, "invalid path %q", id.String())
		}
		for i := 0; i < len(p); i++ {
			if c := p[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
				return nil, filterErr(id.Pos, "invalid path %q", id.String())
			}
		}
	}
	if cur.alias == "" {
		raw, present := cur.static[f.Name]
		if present {
			raw, present = filterExtract(raw, rest)
		}
		return s.static(id, raw, present)
	}
	colSQL, _ := s.col(cur, f)
	var p any
	wrap := func(x string) string {
		var e string
		e, p = s.fc.dl.jsonPath(x, rest)
		return e
	}
	pt := byte(ptJSON)
	switch id.Modifier {
	case "":
	case filter.ModLower:
		wrap = func(x string) string {
			var e string
			e, p = s.fc.dl.jsonPath(x, rest)
			if s.fc.dl.strict() {
				e += " #>> '{}'"
			}
			return s.fc.dl.lower(e)
		}
		pt = ptText
	default:
		return nil, filterErr(id.Pos, "modifier :%s is not supported on %q", id.Modifier, id.String())
	}
	v := &filterValue{sql: wrap(colSQL), args: []any{p}, noFallback: true, pt: pt}
	if cur.chain != nil {
		cur.chain.value = wrap(filterCol(cur.calias, f.Name))
		cur.chain.vargs = []any{p}
		v.multi = cur.chain
	}
	return v, nil
}

// collection compiles @collection.<name>[:alias].<path>: any row of that
// collection, joined once per name or alias.
func (s *filterScope) collection(id *filter.Ident, anyOp bool) (*filterValue, error) {
	name, _, _ := strings.Cut(id.Parts[1], ":")
	c, err := s.fc.lookup(name)
	if err != nil || c == nil {
		return nil, filterErr(id.Pos, "unknown collection %q", name)
	}
	key := "@collection." + id.Parts[1]
	cq := filterQuote(c.Name)
	j := s.findJoin(key)
	if j == nil {
		a := s.fc.alias("j")
		j = s.addJoin(key, a, "LEFT JOIN "+cq+" "+a+" ON "+s.fc.dl.boolLit(true), nil)
	}
	m := s.fc.alias("m")
	ch := &filterChain{}
	ch.from.WriteString(cq + " " + m)
	s.used = true
	cur := filterCursor{coll: c, key: key, alias: j.alias, shared: true, chain: ch, calias: m}
	return s.walk(cur, id, id.Parts[2:], anyOp)
}
