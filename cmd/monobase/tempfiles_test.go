package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestServeCleansTemporaryFiles leaves what a crash mid-upload would (a
// partial file in storage/.tmp) and checks that the next start removes it
// and keeps the stored files.
func TestServeCleansTemporaryFiles(t *testing.T) {
	dir := t.TempDir()
	first, _ := startServer(t, dir)
	if err := first.Close(); err != nil {
		t.Fatalf("close first server: %v", err)
	}
	tmp := filepath.Join(dir, "storage", ".tmp")
	kept := filepath.Join(dir, "storage", "coll", "rec", "a_0123456789.txt")
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
