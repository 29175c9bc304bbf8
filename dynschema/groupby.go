package dynschema

// <list>GroupBy: the types and the root field of a collection's grouped
// reads (this file), and their execution (groupby_exec.go). Grouping runs
// in SQL (db.ReadGroups).

import (
	"strings"
	"sync"

	"github.com/monobase/monobase/db"
)

// groupByKey is one value of <Type>GroupField: a key of the grouping and the
// field of <Type>GroupKey that holds it.
type groupByKey struct {
	name string
	key  db.GroupKey
	typ  string // its GraphQL type
	kind fieldKind
	enum map[string]bool // fkEnum
}

// groupPlan is the grouping of one collection: its keys in SDL order and,
// made on first use (a schema build only writes the SDL), the keys by name
// and the type the keys are written as.
type groupPlan struct {
	list []groupByKey
	t    *objType

	once    sync.Once
	keys    map[string]*groupByKey
	keyType *objType // <Type>GroupKey, for writeRecord
}

// lookup returns the keys by name and the key type, making them once.
func (gp *groupPlan) lookup() (map[string]*groupByKey, *objType) {
	gp.once.Do(func() {
		t := gp.t
		gp.keys = make(map[string]*groupByKey, len(gp.list))
		kt := &objType{name: t.name + "GroupKey", coll: t.coll, n: t.n, fields: make(map[string]*fieldPlan, len(gp.list))}
		kt.satisfies = []string{kt.name}
		for i := range gp.list {
			k := &gp.list[i]
			gp.keys[k.name] = k
			kt.fields[k.name] = &fieldPlan{name: k.name, kind: k.kind, col: k.name, field: t.coll.FieldByName(k.key.Field), enum: k.enum}
		}
		gp.keyType = kt
	})
	return gp.keys, gp.keyType
}

// groupSuffixes are the suffixes of the types a collection's groupBy adds
// to its type name.
var groupSuffixes = []string{"Group", "GroupKey", "GroupField", "GroupOrderBy", "GroupKeyOrderBy", "GroupNumbersOrderBy"}

// derivedSuffixes are the suffixes of the types every collection derives
// from its type name (derivedTypes).
var derivedSuffixes = []string{"Where", "OrderBy", "Aggregate", "AggregateNumbers", "Connection", "Edge",
	"CreateInput", "UpdateInput", "Change", "Auth"}

// datePartKeys are the keys a DATE or AUTODATE field adds besides its
// value: the field's name with this suffix.
var datePartKeys = []struct {
	suffix string
	part   db.DatePart
}{{"Year", db.PartYear}, {"Month", db.PartMonth}, {"Day", db.PartDay}, {"Hour", db.PartHour}}

// groupBy adds t's <list>GroupBy root field and its types, unless t has
// nothing to group by or a name it needs is another's: then t has no
// groupBy, and the schema stays what it was without it.
func (cp *compiler) groupBy(t *objType) {
	gp := groupPlanOf(t)
	if gp == nil || !cp.groupNamesFree(t) {
		return
	}
	t.group = gp
	for _, s := range groupSuffixes {
		cp.claimType(t.coll, t.name+s)
	}
	ex := cp.extra(t)
	num := t.name + "AggregateNumbers"
	ws(ex, "\n\"\"\"A group of ", t.coll.Name, " records: the values grouped by, how many records and the number fields' aggregates.\"\"\"\ntype ",
		t.name, "Group {\n  key: ", t.name, "GroupKey!\n  count: Int!\n")
	if len(t.numbers) > 0 {
		ws(ex, "  sum: ", num, "\n  avg: ", num, "\n  min: ", num, "\n  max: ", num, "\n")
	}
	ws(ex, "}\n\n\"\"\"The values a group is grouped by (null: not grouped by, or no value).\"\"\"\ntype ", t.name, "GroupKey {\n")
	for i := range gp.list {
		line(ex, gp.list[i].name, gp.list[i].typ)
	}
	ws(ex, "}\n\n\"\"\"A key of ", t.name, "GroupKey to group by.\"\"\"\nenum ", t.name, "GroupField {\n")
	for i := range gp.list {
		ws(ex, "  ", gp.list[i].name, "\n")
	}
	ws(ex, "}\n\n\"\"\"One field per item.\"\"\"\ninput ", t.name, "GroupOrderBy @oneOf {\n  key: ", t.name, "GroupKeyOrderBy\n  count: OrderDirection\n")
	if len(t.numbers) > 0 {
		o := t.name + "GroupNumbersOrderBy"
		ws(ex, "  sum: ", o, "\n  avg: ", o, "\n  min: ", o, "\n  max: ", o, "\n")
	}
	ws(ex, "}\n\n\"\"\"One field per item.\"\"\"\ninput ", t.name, "GroupKeyOrderBy @oneOf {\n")
	for i := range gp.list {
		line(ex, gp.list[i].name, "OrderDirection")
	}
	ex.WriteString("}\n")
	if len(t.numbers) > 0 {
		ws(ex, "\n\"\"\"One field per item.\"\"\"\ninput ", t.name, "GroupNumbersOrderBy @oneOf {\n")
		for _, f := range t.numbers {
			line(ex, f.Name, "OrderDirection")
		}
		ex.WriteString("}\n")
	}
	name := t.n.List + "GroupBy"
	ws(&cp.query, "  \"\"\"Groups the records the list rule lets the caller see (by: at least one key).\"\"\"\n  ", name, "(by: [", t.name,
		"GroupField!]!, where: ", t.name, "Where, filter: String, orderBy: [", t.name, "GroupOrderBy!], limit: Int = ", defaultLimitText,
		", offset: Int = 0): [", t.name, "Group!]!\n")
	cp.claimRoot(t.coll, "Query", name, &rootField{kind: rkGroupBy, t: t})
}

// groupNamesFree reports whether the type names and the root field of t's
// groupBy are free: not defined yet, and not names that another
// collection's own types or root fields will take (those win). It looks
// names up by their prefixes, so a build stays linear in the collections.
func (cp *compiler) groupNamesFree(t *objType) bool {
	root := t.n.List + "GroupBy"
	if _, taken := cp.roots["Query"][root]; taken {
		return false
	}
	for _, s := range groupSuffixes {
		name := t.name + s
		if _, taken := cp.owners[name]; taken {
			return false
		}
		for i := 1; i < len(name); i++ {
			if o := cp.m.types[name[:i]]; o != nil && o != t && derivedByOther(o, name[i:]) {
				return false
			}
		}
	}
	for _, o := range cp.types {
		if o == t {
			continue
		}
		if o.n.Single == root || o.n.List == root {
			return false
		}
		if rest, ok := strings.CutPrefix(root, o.n.List); ok && (rest == "Aggregate" || rest == "Connection") {
			return false
		}
	}
	return true
}

// derivedByOther reports whether o derives a type named o's name + rest:
// a derived type, or a select field's enum and its filter.
func derivedByOther(o *objType, rest string) bool {
	for _, s := range derivedSuffixes {
		if rest == s {
			return true
		}
	}
	if rest == "" || rest[0] < 'A' || rest[0] > 'Z' {
		return false // o's name ends inside a word of t's
	}
	for _, f := range o.coll.Fields {
		if f.Type != db.FieldSelect {
			continue
		}
		n := len(f.Name) - strings.Count(f.Name, "_") // pascal's length, without making it
		if len(rest) != n && len(rest) != n+len("Filter") {
			continue
		}
		if p := pascal(f.Name); rest == p || rest == p+"Filter" {
			return true
		}
	}
	return false
}

// groupPlanOf returns the keys t may be grouped by, nil for none: every
// visible single-valued field of the object type that is text (not
// editor), number, bool, select or a relation's id, and the year, month,
// day and hour of dates. A part whose name a field has is left out.
func groupPlanOf(t *objType) *groupPlan {
	gp := &groupPlan{t: t}
	add := func(name string, k db.GroupKey, kind fieldKind, typ string, enum map[string]bool) {
		if name == "true" || name == "false" || name == "null" {
			return
		}
		for i := range gp.list {
			if gp.list[i].name == name {
				return
			}
		}
		gp.list = append(gp.list, groupByKey{name: name, key: k, typ: typ, kind: kind, enum: enum})
	}
	var dates []*db.Field
	for _, f := range t.coll.Fields {
		if f.Hidden || f.Multiple() || (f.System && f.Name == "id") || isAuthSystem(t.coll, f) {
			continue
		}
		p := t.fields[f.Name]
		if f.Type == db.FieldRelation {
			p = t.fields[f.Name+"Id"]
		}
		if p == nil || p.field != f {
			continue
		}
		var typ string
		switch p.kind {
		case fkString:
			if f.Type == db.FieldEditor {
				continue
			}
			typ = "String"
		case fkFloat:
			typ = "Float"
		case fkInt:
			typ = "Int"
		case fkBool:
			typ = "Boolean"
		case fkEnum:
			typ = t.name + pascal(f.Name)
		case fkRelID:
			typ = "ID"
		case fkDateTime: // by its parts only: exact instants rarely repeat
			dates = append(dates, f)
			continue
		default:
			continue
		}
		add(p.name, db.GroupKey{Field: f.Name}, p.kind, typ, p.enum)
	}
	for _, f := range dates {
		for _, d := range datePartKeys {
			if t.fields[f.Name+d.suffix] == nil {
				add(f.Name+d.suffix, db.GroupKey{Field: f.Name, Part: d.part}, fkDateTime, "DateTime", nil)
			}
		}
	}
	if len(gp.list) == 0 {
		return nil
	}
	return gp
}
