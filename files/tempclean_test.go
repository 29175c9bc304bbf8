package files

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestCleanTempOlderThan is local-only: the temporary folder is on the
// local disk whatever the backend.
func TestCleanTempOlderThan(t *testing.T) {
	s := NewLocal(t.TempDir())
	t.Run("a missing folder is nothing to do", func(t *testing.T) {
		if n, err := s.CleanTempOlderThan(time.Now()); n != 0 || err != nil {
			t.Fatalf("CleanTempOlderThan = %d, %v", n, err)
		}
	})
	now := time.Now()
	old := now.Add(-2 * time.Hour)
	if err := os.MkdirAll(filepath.Join(s.TempDir(), "old-dir", "inner"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"old-file", "fresh-file", filepath.Join("old-dir", "inner", "x")} {
		if err := os.WriteFile(filepath.Join(s.TempDir(), name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"old-file", "old-dir"} {
		if err := os.Chtimes(filepath.Join(s.TempDir(), name), old, old); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.CleanTempOlderThan(now.Add(-DefaultTempMaxAge))
	if err != nil || n != 2 {
		t.Fatalf("CleanTempOlderThan = %d, %v; want 2 removed", n, err)
	}
	entries, err := os.ReadDir(s.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if !slices.Equal(left, []string{"fresh-file"}) {
		t.Fatalf("left in .tmp: %v, want only the fresh file", left)
	}
}
