package db

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fillAll sets every settable field of v (a pointer to a struct) to a
// non-zero value, recursing into structs and slices of struct pointers.
func fillAll(v reflect.Value, depth int) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		fillAll(v.Elem(), depth)
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			v.Set(reflect.ValueOf(time.Date(2025, 1, 2, 3, 4, 5, 6_000_000, time.UTC)))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fillAll(v.Field(i), depth)
			}
		}
	case reflect.String:
		v.SetString(`x "quoted" é ✓ \ ` + v.Type().Name())
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(3)
	case reflect.Float64:
		v.SetFloat(-1.5e3)
	case reflect.Slice:
		if depth > 2 {
			return
		}
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			fillAll(s.Index(i), depth+1)
		}
		v.Set(s)
	}
}

func TestDefinitionDecoderMatchesEncodingJSON(t *testing.T) {
	full := new(Collection)
	fillAll(reflect.ValueOf(full), 0)
	empty := &Collection{Name: "e", Fields: []*Field{{Name: "a"}}, Indexes: []string{}}
	for name, c := range map[string]*Collection{"every field set": full, "mostly empty": empty, "bootstrap users": usersDef()} {
		t.Run(name, func(t *testing.T) {
			data, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			var want Collection
			if err := json.Unmarshal(data, &want); err != nil {
				t.Fatal(err)
			}
			s := &defScanner{b: data}
			got := s.collection()
			if s.err != nil {
				t.Fatalf("the fast decoder gave up on %s", data)
			}
			if !reflect.DeepEqual(got, &want) {
				t.Fatalf("decoders differ:\n%+v\n%+v", got, &want)
			}
		})
	}
	t.Run("unknown keys fall back to encoding/json", func(t *testing.T) {
		c, err := decodeCollection([]byte(`{"name":"x","future":{"a":[1,2]}}`))
		if err != nil || c.Name != "x" {
			t.Fatalf("%v %v", c, err)
		}
		if _, err := decodeCollection([]byte(`{"name":`)); err == nil || !strings.Contains(err.Error(), "unexpected end") {
			t.Fatalf("broken JSON: %v", err)
		}
	})
}
