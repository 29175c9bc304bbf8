package db

// A specialised decoder for stored collection definitions. Decoding the
// definitions dominates a cold Open (encoding/json spends most of its time
// in reflection); this reads the same JSON several times faster. Anything
// it does not expect makes it give up, and the caller falls back to
// encoding/json, so it can never decode differently, only slower.
// TestDefinitionDecoderMatchesEncodingJSON keeps it in step with model.go.

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"time"
	"unicode/utf8"
)

var errFallback = errors.New("definition decoder: unexpected input")

// decodeCollection decodes one stored definition.
func decodeCollection(data []byte) (*Collection, error) {
	s := &defScanner{b: data}
	c := s.collection()
	if s.err == nil {
		s.ws()
		if s.i != len(s.b) {
			s.err = errFallback
		}
	}
	if s.err != nil {
		c = new(Collection)
		if err := json.Unmarshal(data, c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

type defScanner struct {
	b   []byte
	i   int
	err error
}

func (s *defScanner) fail() {
	if s.err == nil {
		s.err = errFallback
	}
	s.i = len(s.b)
}

// auth decodes the auth options with encoding/json: they are rare and
// small, not worth a decoder of their own.
func (s *defScanner) auth() *AuthOptions {
	if s.err != nil {
		return nil
	}
	s.ws()
	dec := json.NewDecoder(bytes.NewReader(s.b[s.i:]))
	var o *AuthOptions
	if err := dec.Decode(&o); err != nil {
		s.fail()
		return nil
	}
	s.i += int(dec.InputOffset())
	return o
}

func (s *defScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *defScanner) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *defScanner) lit(word string) bool {
	s.ws()
	if len(s.b)-s.i >= len(word) && string(s.b[s.i:s.i+len(word)]) == word {
		s.i += len(word)
		return true
	}
	return false
}

// str reads a JSON string; strings with escapes go through strconv.
func (s *defScanner) str() string {
	if s.peek() != '"' {
		s.fail()
		return ""
	}
	start := s.i
	s.i++
	escaped := false
	for s.i < len(s.b) {
		switch c := s.b[s.i]; {
		case c == '\\':
			escaped = true
			s.i += 2
			continue
		case c == '"':
			s.i++
			if !escaped {
				return string(s.b[start+1 : s.i-1])
			}
			var out string
			if err := json.Unmarshal(s.b[start:s.i], &out); err != nil {
				s.fail()
			}
			return out
		case c < 0x20:
			s.fail()
			return ""
		case c >= utf8.RuneSelf:
			// Multi-byte text is fine as it is; invalid UTF-8 is left to
			// encoding/json.
			r, size := utf8.DecodeRune(s.b[s.i:])
			if r == utf8.RuneError && size <= 1 {
				s.fail()
				return ""
			}
			s.i += size
			continue
		}
		s.i++
	}
	s.fail()
	return ""
}

func (s *defScanner) boolean() bool {
	switch {
	case s.lit("true"):
		return true
	case s.lit("false"):
		return false
	}
	s.fail()
	return false
}

func (s *defScanner) number() float64 {
	s.ws()
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		if (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' {
			s.i++
			continue
		}
		break
	}
	f, err := strconv.ParseFloat(string(s.b[start:s.i]), 64)
	if err != nil {
		s.fail()
	}
	return f
}

func (s *defScanner) integer() int64 {
	f := s.number()
	if f != float64(int64(f)) {
		s.fail()
	}
	return int64(f)
}

// object calls fn for each key, positioned at the value.
func (s *defScanner) object(fn func(key string)) {
	if !s.lit("{") {
		s.fail()
		return
	}
	if s.lit("}") {
		return
	}
	for s.err == nil {
		key := s.str()
		if !s.lit(":") {
			s.fail()
			return
		}
		fn(key)
		if s.lit(",") {
			continue
		}
		if !s.lit("}") {
			s.fail()
		}
		return
	}
}

// array calls fn for each element; null reads as no elements and reports
// false.
func (s *defScanner) array(fn func()) bool {
	if s.lit("null") {
		return false
	}
	if !s.lit("[") {
		s.fail()
		return false
	}
	if s.lit("]") {
		return true
	}
	for s.err == nil {
		fn()
		if s.lit(",") {
			continue
		}
		if !s.lit("]") {
			s.fail()
		}
		break
	}
	return true
}

func (s *defScanner) strings() []string {
	var out []string
	if s.array(func() { out = append(out, s.str()) }) && out == nil {
		out = []string{}
	}
	return out
}

func (s *defScanner) optString() *string {
	if s.lit("null") {
		return nil
	}
	v := s.str()
	return &v
}

func (s *defScanner) optNumber() *float64 {
	if s.lit("null") {
		return nil
	}
	v := s.number()
	return &v
}

func (s *defScanner) timestamp() time.Time {
	v := s.str()
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		s.fail()
	}
	return t
}

func (s *defScanner) collection() *Collection {
	c := new(Collection)
	s.object(func(key string) {
		switch key {
		case "id":
			c.ID = s.str()
		case "name":
			c.Name = s.str()
		case "type":
			c.Type = CollectionType(s.str())
		case "system":
			c.System = s.boolean()
		case "fields":
			s.array(func() {
				if s.lit("null") {
					c.Fields = append(c.Fields, nil)
					return
				}
				c.Fields = append(c.Fields, s.field())
			})
		case "indexes":
			c.Indexes = s.strings()
		case "listRule":
			c.ListRule = s.optString()
		case "viewRule":
			c.ViewRule = s.optString()
		case "createRule":
			c.CreateRule = s.optString()
		case "updateRule":
			c.UpdateRule = s.optString()
		case "deleteRule":
			c.DeleteRule = s.optString()
		case "authRule":
			c.AuthRule = s.optString()
		case "manageRule":
			c.ManageRule = s.optString()
		case "viewQuery":
			c.ViewQuery = s.str()
		case "auth":
			c.Auth = s.auth()
		case "graphqlSingle":
			c.GraphQLSingle = s.str()
		case "graphqlList":
			c.GraphQLList = s.str()
		case "created":
			c.Created = s.timestamp()
		case "updated":
			c.Updated = s.timestamp()
		default:
			s.fail()
		}
	})
	return c
}

func (s *defScanner) field() *Field {
	f := new(Field)
	s.object(func(key string) {
		switch key {
		case "id":
			f.ID = s.str()
		case "name":
			f.Name = s.str()
		case "type":
			f.Type = FieldType(s.str())
		case "required":
			f.Required = s.boolean()
		case "hidden":
			f.Hidden = s.boolean()
		case "system":
			f.System = s.boolean()
		case "min":
			f.Min = s.optNumber()
		case "max":
			f.Max = s.optNumber()
		case "pattern":
			f.Pattern = s.str()
		case "autogeneratePattern":
			f.AutogeneratePattern = s.str()
		case "onlyInt":
			f.OnlyInt = s.boolean()
		case "values":
			f.Values = s.strings()
		case "maxSelect":
			f.MaxSelect = int(s.integer())
		case "collection":
			f.Collection = s.str()
		case "cascadeDelete":
			f.CascadeDelete = s.boolean()
		case "maxSize":
			f.MaxSize = s.integer()
		case "mimeTypes":
			f.MimeTypes = s.strings()
		case "thumbs":
			f.Thumbs = s.strings()
		case "protected":
			f.Protected = s.boolean()
		case "onCreate":
			f.OnCreate = s.boolean()
		case "onUpdate":
			f.OnUpdate = s.boolean()
		case "onlyDomains":
			f.OnlyDomains = s.strings()
		case "exceptDomains":
			f.ExceptDomains = s.strings()
		default:
			s.fail()
		}
	})
	return f
}

// Portable returns copies of the collections in cs as `schema export` and
// the migration files write them: relation targets by the name they have
// among all (so that the definition imports into another data folder),
// OAuth2 client secrets left out (write-only; an import keeps the stored
// ones).
func Portable(all []*Collection, cs ...*Collection) []*Collection {
	names := make(map[string]string, len(all))
	for _, c := range all {
		names[c.ID] = c.Name
	}
	out := make([]*Collection, len(cs))
	for i, c := range cs {
		cp := *c
		cp.Auth = c.Auth.WithoutSecrets()
		cp.Fields = make([]*Field, len(c.Fields))
		for j, f := range c.Fields {
			fc := *f
			if fc.Type == FieldRelation {
				if name, ok := names[fc.Collection]; ok {
					fc.Collection = name
				}
			}
			cp.Fields[j] = &fc
		}
		out[i] = &cp
	}
	return out
}
