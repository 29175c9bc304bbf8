package db

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
)

// twentyFields returns a collection definition with 20 fields of mixed
// types; rel is a relation target (may be "").
func twentyFields(name, rel string) *Collection {
	c := &Collection{Name: name, ListRule: sptr("")}
	types := []FieldType{FieldText, FieldNumber, FieldBool, FieldEmail, FieldURL, FieldDate, FieldJSON, FieldEditor, FieldGeoPoint, FieldAutodate}
	for i := range 18 {
		f := &Field{Name: fmt.Sprintf("f%d", i), Type: types[i%len(types)]}
		if f.Type == FieldAutodate {
			f.OnCreate = true
		}
		c.Fields = append(c.Fields, f)
	}
	c.Fields = append(c.Fields, &Field{Name: "status", Type: FieldSelect, Values: []string{"a", "b", "c"}, MaxSelect: 2})
	if rel != "" {
		c.Fields = append(c.Fields, &Field{Name: "owner", Type: FieldRelation, Collection: rel})
	} else {
		c.Fields = append(c.Fields, &Field{Name: "files", Type: FieldFile, MaxSelect: 3})
	}
	c.Indexes = []string{fmt.Sprintf("CREATE INDEX idx_%s_f0 ON %s (f0)", name, name)}
	return c
}

// BenchmarkOpen200Collections measures a cold Open of a data folder that
// holds 200 collections of 20 fields.
func BenchmarkOpen200Collections(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	d, err := openWith(b, dir)
	if err != nil {
		b.Fatal(err)
	}
	cs := make([]*Collection, 200)
	for i := range cs {
		cs[i] = twentyFields(fmt.Sprintf("c%03d", i), "users")
	}
	if _, err := d.ImportCollections(ctx, cs, false); err != nil {
		b.Fatal(err)
	}
	if err := d.Close(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		d, err := openWith(b, dir)
		if err != nil {
			b.Fatal(err)
		}
		if n := len(d.Collections()); n != 202 {
			b.Fatalf("%d collections", n)
		}
		b.StopTimer()
		_ = d.Close()
		b.StartTimer()
	}
}

// BenchmarkCreateCollection20Fields measures CreateCollection of a
// 20-field collection (table, index and definition in one transaction).
func BenchmarkCreateCollection20Fields(b *testing.B) {
	ctx := context.Background()
	d, err := openWith(b, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	i := 0
	for b.Loop() {
		if _, err := d.CreateCollection(ctx, twentyFields(fmt.Sprintf("c%06d", i), "users")); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkInsertRecordParallel runs creates from 16 goroutines, each in
// its own transaction, with group commit (grouped) and with every
// transaction committing alone (solo): ns/op is the time per create at
// that concurrency.
//
//	go test ./db -run '^$' -bench InsertRecordParallel -count 5
func BenchmarkInsertRecordParallel(b *testing.B) {
	for _, bc := range []struct {
		name    string
		maxSize int
	}{{"solo", 1}, {"grouped", 0}} {
		b.Run(bc.name, func(b *testing.B) {
			d, err := Open(context.Background(), b.TempDir()) // group commit is SQLite's
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = d.Close() })
			d.gate.maxSize = bc.maxSize
			c := mustCreate(b, d, &Collection{Name: "posts", Fields: benchPostFields()})
			var n atomic.Int64
			b.ReportAllocs()
			b.SetParallelism(8) // 16 goroutines on 2 cores
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					mustInsert(b, d, c, RecordInput{"title": fmt.Sprintf("Post %d", i), "body": "<p>Some body text.</p>", "views": i, "published": i%2 == 0})
				}
			})
		})
	}
}

// benchPostFields are the fields of bench/load's posts, without the
// relation.
func benchPostFields() []*Field {
	return []*Field{
		{Name: "title", Type: FieldText, Required: true}, {Name: "body", Type: FieldEditor},
		{Name: "views", Type: FieldNumber, OnlyInt: true}, {Name: "published", Type: FieldBool},
		{Name: "created", Type: FieldAutodate, OnCreate: true}, {Name: "updated", Type: FieldAutodate, OnCreate: true, OnUpdate: true},
	}
}

// BenchmarkInsertRecord measures one create in its own transaction: the
// validation, the id, the INSERT and the commit, on a collection shaped as
// bench/load's posts.
func BenchmarkInsertRecord(b *testing.B) {
	d := openTest(b)
	ctx := context.Background()
	c, err := d.CreateCollection(ctx, &Collection{Name: "posts", Fields: benchPostFields()})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		mustInsert(b, d, c, RecordInput{"title": fmt.Sprintf("Post %d", i), "body": "<p>Some body text.</p>", "views": i, "published": i%2 == 0})
	}
}
