package db

import "time"

// CollectionType is BASE, AUTH or VIEW.
type CollectionType string

// The collection types of docs/api.md.
const (
	TypeBase CollectionType = "BASE"
	TypeAuth CollectionType = "AUTH"
	TypeView CollectionType = "VIEW"
)

// FieldType names a field type of the registry (see fieldtypes.go).
type FieldType string

// The field types of docs/api.md.
const (
	FieldText     FieldType = "TEXT"
	FieldEditor   FieldType = "EDITOR"
	FieldNumber   FieldType = "NUMBER"
	FieldBool     FieldType = "BOOL"
	FieldEmail    FieldType = "EMAIL"
	FieldURL      FieldType = "URL"
	FieldDate     FieldType = "DATE"
	FieldAutodate FieldType = "AUTODATE"
	FieldSelect   FieldType = "SELECT"
	FieldFile     FieldType = "FILE"
	FieldRelation FieldType = "RELATION"
	FieldJSON     FieldType = "JSON"
	FieldGeoPoint FieldType = "GEOPOINT"
	FieldPassword FieldType = "PASSWORD"
)

// Collection is a runtime-defined collection: one SQLite table named Name with
// one column per field. It is stored as JSON in _collections.
type Collection struct {
	ID      string         `json:"id"`
	Name    string         `json:"name"`
	Type    CollectionType `json:"type"`
	System  bool           `json:"system"`
	Fields  []*Field       `json:"fields"`
	Indexes []string       `json:"indexes"`

	// Rules: nil means superusers only, "" means anyone.
	ListRule   *string `json:"listRule"`
	ViewRule   *string `json:"viewRule"`
	CreateRule *string `json:"createRule"`
	UpdateRule *string `json:"updateRule"`
	DeleteRule *string `json:"deleteRule"`
	AuthRule   *string `json:"authRule,omitempty"`   // AUTH only
	ManageRule *string `json:"manageRule,omitempty"` // AUTH only

	ViewQuery string `json:"viewQuery,omitempty"` // VIEW only

	// Auth holds the options of an AUTH collection; read them with
	// AuthOpts, which fills the defaults.
	Auth *AuthOptions `json:"auth,omitempty"`

	// GraphQL name overrides; empty means derived from Name.
	GraphQLSingle string `json:"graphqlSingle,omitempty"`
	GraphQLList   string `json:"graphqlList,omitempty"`

	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
}

// Field is one field of a collection. The options of every type sit flat on
// the struct; only those of the field's type are meaningful.
type Field struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Type     FieldType `json:"type"`
	Required bool      `json:"required"`
	Hidden   bool      `json:"hidden"`
	System   bool      `json:"system"`

	Min                 *float64 `json:"min,omitempty"`     // text/editor/password: length; number: value; date: unix seconds is not used, see MinDate
	Max                 *float64 `json:"max,omitempty"`     // as Min
	Pattern             string   `json:"pattern,omitempty"` // text, password
	AutogeneratePattern string   `json:"autogeneratePattern,omitempty"`
	OnlyInt             bool     `json:"onlyInt,omitempty"`    // number
	Values              []string `json:"values,omitempty"`     // select
	MaxSelect           int      `json:"maxSelect,omitempty"`  // select, relation, file: >1 means multiple
	Collection          string   `json:"collection,omitempty"` // relation target collection id
	CascadeDelete       bool     `json:"cascadeDelete,omitempty"`
	MaxSize             int64    `json:"maxSize,omitempty"` // file bytes; editor/json bytes
	MimeTypes           []string `json:"mimeTypes,omitempty"`
	Thumbs              []string `json:"thumbs,omitempty"`
	Protected           bool     `json:"protected,omitempty"`
	OnCreate            bool     `json:"onCreate,omitempty"` // autodate
	OnUpdate            bool     `json:"onUpdate,omitempty"` // autodate
	OnlyDomains         []string `json:"onlyDomains,omitempty"`
	ExceptDomains       []string `json:"exceptDomains,omitempty"`
}

// Multiple reports whether the field holds a list (select, relation, file
// with MaxSelect > 1).
func (f *Field) Multiple() bool {
	switch f.Type {
	case FieldSelect, FieldRelation, FieldFile:
		return f.MaxSelect > 1
	}
	return false
}

// FieldByName returns the field, or nil.
func (c *Collection) FieldByName(name string) *Field {
	for _, f := range c.Fields {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// FieldByID returns the field, or nil.
func (c *Collection) FieldByID(id string) *Field {
	for _, f := range c.Fields {
		if f.ID == id {
			return f
		}
	}
	return nil
}

// IsAuth reports whether the collection is an auth collection.
func (c *Collection) IsAuth() bool { return c.Type == TypeAuth }
