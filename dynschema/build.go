package dynschema

import (
	"fmt"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/db"
)

// defaultLimit is the default of every limit argument.
const defaultLimit = 30

// fragmentCache holds parsed SDL fragments by their text: a rebuild parses
// only the collections whose SDL changed. Parsed definitions are shared by
// schema versions; gqlparser's validation only mutates the Query type,
// which is never cached.
type fragmentCache map[string]*ast.SchemaDocument

// parse returns the parsed fragment, from the cache when the text is known;
// next collects the fragments of the current build.
func (fc fragmentCache) parse(name, src string, builtIn bool, next fragmentCache) (*ast.SchemaDocument, error) {
	if doc, ok := fc[src]; ok {
		next[src] = doc
		return doc, nil
	}
	doc, err := parser.ParseSchema(&ast.Source{Name: name, Input: src, BuiltIn: builtIn})
	if err != nil {
		return nil, err
	}
	next[src] = doc
	return doc, nil
}

func merge(dst, src *ast.SchemaDocument) {
	dst.Schema = append(dst.Schema, src.Schema...)
	dst.SchemaExtension = append(dst.SchemaExtension, src.SchemaExtension...)
	dst.Directives = append(dst.Directives, src.Directives...)
	dst.Definitions = append(dst.Definitions, src.Definitions...)
	dst.Extensions = append(dst.Extensions, src.Extensions...)
}

// loadSchema compiles the collections and loads the SDL with gqlparser
// (without a cache: every fragment is parsed).
func loadSchema(colls []*db.Collection) (*model, *ast.Schema, error) {
	m, s, _, err := loadSchemaCached(colls, fragmentCache{}, nil)
	return m, s, err
}

// loadSchemaCached compiles the collections and loads the SDL with
// gqlparser, reusing the parsed fragments of cache; it returns the cache
// for the next build, with the Go schema extensions exts (nil: none). A
// schema that gqlparser refuses is apperr.Invalid.
func loadSchemaCached(colls []*db.Collection, cache fragmentCache, exts *extSet) (*model, *ast.Schema, fragmentCache, error) {
	m, err := compile(colls)
	if err != nil {
		return nil, nil, nil, err
	}
	invalid := func(err error) error {
		return apperr.InvalidFields("the collections do not make a valid GraphQL schema",
			map[string]apperr.FieldError{"name": {Code: "invalid_graphql_schema", Message: fmt.Sprint(err)}})
	}
	next := make(fragmentCache, len(m.fragments)+2)
	doc := &ast.SchemaDocument{Definitions: make(ast.DefinitionList, 0, 64+len(m.fragments)*10)}
	for _, src := range []*ast.Source{validator.Prelude, {Name: "builtin.graphql", Input: builtinSDL}} {
		d, err := cache.parse(src.Name, src.Input, src.BuiltIn, next)
		if err != nil {
			return nil, nil, nil, invalid(err)
		}
		merge(doc, d)
	}
	for _, frag := range m.fragments {
		d, err := cache.parse("schema.graphql", frag, false, next)
		if err != nil {
			return nil, nil, nil, invalid(err)
		}
		merge(doc, d)
	}
	roots, err := parser.ParseSchema(&ast.Source{Name: "schema.graphql", Input: m.roots})
	if err != nil {
		return nil, nil, nil, invalid(err)
	}
	merge(doc, roots)
	if err := exts.merge(doc, m); err != nil {
		return nil, nil, nil, err
	}
	s, err := validator.ValidateSchemaDocument(doc)
	if err != nil {
		return nil, nil, nil, invalid(err)
	}
	return m, s, next, nil
}
