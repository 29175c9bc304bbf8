package db

// Validation of collection definitions: names, types, field options,
// relation targets, indexes and view queries. Problems are collected per
// input path ("name", "fields.3.name", "indexes.0") in apperr.FieldErrors.

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/monobase/monobase/apperr"
)

var (
	collectionNameRe = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	systemNameRe     = regexp.MustCompile(`^_[a-z0-9_]+$`)
	fieldNameRe      = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_]*$`)
	defIDRe          = regexp.MustCompile(`^[a-zA-Z0-9_]{1,64}$`)
	graphqlNameRe    = regexp.MustCompile(`^[A-Za-z][_0-9A-Za-z]*$`)
)

const maxNameLen = 64

// reservedFieldNames may not name a user field (compared case-insensitively):
// the system fields of every collection, the auth-only inputs, and names
// SQLite or the GraphQL layer give a meaning.
var reservedFieldNames = []string{
	"id", "created", "updated", "passwordConfirm", "oldPassword", "expand",
	"collectionId", "collectionName", "rowid", "oid",
}

// authFieldNames are the system fields AUTH collections add.
var authFieldNames = []string{"email", "emailVisibility", "verified", "password", "tokenKey"}

func ptr[T any](v T) *T { return &v }

// systemField returns the template of a system field, or nil.
func systemField(name string) *Field {
	switch name {
	case "id":
		return &Field{ID: "sys_id", Name: "id", Type: FieldText, Required: true, System: true,
			Min: ptr(15.0), Max: ptr(15.0), Pattern: "^[a-z0-9]+$", AutogeneratePattern: idPattern}
	case "created":
		return &Field{ID: "sys_created", Name: "created", Type: FieldAutodate, System: true, OnCreate: true}
	case "updated":
		return &Field{ID: "sys_updated", Name: "updated", Type: FieldAutodate, System: true, OnCreate: true, OnUpdate: true}
	case "email":
		return &Field{ID: "sys_email", Name: "email", Type: FieldEmail, Required: true, System: true}
	case "emailVisibility":
		return &Field{ID: "sys_emailVisibility", Name: "emailVisibility", Type: FieldBool, System: true}
	case "verified":
		return &Field{ID: "sys_verified", Name: "verified", Type: FieldBool, System: true}
	case "password":
		return &Field{ID: "sys_password", Name: "password", Type: FieldPassword, Required: true, Hidden: true, System: true, Min: ptr(8.0)}
	case "tokenKey":
		return &Field{ID: "sys_tokenKey", Name: "tokenKey", Type: FieldText, Required: true, Hidden: true, System: true,
			Min: ptr(30.0), Max: ptr(60.0), AutogeneratePattern: tokenKeyPattern}
	}
	return nil
}

// systemFieldNames returns the names of the system fields of type t, in
// their order: the ones before the user fields, then the ones after.
func systemFieldNames(t CollectionType) (before, after []string) {
	switch t {
	case TypeAuth:
		return append([]string{"id"}, authFieldNames...), []string{"created", "updated"}
	case TypeView:
		return []string{"id"}, nil
	}
	return []string{"id"}, []string{"created", "updated"}
}

// mergeSystemField copies the options an admin may change on a system
// field from in onto base (a copy of the current or template field).
func mergeSystemField(base, in *Field) *Field {
	out := cloneField(base)
	switch out.Name {
	case "email":
		out.OnlyDomains = slices.Clone(in.OnlyDomains)
		out.ExceptDomains = slices.Clone(in.ExceptDomains)
	case "password":
		if in.Min != nil {
			out.Min = ptr(*in.Min)
		}
		out.Max = nil
		if in.Max != nil {
			out.Max = ptr(*in.Max)
		}
		out.Pattern = in.Pattern
	}
	return out
}

// changeableOptions are the options of system fields an admin may set
// (mergeSystemField copies them).
var changeableOptions = map[string][]string{
	"email":    {"onlyDomains", "exceptDomains"},
	"password": {"min", "max", "pattern"},
}

func changeableNote(name string) string {
	if opts := changeableOptions[name]; len(opts) > 0 {
		return " (only " + strings.Join(opts, ", ") + " can)"
	}
	return " (it can't change)"
}

// fixedOptionChanges returns the JSON names of the options that in sets to
// something else than base has, leaving out the ones an admin may change.
// Unset (zero) options of in count as unchanged: an input can't tell false
// from absent.
func fixedOptionChanges(base, in *Field) []string {
	f64 := func(a, b *float64) bool { return a == nil || (b != nil && *a == *b) }
	strs := func(a, b []string) bool { return len(a) == 0 || slices.Equal(a, b) }
	same := []struct {
		name string
		ok   bool
	}{
		{"required", !in.Required || base.Required},
		{"hidden", !in.Hidden || base.Hidden},
		{"min", f64(in.Min, base.Min)},
		{"max", f64(in.Max, base.Max)},
		{"pattern", in.Pattern == "" || in.Pattern == base.Pattern},
		{"autogeneratePattern", in.AutogeneratePattern == "" || in.AutogeneratePattern == base.AutogeneratePattern},
		{"onlyInt", !in.OnlyInt || base.OnlyInt},
		{"values", strs(in.Values, base.Values)},
		{"maxSelect", in.MaxSelect == 0 || in.MaxSelect == base.MaxSelect},
		{"collection", in.Collection == "" || in.Collection == base.Collection},
		{"cascadeDelete", !in.CascadeDelete || base.CascadeDelete},
		{"maxSize", in.MaxSize == 0 || in.MaxSize == base.MaxSize},
		{"mimeTypes", strs(in.MimeTypes, base.MimeTypes)},
		{"thumbs", strs(in.Thumbs, base.Thumbs)},
		{"protected", !in.Protected || base.Protected},
		{"onCreate", !in.OnCreate || base.OnCreate},
		{"onUpdate", !in.OnUpdate || base.OnUpdate},
		{"onlyDomains", strs(in.OnlyDomains, base.OnlyDomains)},
		{"exceptDomains", strs(in.ExceptDomains, base.ExceptDomains)},
	}
	var out []string
	for _, o := range same {
		if !o.ok && !slices.Contains(changeableOptions[base.Name], o.name) {
			out = append(out, o.name)
		}
	}
	return out
}

// prepareDef validates c (a private copy) as the new definition of old (nil
// for a new collection) and completes it: type default, ids, system fields,
// relation targets as ids, canonical index SQL. internal allows system
// collections. Keys are prefixed with prefix.
func (s *schemaTx) prepareDef(old, c *Collection, prefix string, internal bool, fe *apperr.FieldErrors) {
	key := func(k string) string { return prefix + k }

	// Type.
	if c.Type == "" {
		c.Type = TypeBase
		if old != nil {
			c.Type = old.Type
		}
	}
	switch c.Type {
	case TypeBase, TypeAuth, TypeView:
	default:
		fe.Add(key("type"), "invalid", "unknown collection type %q: want BASE, AUTH or VIEW", c.Type)
		return
	}
	if old != nil && c.Type != old.Type {
		fe.Add(key("type"), "invalid", "the type of a collection can't change (from %s to %s)", old.Type, c.Type)
		return
	}

	// Identity and flags.
	if old != nil {
		if c.ID != "" && c.ID != old.ID {
			fe.Add(key("id"), "invalid", "the id of a collection can't change")
		}
		c.ID = old.ID
		c.System = old.System
		c.Created = old.Created
	} else {
		if !internal {
			c.System = false
		}
		if c.ID == "" {
			for c.ID == "" {
				if id := NewID(); s.find(id) == nil {
					c.ID = id
				}
			}
		} else if !defIDRe.MatchString(c.ID) {
			fe.Add(key("id"), "invalid", "an id is 1 to 64 letters, digits or _")
		} else if o := s.find(c.ID); o != nil && o != c {
			fe.Add(key("id"), "duplicate", "the id %q is already used by the collection %q", c.ID, o.Name)
		}
		c.Created = s.now
	}
	c.Updated = s.now

	// Name.
	switch {
	case c.Name == "":
		fe.Add(key("name"), "required", "a collection needs a name")
	case len(c.Name) > maxNameLen:
		fe.Add(key("name"), "too_long", "at most %d characters", maxNameLen)
	case c.System && strings.HasPrefix(c.Name, "_"):
		if !systemNameRe.MatchString(c.Name) {
			fe.Add(key("name"), "invalid", "a system collection name is _ followed by lower-case letters, digits and _")
		}
	case strings.HasPrefix(c.Name, "_"):
		fe.Add(key("name"), "reserved", "names starting with _ are reserved for system collections")
	case !collectionNameRe.MatchString(c.Name):
		fe.Add(key("name"), "invalid", "a collection name starts with a lower-case letter, followed by lower-case letters, digits and _ (^[a-z][a-z0-9_]*$)")
	case strings.HasPrefix(c.Name, "sqlite_"):
		fe.Add(key("name"), "reserved", "names starting with sqlite_ are reserved")
	}
	if old != nil && old.System && c.Name != old.Name {
		fe.Add(key("name"), "invalid", "the system collection %q can't be renamed", old.Name)
	}
	for _, o := range s.cols {
		if o.ID == c.ID || (old != nil && o.ID == old.ID) {
			continue
		}
		if strings.EqualFold(o.Name, c.Name) {
			fe.Add(key("name"), "duplicate", "a collection named %q already exists", o.Name)
		}
		if o.ID == c.Name {
			fe.Add(key("name"), "duplicate", "the name %q is the id of the collection %q", c.Name, o.Name)
		}
		if o.Name == c.ID {
			fe.Add(key("id"), "duplicate", "the id %q is the name of another collection", c.ID)
		}
	}
	for _, p := range s.pending {
		if p != c && p.Name != "" && strings.EqualFold(p.Name, c.Name) {
			fe.Add(key("name"), "duplicate", "the name %q appears twice", c.Name)
		}
	}

	// GraphQL name overrides.
	for k, v := range map[string]string{"graphqlSingle": c.GraphQLSingle, "graphqlList": c.GraphQLList} {
		if v != "" && !graphqlNameRe.MatchString(v) {
			fe.Add(key(k), "invalid", "not a valid GraphQL name")
		}
	}
	if c.GraphQLSingle != "" && c.GraphQLSingle == c.GraphQLList {
		fe.Add(key("graphqlList"), "duplicate", "the single and list names must differ")
	}

	// Type-specific parts.
	if c.Type != TypeAuth {
		c.AuthRule, c.ManageRule, c.Auth = nil, nil, nil
	}
	if c.Type == TypeView {
		c.CreateRule, c.UpdateRule, c.DeleteRule = nil, nil, nil
		if len(c.Indexes) > 0 {
			fe.Add(key("indexes"), "invalid", "view collections have no indexes")
		}
		c.Indexes = nil
		q, msg := checkViewQuery(c.ViewQuery)
		if msg != "" {
			fe.Add(key("viewQuery"), "invalid", "%s", msg)
		}
		c.ViewQuery = q
		// Fields are inferred from the query when the view is created.
		return
	}
	if strings.TrimSpace(c.ViewQuery) != "" {
		fe.Add(key("viewQuery"), "invalid", "only VIEW collections have a view query")
	}
	c.ViewQuery = ""

	s.prepareFields(old, c, prefix, fe)
	s.prepareIndexes(old, c, prefix, fe)
	if c.Type == TypeAuth {
		prepareAuthOptions(old, c, key, fe)
	}
}

// prepareFields validates the fields of a BASE or AUTH collection and puts
// the system fields in place.
func (s *schemaTx) prepareFields(old, c *Collection, prefix string, fe *apperr.FieldErrors) {
	before, after := systemFieldNames(c.Type)
	sys := map[string]*Field{}
	var user []*Field
	names := map[string]string{} // lower-case name -> key of the field that has it
	ids := map[string]bool{}
	for i, f := range c.Fields {
		k := fmt.Sprintf("%sfields.%d", prefix, i)
		if f == nil {
			fe.Add(k, "required", "a field must not be null")
			continue
		}
		s.fieldKeys[f] = k
		var oldF *Field
		if old != nil && f.ID != "" {
			oldF = old.FieldByID(f.ID)
		}
		// System fields may be listed; only a few options of theirs change.
		sysName := systemNameOf(before, after, f.Name)
		if oldF != nil && oldF.System {
			if f.Name != oldF.Name {
				fe.Add(k+".name", "invalid", "the system field %q can't be renamed", oldF.Name)
				continue
			}
			sysName = oldF.Name
		}
		if sysName != "" && (oldF == nil || oldF.System) && (f.System || f.Name == sysName || oldF != nil) {
			s.prepareSystemField(old, c, f, sysName, k, sys, fe)
			continue
		}
		f.System = false
		checkFieldName(c, f, sysName, k, names, fe)
		if f.ID != "" {
			if !defIDRe.MatchString(f.ID) {
				fe.Add(k+".id", "invalid", "a field id is 1 to 64 letters, digits or _")
			} else if ids[f.ID] {
				fe.Add(k+".id", "duplicate", "the field id %q appears twice", f.ID)
			}
			ids[f.ID] = true
		}
		user = append(user, f)
		d, ok := fieldTypeDefs[f.Type]
		if !ok {
			fe.Add(k+".type", "invalid", "unknown field type %q", f.Type)
			continue
		}
		clearUnusedOptions(f)
		if d.options != nil {
			d.options(f, k, fe, s.find)
		}
	}
	checkDerivedNames(c, user, append(slices.Clone(before), after...), prefix, fe)

	// Ids of new fields.
	for _, f := range user {
		if f.ID == "" {
			for f.ID == "" || ids[f.ID] {
				f.ID = "f" + randomString(9, idAlphabet)
			}
			ids[f.ID] = true
		}
	}

	out := make([]*Field, 0, len(before)+len(user)+len(after))
	for _, n := range before {
		out = append(out, s.systemFieldFor(old, sys, n))
	}
	out = append(out, user...)
	for _, n := range after {
		out = append(out, s.systemFieldFor(old, sys, n))
	}
	c.Fields = out
}

// systemNameOf returns the system field name that name is (compared
// without case), or "".
func systemNameOf(before, after []string, name string) string {
	for _, list := range [][]string{before, after} {
		for _, s := range list {
			if strings.EqualFold(s, name) {
				return s
			}
		}
	}
	return ""
}

// prepareSystemField checks f, a listed system field sysName, and records
// it in sys merged with its definition; only the options an admin may
// change may differ.
func (s *schemaTx) prepareSystemField(old, c *Collection, f *Field, sysName, k string, sys map[string]*Field, fe *apperr.FieldErrors) {
	if f.Type != "" && f.Type != systemField(sysName).Type {
		fe.Add(k+".type", "invalid", "the type of the system field %q can't change", sysName)
		return
	}
	if sys[sysName] != nil {
		fe.Add(k+".name", "duplicate", "the field %q appears twice", sysName)
		return
	}
	base := systemField(sysName)
	if old != nil {
		if of := old.FieldByName(sysName); of != nil && of.System {
			base = of
		}
	}
	// A field named like a system field is that system field: it may be
	// listed as it is (an export read back), with only the options an
	// admin may change set otherwise.
	if bad := fixedOptionChanges(base, f); len(bad) > 0 {
		fe.Add(k+"."+bad[0], "reserved", "%q is a system field of %s collections: its %s can't be set%s",
			sysName, c.Type, strings.Join(bad, ", "), changeableNote(sysName))
		return
	}
	m := mergeSystemField(base, f)
	s.fieldKeys[m] = k
	if d := fieldTypeDefs[m.Type]; d.options != nil {
		d.options(m, k, fe, s.find)
	}
	sys[sysName] = m
}

// checkFieldName checks the name of a user field at key k: its form, that
// it is no system or reserved name, and that no earlier field has it
// (names maps lower-case names to their field's key).
func checkFieldName(c *Collection, f *Field, sysName, k string, names map[string]string, fe *apperr.FieldErrors) {
	switch {
	case f.Name == "":
		fe.Add(k+".name", "required", "a field needs a name")
	case len(f.Name) > maxNameLen:
		fe.Add(k+".name", "too_long", "at most %d characters", maxNameLen)
	case !fieldNameRe.MatchString(f.Name):
		fe.Add(k+".name", "invalid", "a field name starts with a letter, followed by letters, digits and _ (^[a-zA-Z][a-zA-Z0-9_]*$)")
	case sysName != "":
		fe.Add(k+".name", "reserved", "%q is a system field of %s collections", sysName, c.Type)
	case slices.ContainsFunc(reservedFieldNames, func(r string) bool { return strings.EqualFold(r, f.Name) }):
		fe.Add(k+".name", "reserved", "%q is a reserved name", f.Name)
	}
	if prev, ok := names[strings.ToLower(f.Name)]; ok && f.Name != "" {
		fe.Add(k+".name", "duplicate", "the name %q is already used by %s (names are case-insensitive)", f.Name, prev)
	}
	names[strings.ToLower(f.Name)] = k
}

// checkDerivedNames refuses a user field whose derived GraphQL names
// (relation "author" adds "authorId", numbers add "<name>Increment", lists
// add "<name>Append"/"<name>Remove") collide with another field.
func checkDerivedNames(c *Collection, user []*Field, system []string, prefix string, fe *apperr.FieldErrors) {
	all := map[string]bool{}
	for _, f := range user {
		all[f.Name] = true
	}
	for _, n := range system {
		all[n] = true
	}
	for _, f := range user {
		var derived []string
		switch {
		case f.Type == FieldRelation && f.Multiple():
			derived = []string{f.Name + "Ids", f.Name + "Append", f.Name + "Remove"}
		case f.Type == FieldRelation:
			derived = []string{f.Name + "Id"}
		case f.Type == FieldNumber:
			derived = []string{f.Name + "Increment"}
		case f.Multiple():
			derived = []string{f.Name + "Append", f.Name + "Remove"}
		}
		for _, dn := range derived {
			if all[dn] {
				fe.Add(fmt.Sprintf("%sfields.%d.name", prefix, slices.Index(c.Fields, f)), "duplicate",
					"the field %q clashes with the %q the API derives from it", dn, dn)
			}
		}
	}
}

func (s *schemaTx) systemFieldFor(old *Collection, given map[string]*Field, name string) *Field {
	if f := given[name]; f != nil {
		return f
	}
	if old != nil {
		if f := old.FieldByName(name); f != nil && f.System {
			return cloneField(f)
		}
	}
	return systemField(name)
}

// ---- indexes -----------------------------------------------------------

const sqlIdent = `"(?:[^"]|"")+"|` + "`[^`]+`" + `|\[[^\]]+\]|[A-Za-z_][A-Za-z0-9_$]*`

var indexRe = regexp.MustCompile(`(?is)^\s*CREATE\s+(UNIQUE\s+)?INDEX\s+(?:IF\s+NOT\s+EXISTS\s+)?(` + sqlIdent + `)\s+ON\s+(` + sqlIdent + `)\s*(\(.*)$`)

// parsedIndex is an index definition split into its parts.
type parsedIndex struct {
	Unique bool
	Name   string
	Table  string
	Rest   string // "(columns) [WHERE ...]"
}

func unquoteIdent(s string) string {
	if len(s) >= 2 {
		switch {
		case s[0] == '"' && s[len(s)-1] == '"':
			return strings.ReplaceAll(s[1:len(s)-1], `""`, `"`)
		case s[0] == '`' && s[len(s)-1] == '`', s[0] == '[' && s[len(s)-1] == ']':
			return s[1 : len(s)-1]
		}
	}
	return s
}

// quoteIdent returns name as a double-quoted SQL identifier.
func quoteIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

func parseIndex(sqlText string) (*parsedIndex, string) {
	text := strings.TrimSpace(sqlText)
	text = strings.TrimSpace(strings.TrimSuffix(text, ";"))
	m := indexRe.FindStringSubmatch(text)
	if m == nil {
		return nil, "must be CREATE [UNIQUE] INDEX name ON table (columns) [WHERE ...]"
	}
	if hasTopLevelSemicolon(m[4]) {
		return nil, "must be a single statement"
	}
	return &parsedIndex{Unique: m[1] != "", Name: unquoteIdent(m[2]), Table: unquoteIdent(m[3]), Rest: strings.TrimSpace(m[4])}, ""
}

func (p *parsedIndex) sql(table string) string {
	u := ""
	if p.Unique {
		u = "UNIQUE "
	}
	return "CREATE " + u + "INDEX " + quoteIdent(p.Name) + " ON " + quoteIdent(table) + " " + p.Rest
}

func (s *schemaTx) prepareIndexes(old, c *Collection, prefix string, fe *apperr.FieldErrors) {
	seen := map[string]bool{}
	out := make([]string, 0, len(c.Indexes))
	for i, text := range c.Indexes {
		k := fmt.Sprintf("%sindexes.%d", prefix, i)
		p, msg := parseIndex(text)
		if msg != "" {
			fe.Add(k, "invalid", "%s", msg)
			continue
		}
		if !strings.EqualFold(p.Table, c.Name) && (old == nil || !strings.EqualFold(p.Table, old.Name)) {
			fe.Add(k, "invalid", "the index must be ON %q, not %q", c.Name, p.Table)
			continue
		}
		lname := strings.ToLower(p.Name)
		switch {
		case strings.HasPrefix(lname, "_mb_"), strings.HasPrefix(lname, "sqlite_"):
			fe.Add(k, "reserved", "index names starting with _mb_ or sqlite_ are reserved")
			continue
		case seen[lname]:
			fe.Add(k, "duplicate", "the index name %q appears twice", p.Name)
			continue
		}
		seen[lname] = true
		out = append(out, p.sql(c.Name))
	}
	c.Indexes = out
}

// hasTopLevelSemicolon reports whether s has a ';' outside quotes and
// comments.
func hasTopLevelSemicolon(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ';':
			return true
		case '\'', '"', '`':
			q := s[i]
			for i++; i < len(s) && s[i] != q; i++ {
			}
		case '[':
			for i++; i < len(s) && s[i] != ']'; i++ {
			}
		case '-':
			if i+1 < len(s) && s[i+1] == '-' {
				for i += 2; i < len(s) && s[i] != '\n'; i++ {
				}
			}
		case '/':
			if i+1 < len(s) && s[i+1] == '*' {
				end := strings.Index(s[i+2:], "*/")
				if end < 0 {
					return true // an unterminated comment could hide anything
				}
				i += end + 3
			}
		}
	}
	return false
}

// checkViewQuery returns the trimmed query, or a message saying why it is
// not a single SELECT.
func checkViewQuery(q string) (string, string) {
	q = strings.TrimSpace(q)
	for strings.HasSuffix(q, ";") {
		q = strings.TrimSpace(strings.TrimSuffix(q, ";"))
	}
	if q == "" {
		return q, "a view collection needs a viewQuery (a SELECT)"
	}
	if hasTopLevelSemicolon(q) {
		return q, "the view query must be a single SELECT statement"
	}
	first := strings.ToUpper(strings.Fields(q)[0])
	if first != "SELECT" && first != "WITH" {
		return q, "the view query must be a SELECT statement"
	}
	return q, ""
}
