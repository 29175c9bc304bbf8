package db

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestDecodeStringListAgreesWithEncodingJSON(t *testing.T) {
	for _, s := range []string{
		`[]`, `[ ]`, `["a"]`, `["a","b"]`, `[ "a" , "b" ]`, `["",""]`, `["abc123def456ghi"]`,
		`["a\"b"]`, `["a\\b"]`, `["\u00e9"]`, `["é"]`, `[1]`, `["a",]`, `[,]`, `["a" "b"]`, `["a"`, `[null]`,
		`["a",1]`, `[["a"]]`, `["a"]x`, "[\"a\tb\"]",
	} {
		t.Run(s, func(t *testing.T) {
			got, ok := decodeStringList(s)
			var want []string
			err := json.Unmarshal([]byte(s), &want)
			if ok {
				if err != nil {
					t.Fatalf("decoded %q as %q; encoding/json refuses it: %v", s, got, err)
				}
				if want == nil {
					want = []string{}
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("got %q, want %q", got, want)
				}
			}
		})
	}
	t.Run("the fast path takes plain lists", func(t *testing.T) {
		for _, s := range []string{`[]`, `["a","b"]`, `[ "x" ]`} {
			if _, ok := decodeStringList(s); !ok {
				t.Errorf("%s left to encoding/json", s)
			}
		}
	})
}

func TestDecodeValueKeepsCanonicalTypes(t *testing.T) {
	cases := []struct {
		name string
		f    *Field
		src  any
		want any
	}{
		{"text", &Field{Type: FieldText}, "hi", "hi"},
		{"text from bytes", &Field{Type: FieldText}, []byte("hi"), "hi"},
		{"text from a number", &Field{Type: FieldText}, int64(3), "3"},
		{"number", &Field{Type: FieldNumber}, 2.5, 2.5},
		{"number from an integer", &Field{Type: FieldNumber}, int64(2), 2.0},
		{"bool", &Field{Type: FieldBool}, int64(1), true},
		{"single relation", &Field{Type: FieldRelation, MaxSelect: 1}, "abc", "abc"},
		{"single relation stored as a list", &Field{Type: FieldRelation, MaxSelect: 1}, `["abc"]`, "abc"},
		{"multi relation", &Field{Type: FieldRelation, MaxSelect: 3}, `["a","b"]`, []string{"a", "b"}},
		{"multi relation with an escape", &Field{Type: FieldRelation, MaxSelect: 3}, `["a\"","b"]`, []string{`a"`, "b"}},
		{"multi select unset", &Field{Type: FieldSelect, MaxSelect: 3}, nil, []string{}},
		{"json", &Field{Type: FieldJSON}, `{"a":1}`, map[string]any{"a": 1.0}},
		{"geopoint", &Field{Type: FieldGeoPoint}, `{"lon":1,"lat":2}`, GeoPoint{Lon: 1, Lat: 2}},
		{"null", &Field{Type: FieldText}, nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := DecodeValue(c.f, c.src); !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %#v, want %#v", got, c.want)
			}
		})
	}
}
