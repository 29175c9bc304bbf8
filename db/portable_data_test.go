package db

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestImportDataRefusesBadInput: an import that cannot be whole changes
// nothing: a wrong format, a truncated stream, a row count that does not
// match, a database that already has data.
func TestImportDataRefusesBadInput(t *testing.T) {
	ctx := context.Background()
	src := openTest(t)
	if _, err := src.CreateCollection(ctx, &Collection{Name: "notes", Fields: []*Field{{Name: "text", Type: FieldText}}}); err != nil {
		t.Fatal(err)
	}
	if err := src.CreateSuperuser(ctx, "admin@example.com", "admin-password"); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	stats, err := src.ExportData(ctx, &buf)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Collections != 3 || stats.Rows[SuperusersCollection] != 1 || stats.Rows["notes"] != 0 {
		t.Fatalf("export stats: %+v", stats)
	}
	good := buf.String()
	lines := strings.Split(strings.TrimSpace(good), "\n")
	bad := map[string]string{
		"format":    strings.Replace(good, DataFormat, "something-else", 1),
		"truncated": strings.Join(lines[:len(lines)-3], "\n"),
		"count":     strings.Replace(good, `{"rows":1}`, `{"rows":2}`, 1),
		"no table":  strings.Replace(good, `{"table":"notes"`, `{"table":"nothere"`, 1),
	}
	for name, in := range bad {
		dst := openTest(t)
		if _, err := dst.ImportData(ctx, strings.NewReader(in)); err == nil {
			t.Errorf("%s: import succeeded", name)
		}
		// Nothing changed: the database is still empty and takes the good export.
		if len(dst.Collections()) != 2 {
			t.Errorf("%s: %d collections after a failed import", name, len(dst.Collections()))
		}
		if _, err := dst.ImportData(ctx, strings.NewReader(good)); err != nil {
			t.Errorf("%s: the good export after a failed one: %v", name, err)
		}
	}
	// Into a database with data: refused.
	if _, err := src.ImportData(ctx, strings.NewReader(good)); !errors.Is(err, ErrNotEmpty) {
		t.Errorf("import into a database with data: %v, want ErrNotEmpty", err)
	}
}

// BenchmarkMoveData exports 10,000 records and imports them into an empty
// database of the run's engine; it reports rows per second of each half.
//
//	go test ./db -run '^$' -bench MoveData -benchtime 3x
//	MONOBASE_TEST_DB=postgres://postgres@127.0.0.1:5432/postgres go test ./db -run '^$' -bench MoveData -benchtime 3x
func BenchmarkMoveData(b *testing.B) {
	const rows = 10000
	ctx := context.Background()
	src := openTest(b)
	c, err := src.CreateCollection(ctx, &Collection{Name: "posts", Fields: []*Field{
		{Name: "title", Type: FieldText}, {Name: "views", Type: FieldNumber}, {Name: "done", Type: FieldBool}, {Name: "meta", Type: FieldJSON}}})
	if err != nil {
		b.Fatal(err)
	}
	tx, err := src.Begin(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for i := range rows {
		if _, err := tx.Insert(c, RecordInput{"title": "post", "views": float64(i), "done": i%2 == 0, "meta": map[string]any{"i": i}}); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	var export, imp time.Duration
	for b.Loop() {
		var buf bytes.Buffer
		start := time.Now()
		if _, err := src.ExportData(ctx, &buf); err != nil {
			b.Fatal(err)
		}
		export += time.Since(start)
		b.StopTimer()
		dst := openTest(b)
		b.StartTimer()
		start = time.Now()
		stats, err := dst.ImportData(ctx, &buf)
		if err != nil || stats.Rows["posts"] != rows {
			b.Fatalf("import: %v %+v", err, stats)
		}
		imp += time.Since(start)
	}
	b.ReportMetric(float64(rows*b.N)/export.Seconds(), "export-rows/s")
	b.ReportMetric(float64(rows*b.N)/imp.Seconds(), "import-rows/s")
}
