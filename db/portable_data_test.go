package db

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
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
