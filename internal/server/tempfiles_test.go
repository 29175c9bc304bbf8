package server

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/monobase/monobase/db"
)

// TestServeCleansTemporaryFiles leaves what a crash mid-upload would (a
// partial file in storage/.tmp) and checks that the next start removes it
// and keeps the stored files.
func TestServeCleansTemporaryFiles(t *testing.T) {
	dir := t.TempDir()
	first, _ := startServer(t, dir)
	// The kept file is named by a record: the start-up files cleanup
	// (JobFilesCleanup) removes stored files that no record names.
	ctx := context.Background()
	c, err := first.db.CreateCollection(ctx, &db.Collection{Name: "docs", Type: db.TypeBase,
		Fields: []*db.Field{{Name: "file", Type: db.FieldFile, MaxSelect: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	tx, err := first.db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Insert(c, db.RecordInput{"id": "rec000000000001", "file": "a_0123456789.txt"}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatalf("close first server: %v", err)
	}
	tmp := filepath.Join(dir, "storage", ".tmp")
	kept := filepath.Join(dir, "storage", c.ID, "rec000000000001", "a_0123456789.txt")
	for _, p := range []string{filepath.Join(tmp, "upload-123"), filepath.Join(tmp, "write-456"), kept} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	startServer(t, dir)
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("storage/.tmp holds %d entries after a start", len(left))
	}
	if _, err := os.Stat(kept); err != nil {
		t.Errorf("a stored file was removed: %v", err)
	}
}
