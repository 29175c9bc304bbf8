package dynschema

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/db"
)

// builtinSDL holds the types every application schema has.
const builtinSDL = `"""An RFC 3339 date-time in UTC, such as 2024-05-01T12:00:00.000Z."""
scalar DateTime
"""Any JSON value."""
scalar JSON
"""A file of a multipart request (GraphQL multipart request spec)."""
scalar Upload

"""A geographic point."""
type GeoPoint {
  lon: Float!
  lat: Float!
}

input GeoPointInput {
  lon: Float!
  lat: Float!
}

"""A stored file."""
type File {
  name: String!
  """The download URL; thumb is a size such as 100x100, 100x100t, 100x0."""
  url(thumb: String, download: Boolean): String!
}

"""Every record of every collection."""
interface Record {
  id: ID!
}

"""A record of an auth collection."""
interface AuthRecord {
  id: ID!
  email: String
  verified: Boolean!
}

enum ChangeAction {
  CREATE
  UPDATE
  DELETE
}

enum OrderDirection {
  ASC
  DESC
}

type PageInfo {
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: String
  endCursor: String
}

input StringFilter {
  eq: String
  ne: String
  in: [String!]
  notIn: [String!]
  contains: String
  notContains: String
  startsWith: String
  endsWith: String
  like: String
  gt: String
  gte: String
  lt: String
  lte: String
  isNull: Boolean
}

input IDFilter {
  eq: ID
  ne: ID
  in: [ID!]
  notIn: [ID!]
  isNull: Boolean
}

input FloatFilter {
  eq: Float
  ne: Float
  in: [Float!]
  notIn: [Float!]
  gt: Float
  gte: Float
  lt: Float
  lte: Float
  isNull: Boolean
}

input IntFilter {
  eq: Int
  ne: Int
  in: [Int!]
  notIn: [Int!]
  gt: Int
  gte: Int
  lt: Int
  lte: Int
  isNull: Boolean
}

input DateTimeFilter {
  eq: DateTime
  ne: DateTime
  in: [DateTime!]
  notIn: [DateTime!]
  gt: DateTime
  gte: DateTime
  lt: DateTime
  lte: DateTime
  isNull: Boolean
}

input BooleanFilter {
  eq: Boolean
  ne: Boolean
  isNull: Boolean
}
`

// builtinTypeNames are taken by the built-in schema.
var builtinTypeNames = []string{
	"Query", "Mutation", "Subscription", "String", "Int", "Float", "Boolean", "ID",
	"DateTime", "JSON", "Upload", "GeoPoint", "GeoPointInput", "File", "Record",
	"AuthRecord", "ChangeAction", "OrderDirection", "PageInfo", "StringFilter",
	"IDFilter", "FloatFilter", "IntFilter", "DateTimeFilter", "BooleanFilter",
}

// compiler builds the model and SDL of one set of collections.
type compiler struct {
	m      *model
	owners map[string]string // type name -> who defined it
	roots  map[string]map[string]string
	errs   apperr.FieldErrors
	types  []*objType // exposed, in order
	sb     strings.Builder

	// SDL pieces per type, appended in order at the end.
	typeSDL  map[*objType]*strings.Builder
	extraSDL map[*objType]*strings.Builder
	query    strings.Builder
	mutation strings.Builder
	sub      strings.Builder
}

// exposed reports whether a collection is part of the application schema.
func exposed(c *db.Collection) bool { return !strings.HasPrefix(c.Name, "_") }

// compile turns the collections into the model and SDL of the application
// schema. Name clashes and invalid GraphQL names are apperr.Invalid with
// per-field messages; nothing else fails.
func compile(colls []*db.Collection) (*model, error) {
	cp := &compiler{
		m: &model{
			types:        map[string]*objType{},
			byColl:       map[string]*objType{},
			query:        map[string]*rootField{},
			mutation:     map[string]*rootField{},
			subscription: map[string]*rootField{},
		},
		owners:   map[string]string{},
		roots:    map[string]map[string]string{"Query": {}, "Mutation": {}, "Subscription": {}},
		typeSDL:  map[*objType]*strings.Builder{},
		extraSDL: map[*objType]*strings.Builder{},
	}
	for _, n := range builtinTypeNames {
		cp.owners[n] = "built-in"
	}
	cp.roots["Query"]["me"] = "built-in"
	cp.roots["Mutation"]["fileToken"] = "built-in"
	cp.sb.Grow(4096 + len(colls)*4096)
	cp.query.Grow(len(colls) * 700)
	cp.mutation.Grow(len(colls) * 300)
	cp.sub.Grow(len(colls) * 150)

	// Pass 1: names and types, so relations can reference any collection.
	for _, c := range colls {
		if !exposed(c) {
			continue
		}
		n := namesFor(c.Name, c.GraphQLSingle, c.GraphQLList)
		t := &objType{
			name:   n.Type,
			coll:   c,
			n:      n,
			isAuth: c.IsAuth(),
		}
		t.readOnly = c.Type == db.TypeView
		t.satisfies = []string{t.name, "Record"}
		if t.isAuth {
			t.satisfies = append(t.satisfies, "AuthRecord")
		}
		for _, name := range []string{n.Type, n.Single, n.List} {
			if !validName(name) {
				cp.errs.Add("name", "invalid_graphql_name", "%q is not a valid GraphQL name", name)
			}
		}
		cp.claimType(c, t.name)
		cp.m.byColl[c.ID] = t
		cp.m.types[t.name] = t
		cp.types = append(cp.types, t)
	}
	if err := cp.errs.Err("the collections do not make a valid GraphQL schema"); err != nil {
		return nil, err
	}
	// Pass 2: fields, inputs and root fields.
	type span struct{ q, m, s [2]int }
	spans := make([]span, len(cp.types))
	for i, t := range cp.types {
		sp := &spans[i]
		sp.q[0], sp.m[0], sp.s[0] = cp.query.Len(), cp.mutation.Len(), cp.sub.Len()
		cp.compileType(t)
		sp.q[1], sp.m[1], sp.s[1] = cp.query.Len(), cp.mutation.Len(), cp.sub.Len()
	}
	// Pass 3: back-relations on relation targets.
	for _, s := range cp.types {
		for _, f := range s.coll.Fields {
			if f.Type != db.FieldRelation || f.Hidden {
				continue
			}
			target := cp.m.byColl[f.Collection]
			if target == nil {
				continue
			}
			name := s.n.List + "Via" + pascal(f.Name)
			if _, dup := target.fields[name]; dup {
				cp.errs.Add("name", "graphql_name_clash",
					"the back-relation %s.%s from %s.%s clashes with another field", target.name, name, s.coll.Name, f.Name)
				continue
			}
			target.fields[name] = &fieldPlan{name: name, kind: fkBack, target: s, via: f}
			ws(cp.typeSDL[target], "  ", name, "(where: ", s.name, "Where, filter: String, orderBy: [", s.name,
				"OrderBy!], sort: String, limit: Int = ", defaultLimitText, ", offset: Int = 0): [", s.name, "!]!\n")
		}
	}
	if err := cp.errs.Err("the collections do not make a valid GraphQL schema"); err != nil {
		return nil, err
	}

	cp.sb.WriteString(builtinSDL)
	cp.m.fragments = make([]string, 0, len(cp.types))
	qs, ms, ss := cp.query.String(), cp.mutation.String(), cp.sub.String()
	for i, t := range cp.types {
		var fb strings.Builder
		ts, ex := cp.typeSDL[t], cp.extraSDL[t]
		sp := spans[i]
		fb.Grow(ts.Len() + ex.Len() + sp.q[1] - sp.q[0] + sp.m[1] - sp.m[0] + sp.s[1] - sp.s[0] + 100)
		fb.WriteString("\n")
		fb.WriteString(ts.String())
		fb.WriteString("}\n")
		fb.WriteString(ex.String())
		cp.sb.WriteString(fb.String())
		// The parsed fragment also carries the type's root fields, as
		// extensions of the root types, so that it is cached as a whole.
		for _, r := range []struct {
			name string
			src  string
			at   [2]int
		}{{"Query", qs, sp.q}, {"Mutation", ms, sp.m}, {"Subscription", ss, sp.s}} {
			if r.at[1] > r.at[0] {
				fb.WriteString("extend type " + r.name + " {\n")
				fb.WriteString(r.src[r.at[0]:r.at[1]])
				fb.WriteString("}\n")
			}
		}
		cp.m.fragments = append(cp.m.fragments, fb.String())
	}
	roots := "type Query {\n  \"\"\"The signed-in record, null when anonymous.\"\"\"\n  me: AuthRecord\n}\n"
	roots += "type Mutation {\n  \"\"\"A short-lived token for ?token= on protected file URLs; requires a signed-in record.\"\"\"\n  fileToken: String!\n}\n"
	if len(ss) > 0 {
		roots += "type Subscription\n"
	}
	cp.m.roots = roots
	cp.sb.WriteString("\ntype Query {\n")
	cp.sb.WriteString(cp.query.String())
	cp.sb.WriteString("  \"\"\"The signed-in record, null when anonymous.\"\"\"\n  me: AuthRecord\n}\n")
	cp.sb.WriteString("\ntype Mutation {\n")
	cp.sb.WriteString(cp.mutation.String())
	cp.sb.WriteString("  \"\"\"A short-lived token for ?token= on protected file URLs; requires a signed-in record.\"\"\"\n  fileToken: String!\n}\n")
	if cp.sub.Len() > 0 {
		cp.sb.WriteString("\ntype Subscription {\n")
		cp.sb.WriteString(cp.sub.String())
		cp.sb.WriteString("}\n")
	}
	cp.m.sdl = cp.sb.String()
	return cp.m, nil
}

func (cp *compiler) claimType(c *db.Collection, name string) {
	owner := "collection " + c.Name
	if prev, ok := cp.owners[name]; ok {
		cp.errs.Add("name", "graphql_name_clash", "the GraphQL type %s of %s clashes with %s", name, owner, prev)
		return
	}
	cp.owners[name] = owner
}

func (cp *compiler) claimRoot(c *db.Collection, root, name string, f *rootField) {
	owner := "collection " + c.Name
	if prev, ok := cp.roots[root][name]; ok {
		cp.errs.Add("name", "graphql_name_clash", "the field %s.%s of %s clashes with %s", root, name, owner, prev)
		return
	}
	if !validName(name) {
		cp.errs.Add("name", "invalid_graphql_name", "%q is not a valid GraphQL name", name)
	}
	cp.roots[root][name] = owner
	switch root {
	case "Query":
		cp.m.query[name] = f
	case "Mutation":
		cp.m.mutation[name] = f
	default:
		cp.m.subscription[name] = f
	}
}

// fieldSet reports field name clashes within the generated types of one
// collection.
type fieldSet struct {
	cp *compiler
	c  *db.Collection
}

// claim reports whether name is free on the type; a clash is recorded.
func (fs *fieldSet) claim(idx int, typ, name string, taken bool) bool {
	if taken {
		key := "name"
		if idx >= 0 {
			key = fmt.Sprintf("fields.%d.name", idx)
		}
		fs.cp.errs.Add(key, "graphql_name_clash",
			"the field %s.%s of collection %s is defined twice", typ, name, fs.c.Name)
		return false
	}
	return true
}

// enumFor returns the enum type name for a select field whose values are all
// valid GraphQL enum values, declaring it once; "" when String is used.
func (cp *compiler) enumFor(t *objType, f *db.Field, declared map[string]bool) (string, map[string]bool) {
	if len(f.Values) == 0 {
		return "", nil
	}
	vals := map[string]bool{}
	for _, v := range f.Values {
		if !validName(v) || v == "true" || v == "false" || v == "null" || vals[v] {
			return "", nil
		}
		vals[v] = true
	}
	name := t.name + pascal(f.Name)
	if !declared[name] {
		declared[name] = true
		cp.claimType(t.coll, name)
		ex := cp.extra(t)
		ws(ex, "\nenum ", name, " {\n")
		for _, v := range f.Values {
			ws(ex, "  ", v, "\n")
		}
		ex.WriteString("}\n")
		ws(ex, "\ninput ", name, "Filter {\n  eq: ", name, "\n  ne: ", name, "\n  in: [", name, "!]\n  notIn: [", name, "!]\n  isNull: Boolean\n}\n")
		cp.claimType(t.coll, name+"Filter")
	}
	return name, vals
}

// extra returns the builder of the derived types of t.
func (cp *compiler) extra(t *objType) *strings.Builder {
	b := cp.extraSDL[t]
	if b == nil {
		b = &strings.Builder{}
		cp.extraSDL[t] = b
	}
	return b
}

// ws writes the parts to b.
func ws(b *strings.Builder, parts ...string) {
	for _, p := range parts {
		b.WriteString(p)
	}
}

// defaultLimitText is defaultLimit in SDL.
var defaultLimitText = strconv.Itoa(defaultLimit)

// line writes one field line "  name: type".
func line(b *strings.Builder, name, typ string) {
	b.WriteString("  ")
	b.WriteString(name)
	b.WriteString(": ")
	b.WriteString(typ)
	b.WriteString("\n")
}

func nn(s string, nonNull bool) string {
	if nonNull {
		return s + "!"
	}
	return s
}

// isAuthSystem reports whether f is one of the system fields of auth
// collections with special GraphQL treatment.
func isAuthSystem(c *db.Collection, f *db.Field) bool {
	if !c.IsAuth() {
		return false
	}
	switch f.Name {
	case "email", "emailVisibility", "verified", "password", "tokenKey":
		return true
	}
	return false
}

func (cp *compiler) compileType(t *objType) {
	c := t.coll
	sdl := &strings.Builder{}
	cp.typeSDL[t] = sdl
	impl := "Record"
	if t.isAuth {
		impl = "Record & AuthRecord"
	}
	sdl.WriteString(`"""A record of the collection ` + c.Name + ".\"\"\"\ntype " + t.name + " implements " + impl + " {\n")

	nf := len(c.Fields)
	sdl.Grow(96 + 40*nf)
	where, order, create, update := &strings.Builder{}, &strings.Builder{}, &strings.Builder{}, &strings.Builder{}
	where.Grow(32 * nf)
	order.Grow(32 * nf)
	create.Grow(32 * nf)
	update.Grow(48 * nf)
	declared := map[string]bool{}
	fs := &fieldSet{cp: cp, c: c}
	t.fields = make(map[string]*fieldPlan, nf+4)
	t.where = make(map[string]*inPlan, nf)
	t.orderBy = make(map[string]*inPlan, nf)
	t.create = make(map[string]*inPlan, nf)
	t.update = make(map[string]*inPlan, nf+4)

	addOut := func(idx int, p *fieldPlan, typ string) {
		if fs.claim(idx, t.name, p.name, t.fields[p.name] != nil) {
			t.fields[p.name] = p
			line(sdl, p.name, typ)
		}
	}
	addIn := func(m map[string]*inPlan, b *strings.Builder, typeName string) func(idx int, name, typ string, p *inPlan) {
		return func(idx int, name, typ string, p *inPlan) {
			if fs.claim(idx, typeName, name, m[name] != nil) {
				m[name] = p
				line(b, name, typ)
			}
		}
	}
	addWhere := addIn(t.where, where, t.name+"Where")
	addOrder := addIn(t.orderBy, order, t.name+"OrderBy")
	addCreate := addIn(t.create, create, t.name+"CreateInput")
	addUpdate := addIn(t.update, update, t.name+"UpdateInput")

	for idx, f := range c.Fields {
		if !validName(f.Name) {
			cp.errs.Add(fmt.Sprintf("fields.%d.name", idx), "invalid_graphql_name", "%q is not a valid GraphQL name", f.Name)
			continue
		}
		authSys := isAuthSystem(c, f)
		if f.Type == db.FieldPassword || (authSys && f.Name == "tokenKey") {
			if f.Type == db.FieldPassword && !authSys && !f.System {
				addCreate(idx, f.Name, nn("String", f.Required), &inPlan{kind: inPassword, col: f.Name, field: f})
				addUpdate(idx, f.Name, "String", &inPlan{kind: inPassword, col: f.Name, field: f})
			}
			continue
		}
		multi := f.Multiple()
		p := &fieldPlan{name: f.Name, col: f.Name, field: f, nonNull: f.Required}
		var outType, inType, filterType, orderType string
		scalarIn := &inPlan{kind: inScalar, col: f.Name, field: f, multi: multi}
		switch f.Type {
		case db.FieldText, db.FieldEditor, db.FieldEmail, db.FieldURL:
			p.kind, outType, inType, filterType, orderType = fkString, "String", "String", "StringFilter", "OrderDirection"
			if f.Name == "id" && f.System {
				p.kind, outType, inType, filterType = fkID, "ID", "ID", "IDFilter"
				p.nonNull = true
			}
			if authSys && f.Name == "email" {
				p.kind = fkEmail
				p.nonNull = false
			}
		case db.FieldNumber:
			p.kind, outType, filterType, orderType = fkFloat, "Float", "FloatFilter", "OrderDirection"
			if f.OnlyInt {
				p.kind, outType, filterType = fkInt, "Int", "IntFilter"
			}
			inType = outType
			if !f.Hidden {
				t.numbers = append(t.numbers, f)
			}
		case db.FieldBool:
			p.kind, outType, inType, filterType, orderType = fkBool, "Boolean", "Boolean", "BooleanFilter", "OrderDirection"
			if authSys {
				p.nonNull, p.zeroIfNull = true, true
			}
		case db.FieldDate, db.FieldAutodate:
			p.kind, outType, inType, filterType, orderType = fkDateTime, "DateTime", "DateTime", "DateTimeFilter", "OrderDirection"
			if f.Type == db.FieldAutodate {
				p.nonNull = f.OnCreate
			}
		case db.FieldSelect:
			enum, vals := cp.enumFor(t, f, declared)
			if enum != "" {
				p.kind, p.enum, outType, inType, filterType = fkEnum, vals, enum, enum, enum+"Filter"
			} else {
				p.kind, outType, inType, filterType = fkString, "String", "String", "StringFilter"
			}
			if multi {
				if p.kind == fkEnum {
					p.kind = fkEnumList
				} else {
					p.kind = fkStringList
				}
			} else {
				orderType = "OrderDirection"
			}
		case db.FieldFile:
			p.kind, outType, inType, filterType = fkFile, "File", "Upload", "StringFilter"
			scalarIn.upload = true
			if multi {
				p.kind = fkFileList
			} else {
				orderType = "OrderDirection"
			}
		case db.FieldJSON:
			p.kind, outType, inType = fkJSON, "JSON", "JSON"
		case db.FieldGeoPoint:
			p.kind, outType, inType = fkGeo, "GeoPoint", "GeoPointInput"
		case db.FieldRelation:
			target := cp.m.byColl[f.Collection]
			idp := &fieldPlan{name: f.Name + "Id", col: f.Name, field: f, nonNull: f.Required, kind: fkRelID}
			inType = "ID"
			if multi {
				idp.name, idp.kind, idp.nonNull = f.Name+"Ids", fkRelIDList, true
			}
			if !f.Hidden {
				if target != nil {
					rp := &fieldPlan{name: f.Name, col: f.Name, field: f, kind: fkRel, target: target}
					if multi {
						rp.kind, rp.nonNull = fkRelList, true
						addOut(idx, rp, "["+target.name+"!]!")
					} else {
						addOut(idx, rp, target.name)
					}
					addWhere(idx, f.Name, target.name+"Where", &inPlan{kind: inRelation, col: f.Name, field: f, multi: multi, target: target})
					if !multi {
						addOrder(idx, f.Name, target.name+"OrderBy", &inPlan{kind: inRelation, col: f.Name, field: f, target: target})
					}
				} else {
					addWhere(idx, f.Name, "IDFilter", scalarIn)
				}
				if multi {
					addOut(idx, idp, "[ID!]!")
				} else {
					addOut(idx, idp, nn("ID", f.Required))
					addOrder(idx, idp.name, "OrderDirection", scalarIn)
				}
			}
			p = nil
		default:
			continue
		}

		if p != nil && !f.Hidden {
			typ := outType
			if multi {
				typ = "[" + outType + "!]!"
				p.nonNull = true
			} else {
				typ = nn(outType, p.nonNull)
			}
			addOut(idx, p, typ)
			if filterType != "" {
				addWhere(idx, f.Name, filterType, scalarIn)
			}
			if orderType != "" {
				addOrder(idx, f.Name, orderType, scalarIn)
			}
		}

		// Inputs.
		if t.readOnly || f.Type == db.FieldAutodate {
			continue
		}
		if f.System && !(authSys && f.Name != "tokenKey") && f.Name != "id" {
			continue
		}
		in := inType
		if multi {
			in = "[" + inType + "!]"
		}
		required := f.Required && f.AutogeneratePattern == "" && f.Name != "id"
		if f.Name == "id" {
			addCreate(idx, "id", "ID", scalarIn)
			continue
		}
		addCreate(idx, f.Name, nn(in, required), scalarIn)
		addUpdate(idx, f.Name, in, scalarIn)
		if f.Type == db.FieldNumber {
			addUpdate(idx, f.Name+"Increment", inType, &inPlan{kind: inInc, col: f.Name, field: f})
		}
		if multi {
			addUpdate(idx, f.Name+"Append", in, &inPlan{kind: inAppend, col: f.Name, field: f, multi: true, upload: scalarIn.upload})
			rm := in
			if f.Type == db.FieldFile {
				rm = "[String!]"
			}
			addUpdate(idx, f.Name+"Remove", rm, &inPlan{kind: inRemove, col: f.Name, field: f, multi: true})
		}
	}
	if t.isAuth && !t.readOnly {
		pw := c.FieldByName("password")
		addCreate(-1, "password", "String!", &inPlan{kind: inPassword, col: "password", field: pw})
		addCreate(-1, "passwordConfirm", "String!", &inPlan{kind: inPassword, col: "passwordConfirm", field: pw})
		addUpdate(-1, "password", "String", &inPlan{kind: inPassword, col: "password", field: pw})
		addUpdate(-1, "passwordConfirm", "String", &inPlan{kind: inPassword, col: "passwordConfirm", field: pw})
		addUpdate(-1, "oldPassword", "String", &inPlan{kind: inPassword, col: "oldPassword", field: pw})
	}

	// Derived types.
	n := t.n
	ex := cp.extra(t)
	ex.Grow(1500 + where.Len() + order.Len() + create.Len() + update.Len() + 40*len(t.numbers))
	claim := func(suffix string) string {
		name := t.name + suffix
		cp.claimType(c, name)
		return name
	}
	ws(ex, "\ninput ", claim("Where"), " {\n  _and: [", t.name, "Where!]\n  _or: [", t.name, "Where!]\n  _not: ", t.name, "Where\n", where.String(), "}\n")
	ws(ex, "\n\"\"\"One field per item.\"\"\"\ninput ", claim("OrderBy"), " @oneOf {\n", order.String(), "}\n")
	ws(ex, "\ntype ", claim("Aggregate"), " {\n  count: Int!\n")
	if len(t.numbers) > 0 {
		num := t.name + "AggregateNumbers"
		ws(ex, "  sum: ", num, "\n  avg: ", num, "\n  min: ", num, "\n  max: ", num, "\n}\n\ntype ", claim("AggregateNumbers"), " {\n")
		for _, f := range t.numbers {
			ws(ex, "  ", f.Name, ": Float\n")
		}
	}
	ex.WriteString("}\n")
	ws(ex, "\ntype ", claim("Connection"), " {\n  edges: [", t.name, "Edge!]!\n  pageInfo: PageInfo!\n  totalCount: Int!\n}\n")
	ws(ex, "\ntype ", claim("Edge"), " {\n  cursor: String!\n  node: ", t.name, "!\n}\n")

	q := &cp.query
	ws(q, "  ", n.Single, "(id: ID!): ", t.name, "\n")
	cp.claimRoot(c, "Query", n.Single, &rootField{kind: rkSingle, t: t})
	ws(q, "  ", n.List, "(where: ", t.name, "Where, filter: String, orderBy: [", t.name,
		"OrderBy!], sort: String, limit: Int = ", defaultLimitText, ", offset: Int = 0): [", t.name, "!]!\n")
	cp.claimRoot(c, "Query", n.List, &rootField{kind: rkList, t: t})
	ws(q, "  ", n.List, "Aggregate(where: ", t.name, "Where, filter: String): ", t.name, "Aggregate!\n")
	cp.claimRoot(c, "Query", n.List+"Aggregate", &rootField{kind: rkAggregate, t: t})
	ws(q, "  ", n.List, "Connection(where: ", t.name, "Where, filter: String, orderBy: [", t.name,
		"OrderBy!], first: Int, after: String, last: Int, before: String): ", t.name, "Connection!\n")
	cp.claimRoot(c, "Query", n.List+"Connection", &rootField{kind: rkConnection, t: t})

	if t.readOnly {
		return
	}
	ws(ex, "\ninput ", claim("CreateInput"), " {\n", create.String(), "}\n")
	if update.Len() == 0 {
		update.WriteString("  _: Boolean\n")
	}
	ws(ex, "\ninput ", claim("UpdateInput"), " {\n", update.String(), "}\n")
	ws(ex, "\ntype ", claim("Change"), " {\n  action: ChangeAction!\n  record: ", t.name, "!\n}\n")

	base := upperFirst(n.Base)
	m := &cp.mutation
	ws(m, "  create", base, "(input: ", t.name, "CreateInput!): ", t.name, "!\n")
	cp.claimRoot(c, "Mutation", "create"+base, &rootField{kind: rkCreate, t: t})
	ws(m, "  update", base, "(id: ID!, input: ", t.name, "UpdateInput!): ", t.name, "!\n")
	cp.claimRoot(c, "Mutation", "update"+base, &rootField{kind: rkUpdate, t: t})
	ws(m, "  \"\"\"Returns the record as it was.\"\"\"\n  delete", base, "(id: ID!): ", t.name, "!\n")
	cp.claimRoot(c, "Mutation", "delete"+base, &rootField{kind: rkDelete, t: t})
	if t.isAuth {
		ws(ex, "\ntype ", claim("Auth"), " {\n  token: String!\n  record: ", t.name, "!\n}\n")
		ws(m, "  ", n.Base, "AuthWithPassword(identity: String!, password: String!): ", t.name, "Auth!\n")
		cp.claimRoot(c, "Mutation", n.Base+"AuthWithPassword", &rootField{kind: rkAuthPassword, t: t})
		ws(m, "  \"\"\"A new token for the signed-in record.\"\"\"\n  ", n.Base, "AuthRefresh: ", t.name, "Auth!\n")
		cp.claimRoot(c, "Mutation", n.Base+"AuthRefresh", &rootField{kind: rkAuthRefresh, t: t})
	}
	ws(&cp.sub, "  ", n.Base, "Changed(id: ID, where: ", t.name, "Where, filter: String, actions: [ChangeAction!]): ", t.name, "Change!\n")
	cp.claimRoot(c, "Subscription", n.Base+"Changed", &rootField{kind: rkChanged, t: t})
}
