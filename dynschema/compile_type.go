package dynschema

import (
	"fmt"
	"strings"

	"github.com/monobase/monobase/db"
)

// typeBuilder collects the SDL and the plans of one collection's type and
// its inputs (Where, OrderBy, CreateInput, UpdateInput) while compileType
// walks the fields. A name that clashes within one generated type is
// recorded as an error by fs and left out.
type typeBuilder struct {
	cp *compiler
	t  *objType
	fs *fieldSet

	sdl, where, order, create, update *strings.Builder
	declared                          map[string]bool // enum types declared for the select fields
}

func newTypeBuilder(cp *compiler, t *objType) *typeBuilder {
	nf := len(t.coll.Fields)
	b := &typeBuilder{cp: cp, t: t, fs: &fieldSet{cp: cp, c: t.coll}, declared: map[string]bool{},
		sdl: &strings.Builder{}, where: &strings.Builder{}, order: &strings.Builder{},
		create: &strings.Builder{}, update: &strings.Builder{}}
	b.sdl.Grow(96 + 40*nf)
	b.where.Grow(32 * nf)
	b.order.Grow(32 * nf)
	b.create.Grow(32 * nf)
	b.update.Grow(48 * nf)
	t.fields = make(map[string]*fieldPlan, nf+4)
	t.where = make(map[string]*inPlan, nf)
	t.orderBy = make(map[string]*inPlan, nf)
	t.create = make(map[string]*inPlan, nf)
	t.update = make(map[string]*inPlan, nf+4)
	return b
}

// out adds an output field to the object type.
func (b *typeBuilder) out(idx int, p *fieldPlan, typ string) {
	if b.fs.claim(idx, b.t.name, p.name, b.t.fields[p.name] != nil) {
		b.t.fields[p.name] = p
		line(b.sdl, p.name, typ)
	}
}

// in adds an input field to the input type typeName (m and sb are its plans
// and SDL).
func (b *typeBuilder) in(m map[string]*inPlan, sb *strings.Builder, typeName string, idx int, name, typ string, p *inPlan) {
	if b.fs.claim(idx, typeName, name, m[name] != nil) {
		m[name] = p
		line(sb, name, typ)
	}
}

func (b *typeBuilder) addWhere(idx int, name, typ string, p *inPlan) {
	b.in(b.t.where, b.where, b.t.name+"Where", idx, name, typ, p)
}

func (b *typeBuilder) addOrder(idx int, name, typ string, p *inPlan) {
	b.in(b.t.orderBy, b.order, b.t.name+"OrderBy", idx, name, typ, p)
}

func (b *typeBuilder) addCreate(idx int, name, typ string, p *inPlan) {
	b.in(b.t.create, b.create, b.t.name+"CreateInput", idx, name, typ, p)
}

func (b *typeBuilder) addUpdate(idx int, name, typ string, p *inPlan) {
	b.in(b.t.update, b.update, b.t.name+"UpdateInput", idx, name, typ, p)
}

// compileType compiles one collection: its object type, its input types,
// its derived types (aggregate, connection, change) and its root fields.
func (cp *compiler) compileType(t *objType) {
	c := t.coll
	b := newTypeBuilder(cp, t)
	cp.typeSDL[t] = b.sdl
	impl := "Record"
	if t.isAuth {
		impl = "Record & AuthRecord"
	}
	// The admin dashboard finds a collection's type by this description
	// (dashboard/web/src/names.js; TestDashboardContract pins it).
	b.sdl.WriteString(`"""A record of the collection ` + c.Name + ".\"\"\"\ntype " + t.name + " implements " + impl + " {\n")
	for idx, f := range c.Fields {
		if !validName(f.Name) {
			cp.errs.Add(fmt.Sprintf("fields.%d.name", idx), "invalid_graphql_name", "%q is not a valid GraphQL name", f.Name)
			continue
		}
		b.field(idx, f)
	}
	if t.isAuth && !t.readOnly {
		pw := c.FieldByName("password")
		b.addCreate(-1, "password", "String!", &inPlan{kind: inPassword, col: "password", field: pw})
		b.addCreate(-1, "passwordConfirm", "String!", &inPlan{kind: inPassword, col: "passwordConfirm", field: pw})
		b.addUpdate(-1, "password", "String", &inPlan{kind: inPassword, col: "password", field: pw})
		b.addUpdate(-1, "passwordConfirm", "String", &inPlan{kind: inPassword, col: "passwordConfirm", field: pw})
		b.addUpdate(-1, "oldPassword", "String", &inPlan{kind: inPassword, col: "oldPassword", field: pw})
	}
	b.nestedInputs() // nested.go
	cp.derivedTypes(b)
	cp.rootFields(t)
	cp.groupBy(t)
}

// fieldTypes are the GraphQL types one field compiles to; "" where the
// field has none.
type fieldTypes struct {
	out, in, filter, order string
}

// field adds one collection field to the object type and the inputs.
func (b *typeBuilder) field(idx int, f *db.Field) {
	t, c := b.t, b.t.coll
	authSys := isAuthSystem(c, f)
	if f.Type == db.FieldPassword || (authSys && f.Name == "tokenKey") {
		if f.Type == db.FieldPassword && !authSys && !f.System {
			b.addCreate(idx, f.Name, nn("String", f.Required), &inPlan{kind: inPassword, col: f.Name, field: f})
			b.addUpdate(idx, f.Name, "String", &inPlan{kind: inPassword, col: f.Name, field: f})
		}
		return
	}
	multi := f.Multiple()
	scalarIn := &inPlan{kind: inScalar, col: f.Name, field: f, multi: multi}
	var types fieldTypes
	if f.Type == db.FieldRelation {
		b.relation(idx, f, scalarIn)
		types.in = "ID"
	} else {
		p := &fieldPlan{name: f.Name, col: f.Name, field: f, nonNull: f.Required}
		var ok bool
		types, ok = b.scalar(p, f, authSys, multi, scalarIn)
		if !ok {
			return
		}
		if !f.Hidden {
			typ := nn(types.out, p.nonNull)
			if multi {
				typ = "[" + types.out + "!]!"
				p.nonNull = true
			}
			b.out(idx, p, typ)
			if types.filter != "" {
				b.addWhere(idx, f.Name, types.filter, scalarIn)
			}
			if types.order != "" {
				b.addOrder(idx, f.Name, types.order, scalarIn)
			}
		}
	}
	if t.readOnly || f.Type == db.FieldAutodate {
		return
	}
	if f.System && !(authSys && f.Name != "tokenKey") && f.Name != "id" {
		return
	}
	b.inputs(idx, f, types.in, multi, scalarIn)
}

// scalar fills p for a field that is not a relation and returns its types;
// false for a type with no GraphQL form.
func (b *typeBuilder) scalar(p *fieldPlan, f *db.Field, authSys, multi bool, scalarIn *inPlan) (fieldTypes, bool) {
	var ty fieldTypes
	switch f.Type {
	case db.FieldText, db.FieldEditor, db.FieldEmail, db.FieldURL:
		p.kind, ty = fkString, fieldTypes{"String", "String", "StringFilter", "OrderDirection"}
		if f.Name == "id" && f.System {
			p.kind, ty.out, ty.in, ty.filter = fkID, "ID", "ID", "IDFilter"
			p.nonNull = true
		}
		if authSys && f.Name == "email" {
			p.kind = fkEmail
			p.nonNull = false
		}
	case db.FieldNumber:
		p.kind, ty.out, ty.filter, ty.order = fkFloat, "Float", "FloatFilter", "OrderDirection"
		if f.OnlyInt {
			p.kind, ty.out, ty.filter = fkInt, "Int", "IntFilter"
		}
		ty.in = ty.out
		if !f.Hidden {
			b.t.numbers = append(b.t.numbers, f)
		}
	case db.FieldBool:
		p.kind, ty = fkBool, fieldTypes{"Boolean", "Boolean", "BooleanFilter", "OrderDirection"}
		if authSys {
			p.nonNull, p.zeroIfNull = true, true
		}
	case db.FieldDate, db.FieldAutodate:
		p.kind, ty = fkDateTime, fieldTypes{"DateTime", "DateTime", "DateTimeFilter", "OrderDirection"}
		if f.Type == db.FieldAutodate {
			p.nonNull = f.OnCreate
		}
	case db.FieldSelect:
		enum, vals := b.cp.enumFor(b.t, f, b.declared)
		if enum != "" {
			p.kind, p.enum, ty.out, ty.in, ty.filter = fkEnum, vals, enum, enum, enum+"Filter"
		} else {
			p.kind, ty.out, ty.in, ty.filter = fkString, "String", "String", "StringFilter"
		}
		switch {
		case multi && p.kind == fkEnum:
			p.kind = fkEnumList
		case multi:
			p.kind = fkStringList
		default:
			ty.order = "OrderDirection"
		}
	case db.FieldFile:
		p.kind, ty.out, ty.in, ty.filter = fkFile, "File", "Upload", "StringFilter"
		scalarIn.upload = true
		b.t.files = true
		if multi {
			p.kind = fkFileList
		} else {
			ty.order = "OrderDirection"
		}
	case db.FieldJSON:
		p.kind, ty.out, ty.in = fkJSON, "JSON", "JSON"
	case db.FieldGeoPoint:
		p.kind, ty.out, ty.in = fkGeo, "GeoPoint", "GeoPointInput"
	default:
		return ty, false
	}
	return ty, true
}

// relation adds the output fields of a relation field (the related record
// or records, and their ids) and its where and orderBy inputs.
func (b *typeBuilder) relation(idx int, f *db.Field, scalarIn *inPlan) {
	if f.Hidden {
		return
	}
	multi := f.Multiple()
	target := b.cp.m.byColl[f.Collection]
	idp := &fieldPlan{name: f.Name + "Id", col: f.Name, field: f, nonNull: f.Required, kind: fkRelID}
	if multi {
		idp.name, idp.kind, idp.nonNull = f.Name+"Ids", fkRelIDList, true
	}
	if target != nil {
		rp := &fieldPlan{name: f.Name, col: f.Name, field: f, kind: fkRel, target: target}
		if multi {
			rp.kind, rp.nonNull = fkRelList, true
			b.out(idx, rp, "["+target.name+"!]!")
		} else {
			b.out(idx, rp, target.name)
		}
		b.addWhere(idx, f.Name, target.name+"Where", &inPlan{kind: inRelation, col: f.Name, field: f, multi: multi, target: target})
		if !multi {
			b.addOrder(idx, f.Name, target.name+"OrderBy", &inPlan{kind: inRelation, col: f.Name, field: f, target: target})
		}
	} else {
		b.addWhere(idx, f.Name, "IDFilter", scalarIn)
	}
	if multi {
		b.out(idx, idp, "[ID!]!")
	} else {
		b.out(idx, idp, nn("ID", f.Required))
		b.addOrder(idx, idp.name, "OrderDirection", scalarIn)
	}
}

// inputs adds a writable field to the create and update inputs, with the
// increment, append and remove forms where they apply.
func (b *typeBuilder) inputs(idx int, f *db.Field, inType string, multi bool, scalarIn *inPlan) {
	in := inType
	if multi {
		in = "[" + inType + "!]"
	}
	if f.Name == "id" {
		b.addCreate(idx, "id", "ID", scalarIn)
		return
	}
	// A relation with a nested create (<relation>Create) may be left out.
	required := f.Required && f.AutogeneratePattern == "" && b.nestTarget(f) == nil
	b.addCreate(idx, f.Name, nn(in, required), scalarIn)
	b.addUpdate(idx, f.Name, in, scalarIn)
	if f.Type == db.FieldNumber {
		b.addUpdate(idx, f.Name+"Increment", inType, &inPlan{kind: inInc, col: f.Name, field: f})
	}
	if multi {
		b.addUpdate(idx, f.Name+"Append", in, &inPlan{kind: inAppend, col: f.Name, field: f, multi: true, upload: scalarIn.upload})
		rm := in
		if f.Type == db.FieldFile {
			rm = "[String!]"
		}
		b.addUpdate(idx, f.Name+"Remove", rm, &inPlan{kind: inRemove, col: f.Name, field: f, multi: true})
	}
}

// derivedTypes writes the types derived from one collection: Where,
// OrderBy, Aggregate, Connection, Edge and, unless it is read-only, the
// create and update inputs, Change and (auth) Auth.
func (cp *compiler) derivedTypes(b *typeBuilder) {
	t, c := b.t, b.t.coll
	ex := cp.extra(t)
	ex.Grow(1500 + b.where.Len() + b.order.Len() + b.create.Len() + b.update.Len() + 40*len(t.numbers))
	claim := func(suffix string) string {
		name := t.name + suffix
		cp.claimType(c, name)
		return name
	}
	ws(ex, "\ninput ", claim("Where"), " {\n  _and: [", t.name, "Where!]\n  _or: [", t.name, "Where!]\n  _not: ", t.name, "Where\n", b.where.String(), "}\n")
	ws(ex, "\n\"\"\"One field per item.\"\"\"\ninput ", claim("OrderBy"), " @oneOf {\n", b.order.String(), "}\n")
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
	if t.readOnly {
		return
	}
	ws(ex, "\ninput ", claim("CreateInput"), " {\n", b.create.String(), "}\n")
	if b.update.Len() == 0 {
		b.update.WriteString("  _: Boolean\n")
	}
	ws(ex, "\ninput ", claim("UpdateInput"), " {\n", b.update.String(), "}\n")
	ws(ex, "\ntype ", claim("Change"), " {\n  action: ChangeAction!\n  record: ", t.name, "!\n}\n")
	if t.isAuth {
		ws(ex, "\ntype ", claim("Auth"), " {\n  token: String!\n  record: ", t.name, "!\n  meta: AuthMeta\n}\n")
	}
}

// rootFields writes one collection's root fields: the queries, and unless
// it is read-only the mutations and the subscription.
func (cp *compiler) rootFields(t *objType) {
	c, n := t.coll, t.n
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
	if t.isAuth && !t.readOnly {
		ws(q, "  \"\"\"How records of ", c.Name, " may sign in (fresh OAuth2 state and PKCE values each time).\"\"\"\n  ", n.Base, "AuthMethods: AuthMethods!\n")
		cp.claimRoot(c, "Query", n.Base+"AuthMethods", &rootField{kind: rkAuthMethods, t: t})
	}
	if t.readOnly {
		return
	}
	base := upperFirst(n.Base)
	m := &cp.mutation
	ws(m, "  create", base, "(input: ", t.name, "CreateInput!): ", t.name, "!\n")
	cp.claimRoot(c, "Mutation", "create"+base, &rootField{kind: rkCreate, t: t})
	ws(m, "  update", base, "(id: ID!, input: ", t.name, "UpdateInput!): ", t.name, "!\n")
	cp.claimRoot(c, "Mutation", "update"+base, &rootField{kind: rkUpdate, t: t})
	ws(m, "  \"\"\"Returns the record as it was.\"\"\"\n  delete", base, "(id: ID!): ", t.name, "!\n")
	cp.claimRoot(c, "Mutation", "delete"+base, &rootField{kind: rkDelete, t: t})
	if t.isAuth {
		ws(m, "  ", n.Base, "AuthWithPassword(identity: String!, password: String!, mfaId: String): ", t.name, "Auth!\n")
		cp.claimRoot(c, "Mutation", n.Base+"AuthWithPassword", &rootField{kind: rkAuthPassword, t: t})
		ws(m, "  \"\"\"A new token for the signed-in record.\"\"\"\n  ", n.Base, "AuthRefresh: ", t.name, "Auth!\n")
		cp.claimRoot(c, "Mutation", n.Base+"AuthRefresh", &rootField{kind: rkAuthRefresh, t: t})
		ws(m, "  \"\"\"Signs in with an OAuth2 authorization code (linking or creating the record).\"\"\"\n  ", n.Base,
			"AuthWithOAuth2(provider: String!, code: String!, codeVerifier: String, redirectUrl: String!, createData: JSON, mfaId: String): ", t.name, "Auth!\n")
		cp.claimRoot(c, "Mutation", n.Base+"AuthWithOAuth2", &rootField{kind: rkAuthOAuth2, t: t})
		ws(m, "  \"\"\"Removes the link of the signed-in record to the provider.\"\"\"\n  ", n.Base, "UnlinkOAuth2(provider: String!): Boolean!\n")
		cp.claimRoot(c, "Mutation", n.Base+"UnlinkOAuth2", &rootField{kind: rkUnlinkOAuth2, t: t})
		for _, fl := range authFlows {
			ws(m, "  \"\"\"", fl.doc, "\"\"\"\n  ", n.Base, fl.name, fl.args, ": Boolean!\n")
			cp.claimRoot(c, "Mutation", n.Base+fl.name, &rootField{kind: fl.kind, t: t})
		}
		ws(m, "  \"\"\"Emails a one-time password; an otpId even for unknown emails.\"\"\"\n  ", n.Base, "RequestOtp(email: String!): OtpRequest!\n")
		cp.claimRoot(c, "Mutation", n.Base+"RequestOtp", &rootField{kind: rkRequestOtp, t: t})
		ws(m, "  \"\"\"Signs in with the emailed one-time password of otpId.\"\"\"\n  ", n.Base, "AuthWithOtp(otpId: String!, password: String!, mfaId: String): ", t.name, "Auth!\n")
		cp.claimRoot(c, "Mutation", n.Base+"AuthWithOtp", &rootField{kind: rkAuthOtp, t: t})
	}
	ws(&cp.sub, "  ", n.Base, "Changed(id: ID, where: ", t.name, "Where, filter: String, actions: [ChangeAction!]): ", t.name, "Change!\n")
	cp.claimRoot(c, "Subscription", n.Base+"Changed", &rootField{kind: rkChanged, t: t})
}

// authFlows are the email flows of every auth collection: the root field
// suffix, its arguments and doc (docs/api.md).
var authFlows = []struct {
	name, args, doc string
	kind            rootKind
}{
	{"RequestVerification", "(email: String!)", "Emails a verification link; true even for unknown emails.", rkRequestVerification},
	{"ConfirmVerification", "(token: String!)", "Marks the record of the emailed token verified.", rkConfirmVerification},
	{"RequestPasswordReset", "(email: String!)", "Emails a password reset link; true even for unknown emails.", rkRequestPasswordReset},
	{"ConfirmPasswordReset", "(token: String!, password: String!, passwordConfirm: String!)", "Sets the password of the emailed token's record and revokes its tokens.", rkConfirmPasswordReset},
	{"RequestEmailChange", "(newEmail: String!)", "Emails a confirmation link to newEmail (signed in).", rkRequestEmailChange},
	{"ConfirmEmailChange", "(token: String!, password: String!)", "Changes the email to the emailed token's new one and revokes the record's tokens.", rkConfirmEmailChange},
}
