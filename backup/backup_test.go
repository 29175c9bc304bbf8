package backup_test

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/backup"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/files"
	"github.com/monobase/monobase/internal/testdb"
)

func TestCreateAndRestore(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.insert(t, "before")
	recID := e.insert(t, "with file")
	name, err := e.store.Save(ctx, e.notes.ID, recID, files.Upload{File: bytes.NewReader([]byte("hello")), Filename: "hello.txt", Size: 5})
	if err != nil {
		t.Fatal(err)
	}
	// A file being written and an auxiliary database.
	if err := os.MkdirAll(e.store.TempDir(), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.store.TempDir(), "partial"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := db.SnapshotFile(ctx, sqliteFile(t), filepath.Join(e.dir, backup.AuxiliaryFile)); err != nil {
		t.Fatal(err)
	}

	info, err := e.svc.Create(ctx, "first.zip")
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	t.Run("the zip holds the databases and the stored files, not the files being written", func(t *testing.T) {
		want := []string{backup.AuxiliaryFile, dbEntry(), "storage/" + e.notes.ID + "/" + recID + "/" + name}
		slices.Sort(want)
		if got := zipNames(t, filepath.Join(e.svc.Dir(), "first.zip")); !slices.Equal(got, want) {
			t.Fatalf("entries = %v, want %v", got, want)
		}
		if info.Name != "first.zip" || info.Size <= 0 || time.Since(info.Modified) > time.Minute {
			t.Fatalf("info = %+v", info)
		}
	})
	t.Run("nothing is left in the temporary folder", func(t *testing.T) {
		entries, _ := os.ReadDir(filepath.Join(e.svc.Dir(), ".tmp"))
		if len(entries) != 0 {
			t.Fatalf("left: %v", entries)
		}
	})

	// Changes after the backup: a new record, the file removed.
	e.insert(t, "after")
	if err := e.store.Delete(ctx, e.notes.ID, recID, name); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Restore(ctx, "first.zip"); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	t.Run("the restore brings back the records and files of the backup", func(t *testing.T) {
		if got := e.titles(t); !slices.Equal(got, []string{"before", "with file"}) {
			t.Fatalf("titles = %v", got)
		}
		want := []string{e.notes.ID + "/" + recID + "/" + name}
		if got := e.storageFiles(t); !slices.Equal(got, want) {
			t.Fatalf("storage = %v, want %v", got, want)
		}
		if !testdb.Postgres() {
			if err := db.CheckFile(ctx, filepath.Join(e.dir, db.FileName)); err != nil {
				t.Fatal(err)
			}
		} else if _, err := os.Stat(filepath.Join(e.dir, db.FileName)); err == nil {
			t.Fatal("a restore on PostgreSQL wrote data.db")
		}
		if _, err := os.Stat(filepath.Join(e.dir, backup.AuxiliaryFile)); err != nil {
			t.Fatalf("auxiliary.db: %v", err)
		}
	})
	t.Run("the replaced data and the unpacked zip are removed", func(t *testing.T) {
		entries, _ := os.ReadDir(filepath.Join(e.svc.Dir(), ".tmp"))
		if len(entries) != 0 {
			t.Fatalf("left: %v", entries)
		}
		entries, _ = os.ReadDir(e.svc.Dir())
		for _, en := range entries {
			if en.Name() != "first.zip" && en.Name() != ".tmp" {
				t.Errorf("left in the backups folder: %s", en.Name())
			}
		}
	})
	t.Run("the backup is listed and can be deleted", func(t *testing.T) {
		list, err := e.svc.List(ctx)
		if err != nil || len(list) != 1 || list[0].Name != "first.zip" {
			t.Fatalf("List = %+v, %v", list, err)
		}
		if err := e.svc.Delete(ctx, "first.zip"); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.Delete(ctx, "first.zip"); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("second Delete = %v, want NOT_FOUND", err)
		}
	})
}

func TestHeldDeletesKeepSnapshotFiles(t *testing.T) {
	// A file removed while a backup copies the storage is still copied:
	// the removal waits for the end of the backup.
	ctx := context.Background()
	e := newEnv(t)
	recID := e.insert(t, "x")
	name, err := e.store.Save(ctx, e.notes.ID, recID, files.Upload{File: bytes.NewReader([]byte("kept")), Filename: "k.txt", Size: 4})
	if err != nil {
		t.Fatal(err)
	}
	release := e.store.HoldDeletes() // as Create holds them
	if err := e.store.Delete(ctx, e.notes.ID, recID, name); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Create(ctx, "held.zip"); err != nil {
		t.Fatal(err)
	}
	release()
	if got := zipNames(t, filepath.Join(e.svc.Dir(), "held.zip")); !slices.Contains(got, "storage/"+e.notes.ID+"/"+recID+"/"+name) {
		t.Fatalf("entries = %v", got)
	}
	if got := e.storageFiles(t); len(got) != 0 {
		t.Fatalf("the removal did not run after the backup: %v", got)
	}
}

func TestRefusedZipsChangeNothing(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.insert(t, "kept")
	good := e.goodDB(t)
	foreign := filepath.Join(t.TempDir(), "foreign.db")
	if err := db.SnapshotFile(ctx, sqliteFile(t), foreign); err != nil {
		t.Fatal(err)
	}
	// A SQLite file that passes the integrity check but is not ours: a
	// database without _collections (drop it from a copy).
	foreignDB := dropCollections(t, foreign)
	marker := []byte("a stored file whose bytes are changed")
	damaged := makeZip(t, good, zipEntry{name: "storage/c/r/f.txt", body: marker, store: true})
	damaged[bytes.Index(damaged, marker)] ^= 0xff // its checksum no longer matches
	zeros := make([]byte, 80<<20)

	tests := []struct {
		name string
		zip  []byte
		why  string // in the message
	}{
		{"not a zip", []byte("PK\x03\x04 this is not really a zip"), "not a zip"},
		{"an empty file", nil, "not a zip"},
		{"no data.db", makeZip(t, zipEntry{name: "storage/c/r/f.txt", body: []byte("x")}), "no data.db"},
		{"an export that is not one", makeZip(t, zipEntry{name: backup.DataFile, body: []byte(`{"format":"other"}`)}), "not a Monobase data export"},
		{"both data.db and an export", makeZip(t, zipEntry{name: backup.DataFile, body: []byte("{}")}, zipEntry{name: db.FileName, body: []byte("x")}), "both"},
		{"a backup of the other engine", makeZip(t, otherEngine(t, e)), "was made on"},
		{"a data.db that is not SQLite", makeZip(t, zipEntry{name: db.FileName, body: bytes.Repeat([]byte("garbage!"), 100)}), "not a sound Monobase database"},
		{"a SQLite data.db that is not ours", makeZip(t, zipEntry{name: db.FileName, body: foreignDB}), "not a sound Monobase database"},
		{"zip slip with ..", makeZip(t, good, zipEntry{name: "../evil.txt", body: []byte("x")}), "unsafe path"},
		{"zip slip inside storage", makeZip(t, good, zipEntry{name: "storage/../../evil.txt", body: []byte("x")}), "unsafe path"},
		{"an absolute path", makeZip(t, good, zipEntry{name: "/tmp/evil.txt", body: []byte("x")}), "unsafe path"},
		{"a backslash path", makeZip(t, good, zipEntry{name: `storage\..\..\evil.txt`, body: []byte("x")}), "backslash"},
		{"a symlink", makeZip(t, good, zipEntry{name: "storage/link", body: []byte("/etc/passwd"), mode: fs.ModeSymlink | 0o777}), "not a regular file"},
		{"an unexpected entry", makeZip(t, good, zipEntry{name: "hooks/main.js", body: []byte("x")}), "unexpected"},
		{"a duplicate entry", makeZip(t, good, good), "twice"},
		{"a hidden entry", makeZip(t, good, zipEntry{name: "storage/.tmp/x", body: []byte("x")}), "hidden"},
		{"a bomb", makeZip(t, good, zipEntry{name: "storage/c/r/zeros", body: zeros}), "more than"},
		{"a header that claims a huge size", makeZip(t, good, zipEntry{name: "storage/c/r/big", body: []byte("x"), declared: 1 << 40}), "more than"},
		{"a header that understates the size", makeZip(t, good, zipEntry{name: "storage/c/r/liar", body: bytes.Repeat([]byte("x"), 1000), declared: 10}), "damaged"},
		{"a checksum that does not match", damaged, "damaged (zip: checksum error)"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := "bad" + string(rune('a'+i)) + ".zip"
			e.put(t, name, tt.zip)
			reloads := e.reloads
			err := e.svc.Restore(ctx, name)
			ae := apperr.As(err)
			if ae == nil || ae.Code != apperr.Invalid || ae.Fields["name"].Code != "invalid_backup" {
				t.Fatalf("Restore = %v, want BAD_USER_INPUT on name", err)
			}
			t.Log(ae.Message)
			if !strings.Contains(ae.Message, tt.why) {
				t.Errorf("message %q lacks %q", ae.Message, tt.why)
			}
			if strings.Contains(ae.Message, e.dir) {
				t.Errorf("message %q shows a server path", ae.Message)
			}
			if e.reloads != reloads {
				t.Fatal("the server was reloaded for a refused zip")
			}
			if got := e.titles(t); !slices.Equal(got, []string{"kept"}) {
				t.Fatalf("titles = %v", got)
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(e.dir), "evil.txt")); err == nil {
				t.Fatal("a zip-slip entry was written")
			}
			// The same bytes uploaded are refused and not kept.
			_, err = e.svc.Upload(ctx, "up-"+name, bytes.NewReader(tt.zip))
			if ae := apperr.As(err); ae == nil || ae.Code != apperr.Invalid || ae.Fields["file"].Code != "invalid_backup" {
				t.Fatalf("Upload = %v, want BAD_USER_INPUT on file", err)
			}
			if _, err := os.Stat(filepath.Join(e.svc.Dir(), "up-"+name)); err == nil {
				t.Fatal("a refused upload was kept")
			}
			entries, _ := os.ReadDir(filepath.Join(e.svc.Dir(), ".tmp"))
			if len(entries) != 0 {
				t.Fatalf("left in the temporary folder: %v", entries)
			}
		})
	}
	t.Run("a sound zip uploaded is kept and restores", func(t *testing.T) {
		info, err := e.svc.Upload(ctx, "Good.ZIP", bytes.NewReader(makeZip(t, good)))
		if err != nil || info.Name != "good.zip" {
			t.Fatalf("Upload = %+v, %v", info, err)
		}
		if _, err := e.svc.Upload(ctx, "good.zip", bytes.NewReader(makeZip(t, good))); apperr.As(err) == nil || apperr.As(err).Fields["file"].Code != "taken" {
			t.Fatalf("second upload = %v, want taken", err)
		}
		if err := e.svc.Restore(ctx, "good.zip"); err != nil {
			t.Fatal(err)
		}
		if got := e.titles(t); !slices.Equal(got, []string{"kept"}) {
			t.Fatalf("titles = %v", got)
		}
	})
	t.Run("an upload past the limit is refused", func(t *testing.T) {
		e.svc.MaxUploadBytes = 100
		defer func() { e.svc.MaxUploadBytes = 0 }()
		_, err := e.svc.Upload(ctx, "big.zip", bytes.NewReader(make([]byte, 101)))
		if apperr.CodeOf(err) != apperr.TooLarge {
			t.Fatalf("Upload = %v, want PAYLOAD_TOO_LARGE", err)
		}
	})
}

func TestNamesAndOneOperationAtATime(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	for _, tt := range []struct {
		name string
		ok   bool
	}{
		{"mb_backup_20250101000000.zip", true},
		{"a.zip", true},
		{"v1.2-final_copy.zip", true},
		{"Upper.zip", false},
		{"no-extension", false},
		{".zip", false},
		{"../data.zip", false},
		{"a/b.zip", false},
		{"a..b.zip", false},
		{"space here.zip", false},
		{strings.Repeat("a", 147) + ".zip", false},
	} {
		if got := backup.ValidName(tt.name); got != tt.ok {
			t.Errorf("ValidName(%q) = %v, want %v", tt.name, got, tt.ok)
		}
	}

	t.Run("an invalid name is BAD_USER_INPUT on name", func(t *testing.T) {
		_, err := e.svc.Create(ctx, "Bad Name.zip")
		if ae := apperr.As(err); ae == nil || ae.Fields["name"].Code != "invalid" {
			t.Fatalf("Create = %v", err)
		}
	})
	t.Run("default names are unique", func(t *testing.T) {
		a, err := e.svc.Create(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		b, err := e.svc.Create(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(a.Name, "mb_backup_") || a.Name == b.Name || !backup.ValidName(b.Name) {
			t.Fatalf("names %q, %q", a.Name, b.Name)
		}
	})
	t.Run("a taken name is BAD_USER_INPUT on name", func(t *testing.T) {
		if _, err := e.svc.Create(ctx, "same.zip"); err != nil {
			t.Fatal(err)
		}
		_, err := e.svc.Create(ctx, "same.zip")
		if ae := apperr.As(err); ae == nil || ae.Fields["name"].Code != "taken" {
			t.Fatalf("Create = %v", err)
		}
	})
	t.Run("an unknown backup is NOT_FOUND", func(t *testing.T) {
		if err := e.svc.Restore(ctx, "nope.zip"); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("Restore = %v", err)
		}
		if _, _, err := e.svc.Open(ctx, "../data.db"); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("Open = %v", err)
		}
	})
	t.Run("while one operation runs the others are CONFLICT", func(t *testing.T) {
		// Create calls Source while it holds the lock: the other
		// operations, called from there, must be refused.
		source := e.svc.Source
		defer func() { e.svc.Source = source }()
		var errs []error
		e.svc.Source = func() (*db.DB, *files.Store) {
			_, err := e.svc.Create(ctx, "other.zip")
			errs = append(errs, err)
			errs = append(errs, e.svc.Restore(ctx, "same.zip"))
			errs = append(errs, e.svc.Delete(ctx, "same.zip"))
			_, err = e.svc.Upload(ctx, "up.zip", bytes.NewReader(nil))
			errs = append(errs, err)
			return source()
		}
		if _, err := e.svc.Create(ctx, "outer.zip"); err != nil {
			t.Fatal(err)
		}
		for i, err := range errs {
			if apperr.CodeOf(err) != apperr.Conflict {
				t.Errorf("operation %d = %v, want CONFLICT", i, err)
			}
		}
		if len(errs) != 4 {
			t.Fatalf("%d operations ran", len(errs))
		}
	})
	t.Run("the list is newest first", func(t *testing.T) {
		old := time.Now().Add(-time.Hour)
		if err := os.Chtimes(filepath.Join(e.svc.Dir(), "same.zip"), old, old); err != nil {
			t.Fatal(err)
		}
		list, err := e.svc.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 4 || list[len(list)-1].Name != "same.zip" {
			t.Fatalf("list = %+v", list)
		}
	})
}

// otherEngine is the database entry of a sound backup made on the engine
// the test run does not use.
func otherEngine(t *testing.T, e *env) zipEntry {
	t.Helper()
	if e.d.Engine() == db.EnginePostgres {
		b, err := os.ReadFile(sqliteFile(t))
		if err != nil {
			t.Fatal(err)
		}
		return zipEntry{name: db.FileName, body: b}
	}
	var buf bytes.Buffer
	if _, err := e.d.ExportData(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	return zipEntry{name: backup.DataFile, body: buf.Bytes()}
}
