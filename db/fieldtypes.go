package db

// The one registry of field types: for each type its SQL column type, the
// options that mean something for it, how those options are validated on a
// collection, how a client's input becomes the canonical Go value, and how a
// canonical value is stored in and read back from SQLite. The DDL, record
// validation and the GraphQL compiler all read it.

import (
	"encoding/json"
	"fmt"
	"math"
	"net/mail"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

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
	normalize func(f *Field, v any) (any, *apperr.FieldError)
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
		normalize: func(f *Field, v any) (any, *apperr.FieldError) {
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

// fieldTypeOrder is the order FieldTypes lists the types in (API.md's).
var fieldTypeOrder = []FieldType{
	FieldText, FieldEditor, FieldNumber, FieldBool, FieldEmail, FieldURL, FieldDate,
	FieldAutodate, FieldSelect, FieldFile, FieldRelation, FieldJSON, FieldGeoPoint, FieldPassword,
}

func init() {
	for t, d := range fieldTypeDefs {
		d.spec.Type = t
	}
}

// FieldTypes returns every field type of the registry in API.md's order.
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

// NormalizeValue turns a client's input value for f into its canonical Go
// value (see Record). nil stays nil (an empty list for multiple fields). Bad
// input returns apperr.Invalid with a message keyed by f.Name. Relation ids
// are not checked for existence here.
func NormalizeValue(f *Field, v any) (any, error) {
	nv, fe := normalizeValue(f, v)
	if fe != nil {
		return nil, apperr.InvalidFields("validation failed", map[string]apperr.FieldError{f.Name: *fe})
	}
	return nv, nil
}

func normalizeValue(f *Field, v any) (any, *apperr.FieldError) {
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
	return d.normalize(f, v)
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

// ---- input normalization -----------------------------------------------

var regexCache sync.Map // pattern -> *regexp.Regexp

func compilePattern(p string) (*regexp.Regexp, error) {
	if v, ok := regexCache.Load(p); ok {
		return v.(*regexp.Regexp), nil
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, err
	}
	regexCache.Store(p, re)
	return re, nil
}

func asString(v any) (string, *apperr.FieldError) {
	if s, ok := v.(string); ok {
		return s, nil
	}
	// Named string types (e.g. a GraphQL enum value).
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.String {
		return rv.String(), nil
	}
	return "", ferr("invalid_type", "must be a string")
}

func checkLength(f *Field, s string) *apperr.FieldError {
	n := utf8.RuneCountInString(s)
	if f.Min != nil && float64(n) < *f.Min {
		return ferr("too_short", "must be at least %d characters", int(*f.Min))
	}
	if f.Max != nil && *f.Max > 0 && float64(n) > *f.Max {
		return ferr("too_long", "must be at most %d characters", int(*f.Max))
	}
	if f.Pattern != "" {
		re, err := compilePattern(f.Pattern)
		if err != nil || !re.MatchString(s) {
			return ferr("pattern", "does not match the pattern %s", f.Pattern)
		}
	}
	return nil
}

func normalizeText(f *Field, v any) (any, *apperr.FieldError) {
	s, fe := asString(v)
	if fe != nil {
		return nil, fe
	}
	if s == "" && !f.Required {
		return s, nil
	}
	if fe := checkLength(f, s); fe != nil {
		return nil, fe
	}
	return s, nil
}

func normalizeEditor(f *Field, v any) (any, *apperr.FieldError) {
	s, fe := asString(v)
	if fe != nil {
		return nil, fe
	}
	if f.MaxSize > 0 && int64(len(s)) > f.MaxSize {
		return nil, ferr("too_large", "must be at most %d bytes", f.MaxSize)
	}
	return s, nil
}

func normalizePassword(f *Field, v any) (any, *apperr.FieldError) {
	s, fe := asString(v)
	if fe != nil {
		return nil, fe
	}
	if s == "" {
		return nil, nil
	}
	if len(s) > 72 {
		return nil, ferr("too_long", "must be at most 72 bytes")
	}
	if fe := checkLength(f, s); fe != nil {
		return nil, fe
	}
	return s, nil
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case int32:
		return float64(x), true
	case int16:
		return float64(x), true
	case int8:
		return float64(x), true
	case uint:
		return float64(x), true
	case uint64:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint16:
		return float64(x), true
	case uint8:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

func normalizeNumber(f *Field, v any) (any, *apperr.FieldError) {
	n, ok := toFloat(v)
	if !ok {
		return nil, ferr("invalid_type", "must be a number")
	}
	if math.IsNaN(n) || math.IsInf(n, 0) {
		return nil, ferr("invalid_type", "must be a finite number")
	}
	if f.OnlyInt && n != math.Trunc(n) {
		return nil, ferr("not_int", "must be an integer")
	}
	if f.Min != nil && n < *f.Min {
		return nil, ferr("too_small", "must be at least %s", strconv.FormatFloat(*f.Min, 'g', -1, 64))
	}
	if f.Max != nil && n > *f.Max {
		return nil, ferr("too_large", "must be at most %s", strconv.FormatFloat(*f.Max, 'g', -1, 64))
	}
	return n, nil
}

func normalizeBool(f *Field, v any) (any, *apperr.FieldError) {
	b, ok := v.(bool)
	if !ok {
		return nil, ferr("invalid_type", "must be a boolean")
	}
	return b, nil
}

func checkDomain(f *Field, host string) *apperr.FieldError {
	host = strings.ToLower(host)
	if len(f.OnlyDomains) > 0 && !slices.Contains(f.OnlyDomains, host) {
		return ferr("domain_not_allowed", "domain %s is not allowed", host)
	}
	if slices.Contains(f.ExceptDomains, host) {
		return ferr("domain_not_allowed", "domain %s is not allowed", host)
	}
	return nil
}

func normalizeEmail(f *Field, v any) (any, *apperr.FieldError) {
	s, fe := asString(v)
	if fe != nil {
		return nil, fe
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != s || addr.Name != "" {
		return nil, ferr("invalid_email", "must be a valid email address")
	}
	at := strings.LastIndexByte(s, '@')
	if at < 1 || !strings.Contains(s[at+1:], ".") && s[at+1:] != "localhost" {
		return nil, ferr("invalid_email", "must be a valid email address")
	}
	if fe := checkDomain(f, s[at+1:]); fe != nil {
		return nil, fe
	}
	return s, nil
}

func normalizeURL(f *Field, v any) (any, *apperr.FieldError) {
	s, fe := asString(v)
	if fe != nil {
		return nil, fe
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" || strings.ContainsAny(s, " \t\r\n") {
		return nil, ferr("invalid_url", "must be a valid absolute URL")
	}
	if fe := checkDomain(f, u.Hostname()); fe != nil {
		return nil, fe
	}
	return s, nil
}

func normalizeDate(f *Field, v any) (any, *apperr.FieldError) {
	switch x := v.(type) {
	case time.Time:
		if x.IsZero() {
			return nil, nil
		}
		return FormatDate(x), nil
	case *time.Time:
		if x == nil || x.IsZero() {
			return nil, nil
		}
		return FormatDate(*x), nil
	}
	s, fe := asString(v)
	if fe != nil {
		return nil, fe
	}
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	t, err := ParseDate(s)
	if err != nil {
		return nil, ferr("invalid_date", "must be a date in RFC 3339 form, e.g. 2006-01-02T15:04:05Z")
	}
	return FormatDate(t), nil
}

// toStringList accepts a list of strings ([]string or []any of strings) or
// a single string.
func toStringList(v any) ([]string, *apperr.FieldError) {
	switch x := v.(type) {
	case []string:
		return slices.Clone(x), nil
	case string:
		if x == "" {
			return []string{}, nil
		}
		return []string{x}, nil
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, ferr("invalid_type", "must be a list of strings")
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, ferr("invalid_type", "must be a list of strings")
}

// dedupe removes blanks and repeated values, keeping the first occurrence.
func dedupe(in []string) []string {
	out := in[:0]
	seen := make(map[string]struct{}, len(in))
	for _, s := range in {
		if s == "" {
			continue
		}
		if _, ok := seen[s]; ok {
			continue
		}
		seen[s] = struct{}{}
		out = append(out, s)
	}
	return out
}

// normalizeMulti handles both shapes of select, relation and file fields;
// check validates one element.
func normalizeMulti(f *Field, v any, check func(string) *apperr.FieldError) (any, *apperr.FieldError) {
	if !f.Multiple() {
		s, fe := asString(v)
		if fe != nil {
			return nil, fe
		}
		if s == "" {
			return nil, nil
		}
		if fe := check(s); fe != nil {
			return nil, fe
		}
		return s, nil
	}
	list, fe := toStringList(v)
	if fe != nil {
		return nil, fe
	}
	list = dedupe(list)
	for _, s := range list {
		if fe := check(s); fe != nil {
			return nil, fe
		}
	}
	if len(list) > f.MaxSelect {
		return nil, ferr("too_many", "at most %d values", f.MaxSelect)
	}
	return list, nil
}

func normalizeSelect(f *Field, v any) (any, *apperr.FieldError) {
	return normalizeMulti(f, v, func(s string) *apperr.FieldError {
		if !slices.Contains(f.Values, s) {
			return ferr("invalid_value", "%q is not one of %s", s, strings.Join(f.Values, ", "))
		}
		return nil
	})
}

func normalizeRelation(f *Field, v any) (any, *apperr.FieldError) {
	return normalizeMulti(f, v, func(s string) *apperr.FieldError {
		if len(s) > 100 || strings.ContainsAny(s, " \t\r\n") {
			return ferr("invalid_value", "invalid record id %q", s)
		}
		return nil
	})
}

// validFileName reports whether name is a safe stored file name.
func validFileName(name string) bool {
	if name == "" || len(name) > 255 || name == "." || name == ".." {
		return false
	}
	if strings.ContainsAny(name, `/\`) || strings.Contains(name, "..") {
		return false
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

func normalizeFile(f *Field, v any) (any, *apperr.FieldError) {
	return normalizeMulti(f, v, func(s string) *apperr.FieldError {
		if !validFileName(s) {
			return ferr("invalid_file_name", "invalid file name %q", s)
		}
		return nil
	})
}

func normalizeJSON(f *Field, v any) (any, *apperr.FieldError) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, ferr("invalid_json", "must be JSON-encodable")
	}
	if f.MaxSize > 0 && int64(len(b)) > f.MaxSize {
		return nil, ferr("too_large", "must be at most %d bytes of JSON", f.MaxSize)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, ferr("invalid_json", "must be valid JSON")
	}
	if out == nil {
		return nil, nil
	}
	return out, nil
}

func normalizeGeoPoint(f *Field, v any) (any, *apperr.FieldError) {
	var p GeoPoint
	switch x := v.(type) {
	case GeoPoint:
		p = x
	case *GeoPoint:
		if x == nil {
			return nil, nil
		}
		p = *x
	case map[string]any:
		lon, okLon := toFloat(x["lon"])
		lat, okLat := toFloat(x["lat"])
		if !okLon || !okLat {
			return nil, ferr("invalid_type", "must be an object {lon, lat} of numbers")
		}
		for k := range x {
			if k != "lon" && k != "lat" {
				return nil, ferr("invalid_type", "unknown key %q: must be an object {lon, lat}", k)
			}
		}
		p = GeoPoint{Lon: lon, Lat: lat}
	default:
		return nil, ferr("invalid_type", "must be an object {lon, lat}")
	}
	if math.IsNaN(p.Lon) || p.Lon < -180 || p.Lon > 180 {
		return nil, ferr("out_of_range", "lon must be between -180 and 180")
	}
	if math.IsNaN(p.Lat) || p.Lat < -90 || p.Lat > 90 {
		return nil, ferr("out_of_range", "lat must be between -90 and 90")
	}
	return p, nil
}

// ---- SQL codec ---------------------------------------------------------

// SQLValue returns the SQL argument that stores the canonical value v of f.
func SQLValue(f *Field, v any) (any, error) {
	if f.Multiple() {
		list, _ := v.([]string)
		if list == nil {
			return "[]", nil
		}
		b, err := json.Marshal(list)
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", f.Name, err)
		}
		return string(b), nil
	}
	if v == nil {
		return nil, nil
	}
	switch f.Type {
	case FieldBool:
		if b, _ := v.(bool); b {
			return int64(1), nil
		}
		return int64(0), nil
	case FieldJSON, FieldGeoPoint:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", f.Name, err)
		}
		return string(b), nil
	}
	return v, nil
}

// DecodeValue returns the canonical Go value of f for a column value as
// the driver returned it (nil, int64, float64, string or []byte).
func DecodeValue(f *Field, src any) any {
	if b, ok := src.([]byte); ok {
		src = string(b)
	}
	if f.Multiple() {
		s, ok := src.(string)
		if !ok || s == "" {
			return []string{}
		}
		var list []string
		if s[0] != '[' || json.Unmarshal([]byte(s), &list) != nil {
			return []string{s}
		}
		if list == nil {
			list = []string{}
		}
		return list
	}
	if src == nil {
		return nil
	}
	switch f.Type {
	case FieldNumber:
		switch x := src.(type) {
		case float64:
			return x
		case int64:
			return float64(x)
		case string:
			n, err := strconv.ParseFloat(x, 64)
			if err != nil {
				return nil
			}
			return n
		}
		return nil
	case FieldBool:
		switch x := src.(type) {
		case int64:
			return x != 0
		case float64:
			return x != 0
		case string:
			return x == "1" || strings.EqualFold(x, "true")
		}
		return false
	case FieldJSON:
		s, ok := src.(string)
		if !ok {
			if n, ok := toFloat(src); ok {
				return n
			}
			return src
		}
		var out any
		if err := json.Unmarshal([]byte(s), &out); err != nil {
			return s
		}
		return out
	case FieldGeoPoint:
		s, _ := src.(string)
		var p GeoPoint
		if err := json.Unmarshal([]byte(s), &p); err != nil {
			return nil
		}
		return p
	case FieldSelect, FieldRelation, FieldFile:
		s := toText(src)
		// A field turned from multiple into single before its data was
		// converted still reads sensibly.
		if strings.HasPrefix(s, "[") {
			var list []string
			if json.Unmarshal([]byte(s), &list) == nil {
				if len(list) == 0 {
					return nil
				}
				return list[0]
			}
		}
		return s
	}
	return toText(src)
}

func toText(src any) string {
	switch x := src.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return fmt.Sprint(src)
}
