package dynschema

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/monobase/monobase/apperr"
)

// Resolver resolves one custom root field (extend.go). ctx carries the
// caller's viewer (auth.ViewerFrom) and ends with the operation; args are
// the field's arguments coerced per the SDL: Int as int, Float as float64,
// String, ID and enum values as string, Boolean as bool, input objects as
// map[string]any, lists as []any, other scalars (JSON, DateTime, custom
// ones) as sent. An argument that is absent and has no default is absent
// from args.
//
// A query or mutation field returns its value: nil, a scalar, a string for
// an enum, a slice for a list, a map[string]any or a struct (read through
// its json tags) for an object type, the record id (or the record) for a
// collection's type. A subscription field returns a receive channel (any
// element type, such as <-chan any): each value is one event, an error
// value is an error event, and the stream ends when the channel closes or
// the client stops (ctx is then cancelled: stop sending).
//
// An error is BAD_USER_INPUT with its message, unless it is an
// *apperr.Error, whose code is kept; a panic is an internal error logged
// with the field's name.
type Resolver func(ctx context.Context, args map[string]any) (any, error)

// Extension adds custom root fields, and the types they use, to the
// application schema: SDL extends Query, Mutation or Subscription and may
// declare types, inputs, enums, interfaces, unions and scalars, and refer
// to the generated types (such as a collection's Post); Resolvers has one
// resolver per root field it adds, keyed "Query.hello".
type Extension struct {
	SDL       string
	Resolvers map[string]Resolver
}

// extField is one custom root field and its resolver.
type extField struct {
	key string // "Query.hello"
	fn  Resolver
}

// extSet is the checked form of the engine's extensions.
type extSet struct {
	sources []string             // the SDL of each extension, parsed again at every build
	fields  map[string]*extField // by "Root.name"
	sub     bool                 // a Subscription field is added
}

var rootNames = []string{"Query", "Mutation", "Subscription"}

// checkExtensions parses and checks the extensions: valid SDL that extends
// only the root types, one resolver for every added root field and none
// for another. It returns nil for none.
func checkExtensions(exts []Extension) (*extSet, error) {
	if len(exts) == 0 {
		return nil, nil
	}
	set := &extSet{fields: map[string]*extField{}}
	for i, x := range exts {
		doc, err := parseExtension(i, x.SDL)
		if err != nil {
			return nil, err
		}
		if len(doc.Schema) > 0 || len(doc.SchemaExtension) > 0 || len(doc.Directives) > 0 {
			return nil, fmt.Errorf("dynschema: schema extension %d: only types and root fields may be declared (no schema or directive definitions)", i)
		}
		for _, d := range doc.Definitions {
			if slices.Contains(rootNames, d.Name) {
				return nil, fmt.Errorf("dynschema: schema extension %d: %s is generated: add fields with extend type %s", i, d.Name, d.Name)
			}
		}
		for _, d := range doc.Extensions {
			if !slices.Contains(rootNames, d.Name) {
				return nil, fmt.Errorf("dynschema: schema extension %d: extend type %s: only Query, Mutation and Subscription may be extended", i, d.Name)
			}
			for _, f := range d.Fields {
				key := d.Name + "." + f.Name
				if set.fields[key] != nil {
					return nil, fmt.Errorf("dynschema: schema extension %d: %s is added twice", i, key)
				}
				fn := x.Resolvers[key]
				if fn == nil {
					return nil, fmt.Errorf("dynschema: schema extension %d: %s has no resolver", i, key)
				}
				set.fields[key] = &extField{key: key, fn: fn}
				set.sub = set.sub || d.Name == "Subscription"
			}
		}
		for key := range x.Resolvers {
			if set.fields[key] == nil {
				return nil, fmt.Errorf("dynschema: schema extension %d: the resolver %s has no field in its SDL", i, key)
			}
		}
		set.sources = append(set.sources, x.SDL)
	}
	return set, nil
}

func parseExtension(i int, sdl string) (*ast.SchemaDocument, error) {
	doc, err := parser.ParseSchema(&ast.Source{Name: fmt.Sprintf("extension%d.graphql", i), Input: sdl})
	if err != nil {
		return nil, fmt.Errorf("dynschema: schema extension %d: %w", i, err)
	}
	return doc, nil
}

// merge adds the extensions to doc, the generated schema of m: their
// definitions, their root fields and their SDL (m.sdl). A type or root
// field that the generated schema has already is BAD_USER_INPUT naming
// both, so a collection change that would clash is refused.
func (set *extSet) merge(doc *ast.SchemaDocument, m *model) error {
	if set == nil {
		return nil
	}
	types := map[string]bool{}
	roots := map[string]bool{}
	for _, d := range doc.Definitions {
		types[d.Name] = true
		if slices.Contains(rootNames, d.Name) {
			for _, f := range d.Fields {
				roots[d.Name+"."+f.Name] = true
			}
		}
	}
	for _, d := range doc.Extensions {
		for _, f := range d.Fields {
			roots[d.Name+"."+f.Name] = true
		}
	}
	var errs apperr.FieldErrors
	for i, src := range set.sources {
		ext, err := parseExtension(i, src)
		if err != nil {
			return err
		}
		for _, d := range ext.Definitions {
			if types[d.Name] {
				errs.Add("name", "graphql_name_clash", "the type %s of the Go schema extension clashes with %s", d.Name, m.typeOwner(d.Name))
			}
		}
		for _, d := range ext.Extensions {
			for _, f := range d.Fields {
				if roots[d.Name+"."+f.Name] {
					errs.Add("name", "graphql_name_clash", "the field %s.%s of the Go schema extension clashes with %s", d.Name, f.Name, m.rootOwner(d.Name, f.Name))
				}
			}
		}
		merge(doc, ext)
	}
	if err := errs.Err("the collections clash with the Go schema extension"); err != nil {
		return err
	}
	var sdl strings.Builder
	sdl.WriteString(m.sdl)
	sdl.WriteString("\n# Added by the app (Go schema extensions).\n")
	if set.sub && !types["Subscription"] {
		sub, err := parser.ParseSchema(&ast.Source{Name: "schema.graphql", Input: "type Subscription\n"})
		if err != nil {
			return err
		}
		merge(doc, sub)
		sdl.WriteString("type Subscription\n")
	}
	for _, src := range set.sources {
		sdl.WriteString(strings.TrimSpace(src))
		sdl.WriteString("\n")
	}
	m.sdl = sdl.String()
	m.custom = set.fields
	return nil
}

// typeOwner names who defines the generated type name.
func (m *model) typeOwner(name string) string {
	if t := m.types[name]; t != nil {
		return "the type of collection " + t.coll.Name
	}
	var owner *objType // the longest type name that name starts with
	for _, t := range m.types {
		if strings.HasPrefix(name, t.name) && (owner == nil || len(t.name) > len(owner.name)) {
			owner = t
		}
	}
	if owner != nil {
		return "the generated type " + name + " (collection " + owner.coll.Name + ")"
	}
	return "the built-in type " + name
}

// rootOwner names who defines the generated root field root.name.
func (m *model) rootOwner(root, name string) string {
	var rf *rootField
	switch root {
	case "Query":
		rf = m.query[name]
	case "Mutation":
		rf = m.mutation[name]
	case "Subscription":
		rf = m.subscription[name]
	}
	if rf != nil && rf.t != nil {
		return "a field of collection " + rf.t.coll.Name
	}
	return "a built-in field"
}
