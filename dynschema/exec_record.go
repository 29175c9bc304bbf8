package dynschema

import (
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/monobase/monobase/access"
	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/db"
)

// The executor works per level: for a selection over a set of records of
// one collection it loads every relation and back-relation of the level
// with one query for all the records, recursively, and only then writes
// JSON. The number of SQL statements grows with the depth of the query,
// never with the number of rows.

// level is a selection over the records of one type with its relations
// loaded.
type level struct {
	t      *objType
	fields []levelField
}

type levelField struct {
	f       graphql.CollectedField
	key     string     // "alias":
	plan    *fieldPlan // nil for __typename
	args    map[string]any
	rel     *relData
	join    int                      // 1 + the index of the level query's join that reads the relation; 0: none
	sub     []graphql.CollectedField // File and GeoPoint selections
	subArgs []map[string]any         // File.url arguments
}

// relData is a relation or back-relation loaded for all the records of a
// level.
type relData struct {
	byID     map[string]db.Record   // relations: related record by id
	byParent map[string][]db.Record // back-relations: records by parent id
	err      error
	sub      *level
}

// load collects the selection of t and loads the relations of rows.
func (x *operation) load(t *objType, sel ast.SelectionSet, rows []db.Record) *level {
	lv := x.collect(t, sel)
	x.loadRelations(lv, rows)
	return lv
}

// collect collects the selection of t into a level whose relations are
// not loaded yet.
func (x *operation) collect(t *objType, sel ast.SelectionSet) *level {
	var fields []levelField
	if tmpl, ok := x.collected.levelFields(t, sel); ok {
		fields = slices.Clone(tmpl) // a prepared query's, collected before (prepared.go)
	} else {
		fields = x.collectFields(t, sel)
		x.collected.keepLevelFields(t, sel, fields)
	}
	lv := &level{t: t, fields: fields}
	// The arguments come from this operation's variables.
	for i := range fields {
		lf := &fields[i]
		if lf.plan == nil {
			continue
		}
		switch lf.plan.kind {
		case fkBack:
			lf.args = lf.f.ArgumentMap(x.oc.Variables)
		case fkFile, fkFileList:
			lf.subArgs = make([]map[string]any, len(lf.sub))
			for j := range lf.sub {
				if lf.sub[j].Name == "url" {
					lf.subArgs[j] = lf.sub[j].ArgumentMap(x.oc.Variables)
				}
			}
		}
	}
	return lv
}

// collectFields collects the fields of sel on t, with what does not
// depend on the variables: key, plan and the File and GeoPoint
// selections.
func (x *operation) collectFields(t *objType, sel ast.SelectionSet) []levelField {
	cf := graphql.CollectFields(x.oc, sel, t.satisfies)
	fields := make([]levelField, len(cf))
	for i := range cf {
		lf := &fields[i]
		lf.f = cf[i]
		lf.key = jsonKey(cf[i].Alias)
		if cf[i].Name == "__typename" {
			continue
		}
		p := t.fields[cf[i].Name]
		lf.plan = p
		if p == nil {
			continue
		}
		switch p.kind {
		case fkFile, fkFileList:
			lf.sub = graphql.CollectFields(x.oc, lf.f.Selections, []string{"File"})
		case fkGeo:
			lf.sub = graphql.CollectFields(x.oc, lf.f.Selections, []string{"GeoPoint"})
		}
	}
	return fields
}

// columns returns the fields that writing the level reads from a record
// (db.Read.Columns; id is always read).
func (lv *level) columns() []string {
	cols := make([]string, 0, len(lv.fields)+1)
	for i := range lv.fields {
		p := lv.fields[i].plan
		if p == nil || p.field == nil {
			continue
		}
		cols = append(cols, p.col)
		if p.kind == fkEmail && lv.t.coll.FieldByName("emailVisibility") != nil {
			cols = append(cols, "emailVisibility")
		}
	}
	if len(cols) == 0 {
		cols = append(cols, "id")
	}
	return cols
}

// findLevel runs r for the records of the level lv: it reads only the
// columns that lv needs (and extra), with the single relations of lv
// joined when join is set (see planJoins). The other relations are loaded
// by loadRelations. A rule, filter or sort that does not compile is
// reported as readErr does.
//
// A join runs for every row that SQLite visits, before OFFSET and before a
// sort: callers join only when (almost) every row visited is returned.
func (x *operation) findLevel(r *db.Read, lv *level, join bool, extra ...string) ([]db.Record, error) {
	r.Columns = append(lv.columns(), extra...)
	if join {
		r.Joins = x.planJoins(lv)
	}
	recs, joined, err := x.d.ReadRecords(x.dbctx, x.withRequest(r))
	var ce *db.CompileError
	if err != nil && len(r.Joins) > 0 && errors.As(err, &ce) && ce.Part == "join" {
		// A related rule that does not compile: read without joins, so
		// that loadRelation reports it on its own field.
		x.unplanJoins(lv)
		r.Joins = nil
		recs, joined, err = x.d.ReadRecords(x.dbctx, r)
	}
	if err != nil {
		return nil, readErr(r.Collection, err)
	}
	x.applyJoins(lv, len(r.Joins), joined)
	return recs, nil
}

// planJoins picks the single relations of lv that the level's own
// statement reads with a LEFT JOIN, the related collection's view rule
// applied to it (as loadRelation applies it), so that they cost no
// statement of their own. It returns the joins for the level's read.
func (x *operation) planJoins(lv *level) []db.ReadJoin {
	var joins []db.ReadJoin
	for i := range lv.fields {
		lf := &lv.fields[i]
		p := lf.plan
		if p == nil || p.kind != fkRel || p.target == nil || p.field == nil {
			continue
		}
		dec, err := x.acc.Rule(p.target.coll, access.View)
		if err != nil || !dec.Allowed {
			continue // loadRelation reports the error or leaves the field null
		}
		sub := x.collect(p.target, lf.f.Selections)
		joins = append(joins, db.ReadJoin{Field: p.col, Collection: p.target.coll, Rule: dec.Where, Columns: sub.columns()})
		lf.join = len(joins)
		lf.rel = &relData{sub: sub}
	}
	return joins
}

// unplanJoins undoes planJoins: the relations are loaded on their own.
func (x *operation) unplanJoins(lv *level) {
	for i := range lv.fields {
		if lf := &lv.fields[i]; lf.join != 0 {
			lf.join, lf.rel = 0, nil
		}
	}
}

// applyJoins fills the joined relations of lv from what the level's
// statement read (n joins, joined as db.FindJoined returns it) and loads
// the relations of the joined records.
func (x *operation) applyJoins(lv *level, n int, joined []db.Record) {
	if n == 0 {
		return
	}
	for i := range lv.fields {
		lf := &lv.fields[i]
		if lf.join == 0 {
			continue
		}
		rd := lf.rel
		rd.byID = make(map[string]db.Record, len(joined)/n)
		recs := make([]db.Record, 0, len(joined)/n)
		for k := lf.join - 1; k < len(joined); k += n {
			r := joined[k]
			if r == nil {
				continue
			}
			if id := r.ID(); rd.byID[id] == nil {
				rd.byID[id] = r
				recs = append(recs, r)
			}
		}
		x.loadRelations(rd.sub, recs)
	}
}

// loadRelations loads the relations and back-relations of lv for rows
// (those not joined by the level's statement).
func (x *operation) loadRelations(lv *level, rows []db.Record) {
	for i := range lv.fields {
		lf := &lv.fields[i]
		if lf.plan == nil || lf.join != 0 {
			continue
		}
		switch lf.plan.kind {
		case fkRel, fkRelList:
			lf.rel = x.loadRelation(lf.plan, lf.f, rows)
		case fkBack:
			lf.rel = x.loadBack(lf.plan, lf, rows)
		}
	}
}

// loadRelation loads the related records of all rows with one query; those
// the viewer may not view are left out (and read as null).
func (x *operation) loadRelation(p *fieldPlan, f graphql.CollectedField, rows []db.Record) *relData {
	rd := &relData{}
	var ids []string
	seen := make(map[string]struct{}, len(rows))
	add := func(id string) {
		if id == "" {
			return
		}
		if _, ok := seen[id]; !ok {
			seen[id] = struct{}{}
			ids = append(ids, id)
		}
	}
	for _, r := range rows {
		switch v := r[p.col].(type) {
		case string:
			add(v)
		case []string:
			for _, id := range v {
				add(id)
			}
		case []any:
			for _, id := range v {
				s, _ := id.(string)
				add(s)
			}
		}
	}
	if len(ids) == 0 {
		return rd
	}
	dec, err := x.acc.Rule(p.target.coll, access.View)
	if err != nil {
		rd.err = err
		return rd
	}
	if !dec.Allowed {
		return rd
	}
	sub := x.collect(p.target, f.Selections)
	recs, err := x.findLevel(x.idsRead(p.target, ids, dec.Where), sub, true)
	if err != nil {
		rd.err = fmt.Errorf("read %s by id: %w", p.target.coll.Name, err)
		return rd
	}
	rd.byID = make(map[string]db.Record, len(recs))
	for _, r := range recs {
		rd.byID[r.ID()] = r
	}
	x.loadRelations(sub, recs)
	rd.sub = sub
	return rd
}

// loadBack loads a back-relation for all rows with one query (per-parent
// limit and offset through a window function).
func (x *operation) loadBack(p *fieldPlan, lf *levelField, rows []db.Record) *relData {
	rd := &relData{}
	if len(rows) == 0 {
		return rd
	}
	parents := make([]string, 0, len(rows))
	seen := make(map[string]struct{}, len(rows))
	for _, r := range rows {
		id := r.ID()
		if _, ok := seen[id]; !ok && id != "" {
			seen[id] = struct{}{}
			parents = append(parents, id)
		}
	}
	lq, err := x.listSpec(p.target, lf.args, true)
	if err != nil {
		rd.err = err
		return rd
	}
	if lq == nil || lq.limit == 0 {
		return rd
	}
	sub := x.collect(p.target, lf.f.Selections)
	byParent, all, err := x.findPerParent(lq, p.via, parents, sub)
	if err != nil {
		rd.err = err
		return rd
	}
	rd.byParent = byParent
	x.loadRelations(sub, all)
	rd.sub = sub
	return rd
}

// writeRecord writes the selected fields of rec. It returns false when a
// non-null field was null: then nothing is written and the caller writes
// null for the record (the error is already recorded).
func (x *operation) writeRecord(lv *level, rec db.Record) bool {
	start := len(x.buf)
	fctx := x.fctx
	x.buf = append(x.buf, '{')
	for i := range lv.fields {
		lf := &lv.fields[i]
		if i > 0 {
			x.buf = append(x.buf, ',')
		}
		x.buf = append(x.buf, lf.key...)
		x.push(lf.f.Alias)
		ok := x.writeField(lv, lf, rec)
		x.pop()
		x.fctx = fctx
		if !ok {
			x.buf = x.buf[:start]
			return false
		}
	}
	x.buf = append(x.buf, '}')
	return true
}

// writeRecords writes a list of records; a record that is null makes the
// list null (items are non-null), and then the field (non-null) too.
func (x *operation) writeRecords(lv *level, recs []db.Record, f *ast.Field, nonNull bool) bool {
	start := len(x.buf)
	fctx := x.fctx
	// Room for the list at a guess of 16 bytes a value: fewer copies of a
	// growing buffer.
	est := 2
	for i := range lv.fields {
		est += len(lv.fields[i].key) + 16
	}
	x.buf = slices.Grow(x.buf, len(recs)*est)
	x.buf = append(x.buf, '[')
	for i, r := range recs {
		if i > 0 {
			x.buf = append(x.buf, ',')
		}
		x.pushIdx(i)
		x.withIndex(i)
		ok := x.writeRecord(lv, r)
		x.pop()
		x.fctx = fctx
		if !ok {
			x.buf = x.buf[:start]
			return x.nullFor(f, nonNull, true)
		}
	}
	x.buf = append(x.buf, ']')
	return true
}

func (x *operation) writeField(lv *level, lf *levelField, rec db.Record) bool {
	p := lf.plan
	if p == nil {
		if lf.f.Name == "__typename" {
			x.buf = appendString(x.buf, lv.t.name)
			return true
		}
		x.buf = append(x.buf, "null"...)
		return true
	}
	var val any
	var err error
	if x.mw {
		val, err = x.resolve(lv.t.name, lf.f, lf.args, func() (any, error) { return x.fieldValue(lv, lf, rec) })
	} else {
		val, err = x.fieldValue(lv, lf, rec)
	}
	if err != nil {
		x.fail(err, lf.f.Field)
		return x.nullFor(lf.f.Field, p.nonNull, true)
	}
	if val == nil {
		return x.nullFor(lf.f.Field, p.nonNull, false)
	}
	return x.writeValue(lv, lf, rec, val)
}

// fieldValue resolves one field of rec from the record and the loaded
// relations.
func (x *operation) fieldValue(lv *level, lf *levelField, rec db.Record) (any, error) {
	p := lf.plan
	switch p.kind {
	case fkRel:
		if lf.rel.err != nil {
			return nil, lf.rel.err
		}
		id, _ := rec[p.col].(string)
		if r, ok := lf.rel.byID[id]; ok {
			return r, nil
		}
		return nil, nil
	case fkRelList:
		if lf.rel.err != nil {
			return nil, lf.rel.err
		}
		ids := db.StringList(rec[p.col])
		out := make([]db.Record, 0, len(ids))
		for _, id := range ids {
			if r, ok := lf.rel.byID[id]; ok {
				out = append(out, r)
			}
		}
		return out, nil
	case fkBack:
		if lf.rel.err != nil {
			return nil, lf.rel.err
		}
		return lf.rel.byParent[rec.ID()], nil
	case fkEmail:
		v := rec[p.col]
		if v == nil || x.emailVisible(lv.t, rec) {
			return v, nil
		}
		return nil, nil
	case fkRelID, fkFile: // an empty id or file name reads as null
		if s, ok := rec[p.col].(string); ok && s != "" {
			return s, nil
		}
		return nil, nil
	case fkRelIDList, fkStringList, fkEnumList, fkFileList:
		return db.StringList(rec[p.col]), nil
	case fkBool:
		v := rec[p.col]
		if v == nil && p.zeroIfNull {
			return false, nil
		}
		return v, nil
	}
	return rec[p.col], nil
}

// emailVisible reports whether the viewer may see the email of rec:
// superusers, the record itself, or emailVisibility set.
func (x *operation) emailVisible(t *objType, rec db.Record) bool {
	if v, _ := rec["emailVisibility"].(bool); v {
		return true
	}
	vw := x.viewer
	if vw == nil {
		return false
	}
	if vw.Superuser {
		return true
	}
	return vw.Collection != nil && vw.Collection.ID == t.coll.ID && vw.ID() == rec.ID()
}

// writeValue writes a resolved non-nil value of a record field.
func (x *operation) writeValue(lv *level, lf *levelField, rec db.Record, val any) bool {
	p := lf.plan
	f := lf.f.Field
	switch p.kind {
	case fkID, fkString, fkEmail, fkDateTime, fkRelID:
		if s, ok := val.(string); ok {
			x.buf = appendString(x.buf, s)
		} else {
			x.buf = appendJSON(x.buf, val)
		}
	case fkFloat:
		n, ok := db.ToFloat(val)
		if !ok {
			return x.badValue(lf, val)
		}
		x.buf = appendFloat(x.buf, n)
	case fkInt:
		n, ok := db.ToFloat(val)
		if !ok {
			return x.badValue(lf, val)
		}
		x.buf = strconv.AppendInt(x.buf, int64(n), 10)
	case fkBool:
		b, ok := val.(bool)
		if !ok {
			return x.badValue(lf, val)
		}
		x.buf = strconv.AppendBool(x.buf, b)
	case fkEnum:
		s, _ := val.(string)
		if !p.enum[s] {
			return x.badValue(lf, val)
		}
		x.buf = appendString(x.buf, s)
	case fkStringList, fkRelIDList, fkEnumList:
		l := db.StringList(val)
		x.buf = append(x.buf, '[')
		n := 0
		for _, s := range l {
			if p.kind == fkEnumList && !p.enum[s] {
				continue // a value removed from the select options
			}
			if n > 0 {
				x.buf = append(x.buf, ',')
			}
			x.buf = appendString(x.buf, s)
			n++
		}
		x.buf = append(x.buf, ']')
	case fkJSON:
		x.buf = appendJSON(x.buf, val)
	case fkGeo:
		gp, ok := geoPointOf(val)
		if !ok {
			return x.badValue(lf, val)
		}
		x.writeGeo(lf, gp)
	case fkFile:
		s, _ := val.(string)
		x.writeFile(lv.t.coll, lf, rec, s)
	case fkFileList:
		x.buf = append(x.buf, '[')
		for i, s := range db.StringList(val) {
			if i > 0 {
				x.buf = append(x.buf, ',')
			}
			x.pushIdx(i)
			x.writeFile(lv.t.coll, lf, rec, s)
			x.pop()
		}
		x.buf = append(x.buf, ']')
	case fkRel:
		r, ok := val.(db.Record)
		if !ok || lf.rel.sub == nil {
			return x.badValue(lf, val)
		}
		if !x.writeRecord(lf.rel.sub, r) {
			return x.nullFor(f, p.nonNull, true)
		}
	case fkRelList, fkBack:
		recs, ok := val.([]db.Record)
		if !ok {
			return x.badValue(lf, val)
		}
		if len(recs) == 0 {
			x.buf = append(x.buf, '[', ']')
			return true
		}
		return x.writeRecords(lf.rel.sub, recs, f, true)
	default:
		x.buf = appendJSON(x.buf, val)
	}
	return true
}

func (x *operation) badValue(lf *levelField, val any) bool {
	x.fail(apperr.New(apperr.Internal, "field %s holds an unexpected %T", lf.plan.name, val), lf.f.Field)
	return x.nullFor(lf.f.Field, lf.plan.nonNull, true)
}

func (x *operation) writeGeo(lf *levelField, gp db.GeoPoint) {
	x.buf = append(x.buf, '{')
	for i, s := range lf.sub {
		if i > 0 {
			x.buf = append(x.buf, ',')
		}
		x.buf = appendKey(x.buf, s.Alias)
		switch s.Name {
		case "lon":
			x.buf = appendFloat(x.buf, gp.Lon)
		case "lat":
			x.buf = appendFloat(x.buf, gp.Lat)
		case "__typename":
			x.buf = appendString(x.buf, "GeoPoint")
		default:
			x.buf = append(x.buf, "null"...)
		}
	}
	x.buf = append(x.buf, '}')
}

func (x *operation) writeFile(c *db.Collection, lf *levelField, rec db.Record, name string) {
	x.buf = append(x.buf, '{')
	for i, s := range lf.sub {
		if i > 0 {
			x.buf = append(x.buf, ',')
		}
		x.buf = appendKey(x.buf, s.Alias)
		switch s.Name {
		case "name":
			x.buf = appendString(x.buf, name)
		case "url":
			a := lf.subArgs[i]
			thumb, _ := a["thumb"].(string)
			download, _ := a["download"].(bool)
			x.buf = appendString(x.buf, x.fileURL(c, rec, name, thumb, download))
		case "__typename":
			x.buf = appendString(x.buf, "File")
		default:
			x.buf = append(x.buf, "null"...)
		}
	}
	x.buf = append(x.buf, '}')
}

// geoPointOf returns v as a geo point: a db.GeoPoint, a pointer to one, or a
// {lon, lat} map as GraphQL input decodes it; false for anything else.
func geoPointOf(v any) (db.GeoPoint, bool) {
	switch g := v.(type) {
	case db.GeoPoint:
		return g, true
	case *db.GeoPoint:
		return *g, true
	case map[string]any:
		lon, _ := db.ToFloat(g["lon"])
		lat, _ := db.ToFloat(g["lat"])
		return db.GeoPoint{Lon: lon, Lat: lat}, true
	}
	return db.GeoPoint{}, false
}
