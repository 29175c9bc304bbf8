package db

// The one registry of field types: for each type its SQL column type, the
// options that mean something for it, how those options are validated on a
// collection, how a client's input becomes the canonical Go value, and how a
// canonical value is stored in and read back from SQLite. The DDL, record
// validation and the GraphQL compiler all read it.

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/monobase/monobase/apperr"
)

// ValueKind is the canonical Go form of one value of a field type.
type ValueKind string

// The value kinds. A field whose Multiple() is true holds []string instead.
const (
	KindString   ValueKind = "string"   // string
	KindNumber   ValueKind = "number"   // float64
	KindBool     ValueKind = "bool"     // bool
	KindDate     ValueKind = "date"     // string "2006-01-02T15:04:05.000Z"
	KindJSON     ValueKind = "json"     // any, as decoded by encoding/json
	KindGeoPoint ValueKind = "geopoint" // GeoPoint
	KindPassword ValueKind = "password" // string: plain text on input, bcrypt hash stored
)

// FieldTypeSpec describes one field type of the registry.
type FieldTypeSpec struct {
	Type FieldType
	// Column is the SQL column type of a single value ("TEXT", "REAL",
	// "INTEGER"); a multiple field is always a TEXT JSON array.
	Column string
	// Kind is the canonical Go form of a single value.
	Kind ValueKind
	// CanBeMultiple is true when MaxSelect > 1 turns the field into a list
	// of strings (select, relation, file).
	CanBeMultiple bool
	// Writable is false for types that clients never set (AUTODATE).
	Writable bool
	// Sortable is true for scalar columns that order meaningfully.
	Sortable bool
	// Options are the JSON names of the Field options meaningful for the type.
	Options []string
}

type fieldTypeDef struct {
	spec FieldTypeSpec
	// options validates and normalizes the type's options of f; key is the
	// field's error key prefix (e.g. "fields.3").
	options func(f *Field, key string, fe *apperr.FieldErrors, res collectionResolver)
	// normalize turns a non-nil input value into the canonical Go value;
	// blank values of optional fields normalize to nil (or an empty list).
	normalize func(f *Field, v any, lim *FieldLimits) (any, *apperr.FieldError)
}

// collectionResolver returns the collection with that id or name among the
// collections a definition may relate to, or nil.
type collectionResolver func(idOrName string) *Collection

var fieldTypeDefs = map[FieldType]*fieldTypeDef{
	FieldText: {
		spec:      FieldTypeSpec{Column: "TEXT", Kind: KindString, Writable: true, Sortable: true, Options: []string{"min", "max", "pattern", "autogeneratePattern"}},
		options:   textOptions,
		normalize: normalizeText,
	},
	FieldEditor: {
		spec:      FieldTypeSpec{Column: "TEXT", Kind: KindString, Writable: true, Sortable: true, Options: []string{"maxSize"}},
		options:   maxSizeOption,
		normalize: normalizeEditor,
	},
	FieldNumber: {
		spec:      FieldTypeSpec{Column: "REAL", Kind: KindNumber, Writable: true, Sortable: true, Options: []string{"min", "max", "onlyInt"}},
		options:   numberOptions,
		normalize: normalizeNumber,
	},
	FieldBool: {
		spec:      FieldTypeSpec{Column: "INTEGER", Kind: KindBool, Writable: true, Sortable: true},
		normalize: normalizeBool,
	},
	FieldEmail: {
		spec:      FieldTypeSpec{Column: "TEXT", Kind: KindString, Writable: true, Sortable: true, Options: []string{"onlyDomains", "exceptDomains"}},
		options:   domainOptions,
		normalize: normalizeEmail,
	},
	FieldURL: {
		spec:      FieldTypeSpec{Column: "TEXT", Kind: KindString, Writable: true, Sortable: true, Options: []string{"onlyDomains", "exceptDomains"}},
		options:   domainOptions,
		normalize: normalizeURL,
	},
	FieldDate: {
		spec:      FieldTypeSpec{Column: "TEXT", Kind: KindDate, Writable: true, Sortable: true},
		normalize: normalizeDate,
	},
	FieldAutodate: {
		spec:    FieldTypeSpec{Column: "TEXT", Kind: KindDate, Sortable: true, Options: []string{"onCreate", "onUpdate"}},
		options: autodateOptions,
		normalize: func(*Field, any, *FieldLimits) (any, *apperr.FieldError) {
			return nil, &apperr.FieldError{Code: "read_only", Message: "is set automatically"}
		},
	},
	FieldSelect: {
		spec:      FieldTypeSpec{Column: "TEXT", Kind: KindString, CanBeMultiple: true, Writable: true, Sortable: true, Options: []string{"values", "maxSelect"}},
		options:   selectOptions,
		normalize: normalizeSelect,
	},
	FieldFile: {
		spec:      FieldTypeSpec{Column: "TEXT", Kind: KindString, CanBeMultiple: true, Writable: true, Sortable: true, Options: []string{"maxSelect", "maxSize", "mimeTypes", "thumbs", "protected"}},
		options:   fileOptions,
		normalize: normalizeFile,
	},
	FieldRelation: {
		spec:      FieldTypeSpec{Column: "TEXT", Kind: KindString, CanBeMultiple: true, Writable: true, Sortable: true, Options: []string{"collection", "maxSelect", "cascadeDelete"}},
		options:   relationOptions,
		normalize: normalizeRelation,
	},
	FieldJSON: {
		spec:      FieldTypeSpec{Column: "TEXT", Kind: KindJSON, Writable: true, Options: []string{"maxSize"}},
		options:   maxSizeOption,
		normalize: normalizeJSON,
	},
	FieldGeoPoint: {
		spec:      FieldTypeSpec{Column: "TEXT", Kind: KindGeoPoint, Writable: true},
		normalize: normalizeGeoPoint,
	},
	FieldPassword: {
		spec:      FieldTypeSpec{Column: "TEXT", Kind: KindPassword, Writable: true, Options: []string{"min", "max", "pattern"}},
		options:   passwordOptions,
		normalize: normalizePassword,
	},
}

// fieldTypeOrder is the order FieldTypes lists the types in (docs/api.md's).
var fieldTypeOrder = []FieldType{
	FieldText, FieldEditor, FieldNumber, FieldBool, FieldEmail, FieldURL, FieldDate,
	FieldAutodate, FieldSelect, FieldFile, FieldRelation, FieldJSON, FieldGeoPoint, FieldPassword,
}

func init() {
	for t, d := range fieldTypeDefs {
		d.spec.Type = t
	}
}

// FieldTypes returns every field type of the registry in docs/api.md's order.
// The specs must not be modified.
func FieldTypes() []*FieldTypeSpec {
	out := make([]*FieldTypeSpec, 0, len(fieldTypeOrder))
	for _, t := range fieldTypeOrder {
		out = append(out, &fieldTypeDefs[t].spec)
	}
	return out
}

// FieldTypeInfo returns the spec of t, or nil for an unknown type. The spec
// must not be modified.
func FieldTypeInfo(t FieldType) *FieldTypeSpec {
	if d, ok := fieldTypeDefs[t]; ok {
		return &d.spec
	}
	return nil
}

// ColumnType returns the SQL column type of f: its type's Column, or TEXT
// (a JSON array) for a multiple field.
func ColumnType(f *Field) string {
	if f.Multiple() {
		return "TEXT"
	}
	if d, ok := fieldTypeDefs[f.Type]; ok {
		return d.spec.Column
	}
	return "TEXT"
}

// storedAsJSON reports whether f's column holds JSON text.
func storedAsJSON(f *Field) bool {
	return f.Multiple() || f.Type == FieldJSON || f.Type == FieldGeoPoint
}

// storageClass groups field shapes whose stored values are interchangeable;
// a field's type may change only within its class.
func storageClass(f *Field) string {
	if f.Multiple() {
		return "multi"
	}
	switch f.Type {
	case FieldNumber:
		return "real"
	case FieldBool:
		return "bool"
	case FieldJSON:
		return "json"
	case FieldGeoPoint:
		return "geopoint"
	case FieldPassword:
		return "password"
	}
	return "text"
}

// DateLayout is the stored form of dates: UTC with milliseconds, sortable.
const DateLayout = "2006-01-02T15:04:05.000Z"

// FormatDate returns t in the stored date form.
func FormatDate(t time.Time) string { return t.UTC().Format(DateLayout) }

var dateLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.000Z07:00",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05.999999999Z",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02",
}

// ParseDate accepts RFC 3339 ("2006-01-02T15:04:05Z07:00" with optional
// fractions), the SQL-like "2006-01-02 15:04:05.000Z" and a bare
// "2006-01-02" (UTC); zone-less forms are taken as UTC.
func ParseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid date %q: want RFC 3339", s)
}

// FieldLimits bound the values of fields that set no bound of their own;
// zero values take the defaults (PocketBase's).
type FieldLimits struct {
	TextMaxChars  int   // TEXT without max (or max 0): default 5,000 characters
	EditorMaxSize int64 // EDITOR without maxSize: default 5 MiB
	JSONMaxSize   int64 // JSON without maxSize: default 5 MiB of JSON text
}

// The default field limits.
const (
	DefaultTextMaxChars  = 5000
	DefaultEditorMaxSize = 5 << 20
	DefaultJSONMaxSize   = 5 << 20
)

func (l FieldLimits) withDefaults() FieldLimits {
	if l.TextMaxChars <= 0 {
		l.TextMaxChars = DefaultTextMaxChars
	}
	if l.EditorMaxSize <= 0 {
		l.EditorMaxSize = DefaultEditorMaxSize
	}
	if l.JSONMaxSize <= 0 {
		l.JSONMaxSize = DefaultJSONMaxSize
	}
	return l
}

// textMax returns the most characters a TEXT value of f may have: its max,
// or the default when it sets none (nil or 0).
func (l *FieldLimits) textMax(f *Field) int {
	if f.Max != nil && *f.Max > 0 {
		return int(min(*f.Max, math.MaxInt32))
	}
	return l.TextMaxChars
}

// maxSize returns the most bytes an EDITOR or JSON value of f may have: its
// maxSize, or def when it sets none.
func maxSize(f *Field, def int64) int64 {
	if f.MaxSize > 0 {
		return f.MaxSize
	}
	return def
}

// NormalizeValue turns a client's input value for f into its canonical Go
// value (see Record), with the default FieldLimits. nil stays nil (an empty
// list for multiple fields). Bad input returns apperr.Invalid with a message
// keyed by f.Name. Relation ids are not checked for existence here.
func NormalizeValue(f *Field, v any) (any, error) {
	lim := FieldLimits{}.withDefaults()
	nv, fe := normalizeValue(f, v, &lim)
	if fe != nil {
		return nil, apperr.InvalidFields("validation failed", map[string]apperr.FieldError{f.Name: *fe})
	}
	return nv, nil
}

// normalizeValue is NormalizeValue with the limits lim (defaults applied).
func normalizeValue(f *Field, v any, lim *FieldLimits) (any, *apperr.FieldError) {
	d, ok := fieldTypeDefs[f.Type]
	if !ok {
		return nil, ferr("invalid_type", "unknown field type %s", f.Type)
	}
	if v == nil {
		if f.Multiple() {
			return []string{}, nil
		}
		return nil, nil
	}
	return d.normalize(f, v, lim)
}

// isBlank reports whether a canonical value counts as missing for a
// required field.
func isBlank(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(x) == ""
	case []string:
		return len(x) == 0
	}
	return false
}

func ferr(code, format string, args ...any) *apperr.FieldError {
	return &apperr.FieldError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ---- option validation -------------------------------------------------

var thumbRe = regexp.MustCompile(`^(\d+)x(\d+)([tbf])?$`)

func checkCount(v *float64, key string, fe *apperr.FieldErrors) {
	if v != nil && (*v < 0 || *v != math.Trunc(*v) || math.IsInf(*v, 0)) {
		fe.Add(key, "invalid_option", "must be a non-negative integer")
	}
}

func checkMinMax(f *Field, key string, fe *apperr.FieldErrors) {
	if f.Min != nil && f.Max != nil && *f.Min > *f.Max {
		fe.Add(key+".min", "invalid_option", "min must not exceed max")
	}
}

func checkPattern(p, key string, fe *apperr.FieldErrors) {
	if p == "" {
		return
	}
	if _, err := compilePattern(p); err != nil {
		fe.Add(key, "invalid_option", "invalid regular expression: %v", err)
	}
}

func textOptions(f *Field, key string, fe *apperr.FieldErrors, _ collectionResolver) {
	checkCount(f.Min, key+".min", fe)
	checkCount(f.Max, key+".max", fe)
	checkMinMax(f, key, fe)
	checkPattern(f.Pattern, key+".pattern", fe)
	if f.AutogeneratePattern != "" {
		if _, err := generateFromPattern(f.AutogeneratePattern); err != nil {
			fe.Add(key+".autogeneratePattern", "invalid_option", "invalid pattern: %v", err)
		}
	}
}

func passwordOptions(f *Field, key string, fe *apperr.FieldErrors, _ collectionResolver) {
	checkCount(f.Min, key+".min", fe)
	checkCount(f.Max, key+".max", fe)
	checkMinMax(f, key, fe)
	if f.Max != nil && *f.Max > 72 {
		fe.Add(key+".max", "invalid_option", "passwords are at most 72 bytes")
	}
	checkPattern(f.Pattern, key+".pattern", fe)
}

func maxSizeOption(f *Field, key string, fe *apperr.FieldErrors, _ collectionResolver) {
	if f.MaxSize < 0 {
		fe.Add(key+".maxSize", "invalid_option", "must not be negative")
	}
}

func numberOptions(f *Field, key string, fe *apperr.FieldErrors, _ collectionResolver) {
	for name, v := range map[string]*float64{"min": f.Min, "max": f.Max} {
		if v != nil && (math.IsNaN(*v) || math.IsInf(*v, 0)) {
			fe.Add(key+"."+name, "invalid_option", "must be a finite number")
		}
	}
	checkMinMax(f, key, fe)
}

var domainRe = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$`)

func domainOptions(f *Field, key string, fe *apperr.FieldErrors, _ collectionResolver) {
	if len(f.OnlyDomains) > 0 && len(f.ExceptDomains) > 0 {
		fe.Add(key+".onlyDomains", "invalid_option", "set onlyDomains or exceptDomains, not both")
	}
	for name, list := range map[string][]string{"onlyDomains": f.OnlyDomains, "exceptDomains": f.ExceptDomains} {
		for i, d := range list {
			d = strings.ToLower(strings.TrimSpace(d))
			list[i] = d
			if !domainRe.MatchString(d) {
				fe.Add(fmt.Sprintf("%s.%s.%d", key, name, i), "invalid_option", "invalid domain %q", d)
			}
		}
	}
}

func autodateOptions(f *Field, key string, fe *apperr.FieldErrors, _ collectionResolver) {
	if !f.OnCreate && !f.OnUpdate {
		fe.Add(key+".onCreate", "invalid_option", "set onCreate, onUpdate or both")
	}
}

func checkMaxSelect(f *Field, key string, fe *apperr.FieldErrors) {
	if f.MaxSelect < 0 {
		fe.Add(key+".maxSelect", "invalid_option", "must not be negative")
	}
	if f.MaxSelect == 0 {
		f.MaxSelect = 1
	}
}

func selectOptions(f *Field, key string, fe *apperr.FieldErrors, _ collectionResolver) {
	checkMaxSelect(f, key, fe)
	if len(f.Values) == 0 {
		fe.Add(key+".values", "required", "a select field needs at least one value")
	}
	seen := map[string]bool{}
	for i, v := range f.Values {
		if strings.TrimSpace(v) == "" {
			fe.Add(fmt.Sprintf("%s.values.%d", key, i), "invalid_option", "must not be blank")
		}
		if seen[v] {
			fe.Add(fmt.Sprintf("%s.values.%d", key, i), "duplicate", "duplicate value %q", v)
		}
		seen[v] = true
	}
}

func fileOptions(f *Field, key string, fe *apperr.FieldErrors, _ collectionResolver) {
	checkMaxSelect(f, key, fe)
	if f.MaxSize < 0 {
		fe.Add(key+".maxSize", "invalid_option", "must not be negative")
	}
	for i, m := range f.MimeTypes {
		if !strings.Contains(m, "/") || strings.ContainsAny(m, " \t,") {
			fe.Add(fmt.Sprintf("%s.mimeTypes.%d", key, i), "invalid_option", "invalid MIME type %q", m)
		}
	}
	for i, t := range f.Thumbs {
		m := thumbRe.FindStringSubmatch(t)
		if m == nil || (m[1] == "0" && m[2] == "0") {
			fe.Add(fmt.Sprintf("%s.thumbs.%d", key, i), "invalid_option", "invalid thumb size %q: want WxH with an optional t, b or f", t)
		}
	}
}

func relationOptions(f *Field, key string, fe *apperr.FieldErrors, res collectionResolver) {
	checkMaxSelect(f, key, fe)
	if f.Collection == "" {
		fe.Add(key+".collection", "required", "a relation field needs a target collection")
		return
	}
	target := res(f.Collection)
	if target == nil {
		fe.Add(key+".collection", "not_found", "collection %q does not exist", f.Collection)
		return
	}
	if strings.HasPrefix(target.Name, "_") {
		fe.Add(key+".collection", "invalid_option", "can't relate to the system collection %q", target.Name)
		return
	}
	if target.Type == TypeView && f.CascadeDelete {
		fe.Add(key+".cascadeDelete", "invalid_option", "can't cascade deletes from a view collection")
	}
	f.Collection = target.ID
}

// clearUnusedOptions zeroes the options that mean nothing for f's type, so
// stored definitions stay clean.
func clearUnusedOptions(f *Field) {
	d, ok := fieldTypeDefs[f.Type]
	if !ok {
		return
	}
	has := func(o string) bool { return slices.Contains(d.spec.Options, o) }
	if !has("min") {
		f.Min = nil
	}
	if !has("max") {
		f.Max = nil
	}
	if !has("pattern") {
		f.Pattern = ""
	}
	if !has("autogeneratePattern") {
		f.AutogeneratePattern = ""
	}
	if !has("onlyInt") {
		f.OnlyInt = false
	}
	if !has("values") {
		f.Values = nil
	}
	if !has("maxSelect") {
		f.MaxSelect = 0
	}
	if !has("collection") {
		f.Collection = ""
	}
	if !has("cascadeDelete") {
		f.CascadeDelete = false
	}
	if !has("maxSize") {
		f.MaxSize = 0
	}
	if !has("mimeTypes") {
		f.MimeTypes = nil
	}
	if !has("thumbs") {
		f.Thumbs = nil
	}
	if !has("protected") {
		f.Protected = false
	}
	if !has("onCreate") {
		f.OnCreate = false
	}
	if !has("onUpdate") {
		f.OnUpdate = false
	}
	if !has("onlyDomains") {
		f.OnlyDomains = nil
	}
	if !has("exceptDomains") {
		f.ExceptDomains = nil
	}
}
