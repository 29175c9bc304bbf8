package db

// Field values: a client's input normalized to the canonical Go value of
// its field type, and canonical values stored in and read from SQLite.

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
	"time"
	"unicode/utf8"

	"github.com/monobase/monobase/apperr"
)

// ---- input normalization -----------------------------------------------

// regexCache holds the compiled validation patterns of text fields, the
// most recently used patternCacheSize of them.
var regexCache = mustLRU[*regexp.Regexp](patternCacheSize)

func compilePattern(p string) (*regexp.Regexp, error) {
	if re, ok := regexCache.Get(p); ok {
		return re, nil
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, err
	}
	regexCache.Add(p, re)
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

// checkLength checks s against f's min and pattern and against maxChars
// characters (none when maxChars <= 0).
func checkLength(f *Field, s string, maxChars int) *apperr.FieldError {
	// A string of more than 4*maxChars bytes has more than maxChars
	// characters: no need to count them.
	n := 0
	if maxChars <= 0 || len(s) <= 4*maxChars {
		n = utf8.RuneCountInString(s)
	} else {
		n = maxChars + 1
	}
	if f.Min != nil && float64(n) < *f.Min {
		return ferr("too_short", "must be at least %d characters", int(*f.Min))
	}
	if maxChars > 0 && n > maxChars {
		return ferr("too_long", "must be at most %d characters", maxChars)
	}
	if f.Pattern != "" {
		re, err := compilePattern(f.Pattern)
		if err != nil || !re.MatchString(s) {
			return ferr("pattern", "does not match the pattern %s", f.Pattern)
		}
	}
	return nil
}

func normalizeText(f *Field, v any, lim *FieldLimits) (any, *apperr.FieldError) {
	s, fe := asString(v)
	if fe != nil {
		return nil, fe
	}
	if s == "" && !f.Required {
		return s, nil
	}
	if fe := checkLength(f, s, lim.textMax(f)); fe != nil {
		return nil, fe
	}
	return s, nil
}

func normalizeEditor(f *Field, v any, lim *FieldLimits) (any, *apperr.FieldError) {
	s, fe := asString(v)
	if fe != nil {
		return nil, fe
	}
	if m := maxSize(f, lim.EditorMaxSize); int64(len(s)) > m {
		return nil, ferr("too_large", "must be at most %d bytes", m)
	}
	return s, nil
}

func normalizePassword(f *Field, v any, lim *FieldLimits) (any, *apperr.FieldError) {
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
	maxChars := 0
	if f.Max != nil {
		maxChars = int(*f.Max)
	}
	if fe := checkLength(f, s, maxChars); fe != nil {
		return nil, fe
	}
	return s, nil
}

// ToFloat returns a number value, as decoded from GraphQL or JSON or read
// from SQLite, as float64; false for anything that is not a number.
func ToFloat(v any) (float64, bool) {
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
	case interface{ Float64() (float64, error) }: // json.Number
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

// StringList returns the value of a list field (or a single string) as
// strings: non-string items are left out, "" is no item.
func StringList(v any) []string {
	switch l := v.(type) {
	case []string:
		return l
	case []any:
		out := make([]string, 0, len(l))
		for _, s := range l {
			if str, ok := s.(string); ok {
				out = append(out, str)
			}
		}
		return out
	case string:
		if l == "" {
			return nil
		}
		return []string{l}
	}
	return nil
}

func normalizeNumber(f *Field, v any, _ *FieldLimits) (any, *apperr.FieldError) {
	n, ok := ToFloat(v)
	if !ok {
		return nil, ferr("invalid_type", "must be a number")
	}
	if math.IsNaN(n) || math.IsInf(n, 0) {
		return nil, ferr("invalid_type", "must be a finite number")
	}
	if f.OnlyInt && n != math.Trunc(n) {
		return nil, ferr("not_int", "must be an integer")
	}
	// An integer field reads as GraphQL Int: a signed 32-bit value.
	if f.OnlyInt && n > math.MaxInt32 {
		return nil, ferr("too_large", "must be at most %d (a 32-bit integer)", math.MaxInt32)
	}
	if f.OnlyInt && n < math.MinInt32 {
		return nil, ferr("too_small", "must be at least %d (a 32-bit integer)", math.MinInt32)
	}
	if f.Min != nil && n < *f.Min {
		return nil, ferr("too_small", "must be at least %s", strconv.FormatFloat(*f.Min, 'g', -1, 64))
	}
	if f.Max != nil && n > *f.Max {
		return nil, ferr("too_large", "must be at most %s", strconv.FormatFloat(*f.Max, 'g', -1, 64))
	}
	return n, nil
}

func normalizeBool(_ *Field, v any, _ *FieldLimits) (any, *apperr.FieldError) {
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

func normalizeEmail(f *Field, v any, _ *FieldLimits) (any, *apperr.FieldError) {
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

func normalizeURL(f *Field, v any, _ *FieldLimits) (any, *apperr.FieldError) {
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

func normalizeDate(f *Field, v any, _ *FieldLimits) (any, *apperr.FieldError) {
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

func normalizeSelect(f *Field, v any, _ *FieldLimits) (any, *apperr.FieldError) {
	return normalizeMulti(f, v, func(s string) *apperr.FieldError {
		if !slices.Contains(f.Values, s) {
			return ferr("invalid_value", "%q is not one of %s", s, strings.Join(f.Values, ", "))
		}
		return nil
	})
}

func normalizeRelation(f *Field, v any, _ *FieldLimits) (any, *apperr.FieldError) {
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

func normalizeFile(f *Field, v any, _ *FieldLimits) (any, *apperr.FieldError) {
	return normalizeMulti(f, v, func(s string) *apperr.FieldError {
		if !validFileName(s) {
			return ferr("invalid_file_name", "invalid file name %q", s)
		}
		return nil
	})
}

func normalizeJSON(f *Field, v any, lim *FieldLimits) (any, *apperr.FieldError) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, ferr("invalid_json", "must be JSON-encodable")
	}
	if m := maxSize(f, lim.JSONMaxSize); int64(len(b)) > m {
		return nil, ferr("too_large", "must be at most %d bytes of JSON", m)
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

func normalizeGeoPoint(f *Field, v any, _ *FieldLimits) (any, *apperr.FieldError) {
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
		lon, okLon := ToFloat(x["lon"])
		lat, okLat := ToFloat(x["lat"])
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
// the driver returned it (nil, int64, float64, string or []byte; and from
// PostgreSQL's view columns also bool and time.Time).
func DecodeValue(f *Field, src any) any {
	switch x := src.(type) {
	case []byte:
		src = string(x)
	case bool: // as SQLite stores it
		src = int64(0)
		if x {
			src = int64(1)
		}
	case time.Time:
		src = FormatDate(x)
	}
	if f.Multiple() {
		s, ok := src.(string)
		if !ok || s == "" {
			return []string{}
		}
		if s[0] != '[' {
			return []string{s}
		}
		if list, ok := decodeStringList(s); ok {
			return list
		}
		var list []string
		if json.Unmarshal([]byte(s), &list) != nil {
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
	// The common cases return src itself: no new interface value.
	switch src.(type) {
	case string:
		switch f.Type {
		case FieldText, FieldEditor, FieldEmail, FieldURL, FieldDate, FieldAutodate, FieldPassword:
			return src
		case FieldSelect, FieldRelation, FieldFile:
			if s := src.(string); s == "" || s[0] != '[' {
				return src
			}
		}
	case float64:
		if f.Type == FieldNumber {
			return src
		}
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
			if n, ok := ToFloat(src); ok {
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

// decodeStringList decodes a JSON array of strings without escapes, such
// as ["a","b"]; ok is false for anything else (decode it with
// encoding/json).
func decodeStringList(s string) (list []string, ok bool) {
	n := len(s)
	if n < 2 || s[0] != '[' || s[n-1] != ']' {
		return nil, false
	}
	body := s[1 : n-1]
	if strings.TrimSpace(body) == "" {
		return []string{}, true
	}
	list = make([]string, 0, strings.Count(body, ",")+1)
	for i := 0; ; {
		for i < len(body) && body[i] == ' ' {
			i++
		}
		if i >= len(body) || body[i] != '"' {
			return nil, false
		}
		end := strings.IndexByte(body[i+1:], '"')
		if end < 0 {
			return nil, false
		}
		v := body[i+1 : i+1+end]
		for j := 0; j < len(v); j++ {
			if c := v[j]; c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
				return nil, false
			}
		}
		list = append(list, v)
		i += end + 2
		for i < len(body) && body[i] == ' ' {
			i++
		}
		if i == len(body) {
			return list, true
		}
		if body[i] != ',' {
			return nil, false
		}
		i++
	}
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
