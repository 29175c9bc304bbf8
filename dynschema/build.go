package dynschema

import (
	"fmt"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/db"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// defaultLimit is the default of every limit argument.
const defaultLimit = 30

// loadSchema compiles the collections and loads the SDL with gqlparser. A
// schema that gqlparser refuses is apperr.Invalid (it means two generated
// names clash in a way compile did not catch).
func loadSchema(colls []*db.Collection) (*model, *ast.Schema, error) {
	m, err := compile(colls)
	if err != nil {
		return nil, nil, err
	}
	s, gerr := gqlparser.LoadSchema(&ast.Source{Name: "schema.graphql", Input: m.sdl, BuiltIn: false})
	if gerr != nil {
		return nil, nil, apperr.InvalidFields("the collections do not make a valid GraphQL schema",
			map[string]apperr.FieldError{"name": {Code: "invalid_graphql_schema", Message: fmt.Sprint(gerr)}})
	}
	return m, s, nil
}
