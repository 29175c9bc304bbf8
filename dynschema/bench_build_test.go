package dynschema

import (
	"fmt"
	"testing"

	"github.com/monobase/monobase/db"
)

// manyCollections returns n collections of m fields of mixed types, each
// relating to the previous one.
func manyCollections(n, m int) []*db.Collection {
	out := make([]*db.Collection, 0, n)
	types := []db.FieldType{db.FieldText, db.FieldNumber, db.FieldBool, db.FieldDate, db.FieldSelect, db.FieldJSON, db.FieldEmail}
	for i := 0; i < n; i++ {
		var fs []*db.Field
		for j := 0; j < m; j++ {
			f := &db.Field{Name: fmt.Sprintf("field%d", j), Type: types[j%len(types)]}
			if f.Type == db.FieldSelect {
				f.Values = []string{"a", "b", "c"}
				f.MaxSelect = 1
			}
			if j == m-1 && i > 0 {
				f.Type = db.FieldRelation
				f.Collection = fmt.Sprintf("c%d", i-1)
				f.MaxSelect = 1
			}
			fs = append(fs, f)
		}
		out = append(out, coll(fmt.Sprintf("c%d", i), fmt.Sprintf("things%d", i), db.TypeBase, fs...))
	}
	return out
}

func BenchmarkBuild200x20(b *testing.B) {
	colls := manyCollections(200, 20)
	e := newEngine(Config{})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.build(colls); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCompileOnly200x20(b *testing.B) {
	colls := manyCollections(200, 20)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := compile(colls); err != nil {
			b.Fatal(err)
		}
	}
}
