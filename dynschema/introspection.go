package dynschema

import (
	"strconv"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/introspection"
	"github.com/vektah/gqlparser/v2/ast"
)

// writeIntro writes an introspection object (__Schema, __Type, __Field,
// __InputValue, __EnumValue, __Directive) from gqlgen's introspection
// wrappers.
func (x *operation) writeIntro(sel ast.SelectionSet, obj any, typeName string) {
	fields := graphql.CollectFields(x.oc, sel, []string{typeName})
	x.writeObject(fields, func(f graphql.CollectedField) bool {
		if f.Name == "__typename" {
			x.buf = appendString(x.buf, typeName)
			return true
		}
		switch o := obj.(type) {
		case *introspection.Schema:
			x.introSchema(f, o)
		case *introspection.Type:
			x.introType(f, o)
		case *introspection.Field:
			x.introField(f, o)
		case *introspection.InputValue:
			x.introInputValue(f, o)
		case *introspection.EnumValue:
			switch f.Name {
			case "name":
				x.buf = appendString(x.buf, o.Name)
			case "description":
				x.strPtr(o.Description())
			case "isDeprecated":
				x.buf = strconv.AppendBool(x.buf, o.IsDeprecated())
			case "deprecationReason":
				x.strPtr(o.DeprecationReason())
			default:
				x.buf = append(x.buf, "null"...)
			}
		case *introspection.Directive:
			switch f.Name {
			case "name":
				x.buf = appendString(x.buf, o.Name)
			case "description":
				x.strPtr(o.Description())
			case "locations":
				x.buf = append(x.buf, '[')
				for j, l := range o.Locations {
					if j > 0 {
						x.buf = append(x.buf, ',')
					}
					x.buf = appendString(x.buf, l)
				}
				x.buf = append(x.buf, ']')
			case "args":
				x.introInputValues(f, o.Args)
			case "isRepeatable":
				x.buf = strconv.AppendBool(x.buf, o.IsRepeatable)
			default:
				x.buf = append(x.buf, "null"...)
			}
		default:
			x.buf = append(x.buf, "null"...)
		}
		return true
	})
}

func (x *operation) strPtr(s *string) {
	if s == nil {
		x.buf = append(x.buf, "null"...)
		return
	}
	x.buf = appendString(x.buf, *s)
}

func (x *operation) introTypeRef(f graphql.CollectedField, t *introspection.Type) {
	if t == nil {
		x.buf = append(x.buf, "null"...)
		return
	}
	x.writeIntro(f.Selections, t, "__Type")
}

func (x *operation) introTypes(f graphql.CollectedField, ts []introspection.Type) {
	writeIntroList(x, f.Selections, ts, "__Type")
}

// writeIntroList writes items as a JSON list of introspection objects of
// the type typeName, each with the selection sel.
func writeIntroList[T any](x *operation, sel ast.SelectionSet, items []T, typeName string) {
	x.buf = append(x.buf, '[')
	for i := range items {
		if i > 0 {
			x.buf = append(x.buf, ',')
		}
		x.writeIntro(sel, &items[i], typeName)
	}
	x.buf = append(x.buf, ']')
}

func includeDeprecated(x *operation, f graphql.CollectedField) bool {
	b, _ := f.ArgumentMap(x.oc.Variables)["includeDeprecated"].(bool)
	return b
}

func (x *operation) introSchema(f graphql.CollectedField, s *introspection.Schema) {
	switch f.Name {
	case "description":
		x.strPtr(s.Description())
	case "types":
		x.introTypes(f, s.Types())
	case "queryType":
		x.introTypeRef(f, s.QueryType())
	case "mutationType":
		x.introTypeRef(f, s.MutationType())
	case "subscriptionType":
		x.introTypeRef(f, s.SubscriptionType())
	case "directives":
		writeIntroList(x, f.Selections, s.Directives(), "__Directive")
	default:
		x.buf = append(x.buf, "null"...)
	}
}

func (x *operation) introType(f graphql.CollectedField, t *introspection.Type) {
	kind := t.Kind()
	switch f.Name {
	case "kind":
		x.buf = appendString(x.buf, kind)
	case "name":
		x.strPtr(t.Name())
	case "description":
		x.strPtr(t.Description())
	case "specifiedByURL", "specifiedByUrl":
		x.strPtr(t.SpecifiedByURL())
	case "isOneOf":
		x.buf = strconv.AppendBool(x.buf, t.IsOneOf())
	case "fields":
		if kind != "OBJECT" && kind != "INTERFACE" {
			x.buf = append(x.buf, "null"...)
			return
		}
		writeIntroList(x, f.Selections, t.Fields(includeDeprecated(x, f)), "__Field")
	case "interfaces":
		if kind != "OBJECT" && kind != "INTERFACE" {
			x.buf = append(x.buf, "null"...)
			return
		}
		x.introTypes(f, t.Interfaces())
	case "possibleTypes":
		if kind != "INTERFACE" && kind != "UNION" {
			x.buf = append(x.buf, "null"...)
			return
		}
		x.introTypes(f, t.PossibleTypes())
	case "enumValues":
		if kind != "ENUM" {
			x.buf = append(x.buf, "null"...)
			return
		}
		writeIntroList(x, f.Selections, t.EnumValues(includeDeprecated(x, f)), "__EnumValue")
	case "inputFields":
		if kind != "INPUT_OBJECT" {
			x.buf = append(x.buf, "null"...)
			return
		}
		x.introInputValuesFiltered(f, t.InputFields(), includeDeprecated(x, f))
	case "ofType":
		x.introTypeRef(f, t.OfType())
	default:
		x.buf = append(x.buf, "null"...)
	}
}

func (x *operation) introField(f graphql.CollectedField, fd *introspection.Field) {
	switch f.Name {
	case "name":
		x.buf = appendString(x.buf, fd.Name)
	case "description":
		x.strPtr(fd.Description())
	case "args":
		x.introInputValuesFiltered(f, fd.Args, includeDeprecated(x, f))
	case "type":
		x.introTypeRef(f, fd.Type)
	case "isDeprecated":
		x.buf = strconv.AppendBool(x.buf, fd.IsDeprecated())
	case "deprecationReason":
		x.strPtr(fd.DeprecationReason())
	default:
		x.buf = append(x.buf, "null"...)
	}
}

func (x *operation) introInputValues(f graphql.CollectedField, vs []introspection.InputValue) {
	x.introInputValuesFiltered(f, vs, true)
}

func (x *operation) introInputValuesFiltered(f graphql.CollectedField, vs []introspection.InputValue, withDeprecated bool) {
	x.buf = append(x.buf, '[')
	n := 0
	for i := range vs {
		if !withDeprecated && vs[i].IsDeprecated() {
			continue
		}
		if n > 0 {
			x.buf = append(x.buf, ',')
		}
		n++
		x.writeIntro(f.Selections, &vs[i], "__InputValue")
	}
	x.buf = append(x.buf, ']')
}

func (x *operation) introInputValue(f graphql.CollectedField, iv *introspection.InputValue) {
	switch f.Name {
	case "name":
		x.buf = appendString(x.buf, iv.Name)
	case "description":
		x.strPtr(iv.Description())
	case "type":
		x.introTypeRef(f, iv.Type)
	case "defaultValue":
		x.strPtr(iv.DefaultValue)
	case "isDeprecated":
		x.buf = strconv.AppendBool(x.buf, iv.IsDeprecated())
	case "deprecationReason":
		x.strPtr(iv.DeprecationReason())
	default:
		x.buf = append(x.buf, "null"...)
	}
}
