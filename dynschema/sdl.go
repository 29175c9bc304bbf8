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

"""A one-time password was requested: pass otpId to <user>AuthWithOtp."""
type OtpRequest {
  otpId: String!
}

"""What a sign-in method tells about it."""
type AuthMeta {
  """An OAuth2 sign-in created the record."""
  isNew: Boolean!
  """The OAuth2 provider."""
  provider: String
  """The provider's user info."""
  rawUser: JSON
}

type PasswordAuthMethod {
  enabled: Boolean!
  identityFields: [String!]!
}

type OAuth2AuthMethod {
  enabled: Boolean!
  providers: [OAuth2ProviderInfo!]!
}

"""An OAuth2 provider and what the code exchange needs."""
type OAuth2ProviderInfo {
  name: String!
  displayName: String!
  """Compare with the state the provider sends back."""
  state: String!
  """Ends with redirect_uri=: append your URL-encoded redirect URL."""
  authUrl: String!
  codeVerifier: String
  codeChallenge: String
  codeChallengeMethod: String
}

type OTPAuthMethod {
  enabled: Boolean!
  """Seconds a one-time password is valid."""
  duration: Int!
}

type MFAAuthMethod {
  enabled: Boolean!
  """Seconds the first method of a multi-factor sign-in stays valid."""
  duration: Int!
}

"""How the records of an auth collection may sign in (<user>AuthMethods)."""
type AuthMethods {
  password: PasswordAuthMethod!
  oauth2: OAuth2AuthMethod!
  otp: OTPAuthMethod!
  mfa: MFAAuthMethod!
}
`

// builtinTypeNames are taken by the built-in schema.
var builtinTypeNames = []string{
	"Query", "Mutation", "Subscription", "String", "Int", "Float", "Boolean", "ID",
	"DateTime", "JSON", "Upload", "GeoPoint", "GeoPointInput", "File", "Record",
	"AuthRecord", "ChangeAction", "OrderDirection", "PageInfo", "StringFilter",
	"IDFilter", "FloatFilter", "IntFilter", "DateTimeFilter", "BooleanFilter",
	"OtpRequest",
	"AuthMeta", "AuthMethods", "PasswordAuthMethod", "OAuth2AuthMethod", "OAuth2ProviderInfo", "OTPAuthMethod", "MFAAuthMethod",
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
