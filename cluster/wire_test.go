package cluster

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/monobase/monobase/db"
)

// TestEventRoundTrip: a record event encoded by one node decodes on
// another into the same canonical values, auth secrets left out.
func TestEventRoundTrip(t *testing.T) {
	c := &db.Collection{ID: "c1", Name: "members", Type: db.TypeAuth, Fields: []*db.Field{
		{Name: "id", Type: db.FieldText}, {Name: "title", Type: db.FieldText}, {Name: "n", Type: db.FieldNumber},
		{Name: "ok", Type: db.FieldBool}, {Name: "tags", Type: db.FieldSelect, MaxSelect: 3},
		{Name: "data", Type: db.FieldJSON}, {Name: "at", Type: db.FieldGeoPoint},
		{Name: "password", Type: db.FieldPassword}, {Name: "tokenKey", Type: db.FieldText},
	}}
	rec := db.Record{"id": "r1", "title": "hi", "n": 2.5, "ok": true, "tags": []string{"a", "b"},
		"data": map[string]any{"x": []any{1.0, "y"}}, "at": db.GeoPoint{Lon: 1, Lat: 2}, "password": "hash", "tokenKey": "key"}
	old := db.Record{"id": "r1", "title": nil, "n": nil, "ok": false, "tags": []string{}, "data": nil, "at": nil}
	b, err := encodeEvent("node1", db.RecordEvent{Action: db.ActionUpdate, Collection: c, Record: rec, Old: old})
	if err != nil {
		t.Fatal(err)
	}
	var m message
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m.Node != "node1" || m.Kind != kindRecord || m.Action != db.ActionUpdate || m.Coll != "c1" {
		t.Fatalf("message = %+v", m)
	}
	got, err := decodeRecord(c, m.Record)
	if err != nil {
		t.Fatal(err)
	}
	want := db.Record{"id": "r1", "title": "hi", "n": 2.5, "ok": true, "tags": []string{"a", "b"},
		"data": map[string]any{"x": []any{1.0, "y"}}, "at": db.GeoPoint{Lon: 1, Lat: 2}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("record = %#v\nwant %#v", got, want)
	}
	gotOld, err := decodeRecord(c, m.Old)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotOld, old) {
		t.Errorf("old = %#v\nwant %#v", gotOld, old)
	}
	if _, ok := rec["password"]; !ok {
		t.Error("encodeEvent changed the caller's record")
	}
}

// TestKeysPerSchema: names and locks differ per database and schema.
func TestKeysPerSchema(t *testing.T) {
	a, b, c := keysOf("postgres", "s1"), keysOf("postgres", "s2"), keysOf("other", "s1")
	if a == b || a == c || a.channel == b.channel || a.lock == b.lock {
		t.Errorf("keys collide: %+v %+v %+v", a, b, c)
	}
	if len(a.channel) > 63 || a.lock < 0 || a.setup < 0 {
		t.Errorf("bad keys %+v", a)
	}
}
