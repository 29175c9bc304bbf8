package model

import (
	"slices"

	"github.com/monobase/monobase/db"
)

// Collection is the admin API's view of a db.Collection. Its methods shadow
// the promoted fields of the same name where the API reads differently: an
// empty string reads as null and the fields are wrapped in Field.
type Collection struct{ *db.Collection }

// NewCollections wraps cs.
func NewCollections(cs []*db.Collection) []*Collection {
	out := make([]*Collection, len(cs))
	for i, c := range cs {
		out[i] = &Collection{c}
	}
	return out
}

// Fields returns the fields, system ones included, in order.
func (c Collection) Fields() []Field {
	out := make([]Field, len(c.Collection.Fields))
	for i, f := range c.Collection.Fields {
		out[i] = Field{f}
	}
	return out
}

// Indexes never reads as null.
func (c Collection) Indexes() []string {
	if c.Collection.Indexes == nil {
		return []string{}
	}
	return c.Collection.Indexes
}

// ViewQuery is null for collections without one.
func (c Collection) ViewQuery() *string { return nonEmpty(c.Collection.ViewQuery) }

// GraphQLSingle is null when the name is derived from the collection name.
func (c Collection) GraphQLSingle() *string { return nonEmpty(c.Collection.GraphQLSingle) }

// GraphQLList is null when the name is derived from the collection name.
func (c Collection) GraphQLList() *string { return nonEmpty(c.Collection.GraphQLList) }

// Field is the admin API's view of a db.Field: each option reads as null
// when it does not apply to the field's type (as db's field-type registry
// says), else as its value. Min and Max are promoted as they are (nil when
// unset).
type Field struct{ *db.Field }

func (f Field) applies(option string) bool {
	spec := db.FieldTypeInfo(f.Type)
	return spec != nil && slices.Contains(spec.Options, option)
}

func optString(f Field, option, v string) *string {
	if !f.applies(option) {
		return nil
	}
	return &v
}

func optBool(f Field, option string, v bool) *bool {
	if !f.applies(option) {
		return nil
	}
	return &v
}

func optList(f Field, option string, v []string) []string {
	if !f.applies(option) {
		return nil
	}
	if v == nil {
		return []string{}
	}
	return v
}

// Pattern applies to text and password fields.
func (f Field) Pattern() *string { return optString(f, "pattern", f.Field.Pattern) }

// AutogeneratePattern applies to text fields.
func (f Field) AutogeneratePattern() *string {
	return optString(f, "autogeneratePattern", f.Field.AutogeneratePattern)
}

// OnlyInt applies to number fields.
func (f Field) OnlyInt() *bool { return optBool(f, "onlyInt", f.Field.OnlyInt) }

// Values applies to select fields.
func (f Field) Values() []string { return optList(f, "values", f.Field.Values) }

// MaxSelect applies to select, relation and file fields.
func (f Field) MaxSelect() *int {
	if !f.applies("maxSelect") {
		return nil
	}
	v := f.Field.MaxSelect
	return &v
}

// Collection (the relation target's id) applies to relation fields.
func (f Field) Collection() *string { return optString(f, "collection", f.Field.Collection) }

// CascadeDelete applies to relation fields.
func (f Field) CascadeDelete() *bool { return optBool(f, "cascadeDelete", f.Field.CascadeDelete) }

// MaxSize applies to file, editor and json fields.
func (f Field) MaxSize() *int64 {
	if !f.applies("maxSize") {
		return nil
	}
	v := f.Field.MaxSize
	return &v
}

// MimeTypes applies to file fields.
func (f Field) MimeTypes() []string { return optList(f, "mimeTypes", f.Field.MimeTypes) }

// Thumbs applies to file fields.
func (f Field) Thumbs() []string { return optList(f, "thumbs", f.Field.Thumbs) }

// Protected applies to file fields.
func (f Field) Protected() *bool { return optBool(f, "protected", f.Field.Protected) }

// OnCreate applies to autodate fields.
func (f Field) OnCreate() *bool { return optBool(f, "onCreate", f.Field.OnCreate) }

// OnUpdate applies to autodate fields.
func (f Field) OnUpdate() *bool { return optBool(f, "onUpdate", f.Field.OnUpdate) }

// OnlyDomains applies to email and url fields.
func (f Field) OnlyDomains() []string { return optList(f, "onlyDomains", f.Field.OnlyDomains) }

// ExceptDomains applies to email and url fields.
func (f Field) ExceptDomains() []string {
	return optList(f, "exceptDomains", f.Field.ExceptDomains)
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
