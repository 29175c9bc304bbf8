package backup_test

import (
	"archive/zip"
	"bytes"
	"context"
	"database/sql"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/monobase/monobase/backup"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/files"
	"github.com/monobase/monobase/internal/dbtest"
	"github.com/monobase/monobase/internal/testdb"
)

// env is a data folder with a database, a file store and its backup
// service, reloaded as the server does it: close, swap, open again (and on
// failure undo and open the old data).
type env struct {
	dir     string
	d       *db.DB
	store   *files.Store
	svc     *backup.Service
	notes   *db.Collection
	reloads int
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{dir: t.TempDir()}
	e.open(t)
	var err error
	e.notes, err = e.d.CreateCollection(context.Background(), &db.Collection{Name: "notes", Type: db.TypeBase,
		Fields: []*db.Field{{Name: "title", Type: db.FieldText}}})
	if err != nil {
		t.Fatal(err)
	}
	e.store = files.NewLocal(filepath.Join(e.dir, backup.StorageDir))
	e.svc = backup.New(e.dir)
	e.svc.Source = func() (*db.DB, *files.Store) { return e.d, e.store }
	e.svc.Reload = func(ctx context.Context, swap backup.SwapFunc) error {
		e.reloads++
		_ = e.d.Close()
		undo, err := swap()
		if err != nil {
			e.open(t)
			return err
		}
		if e.d, err = dbtest.Open(t, ctx, e.dir); err != nil {
			if uerr := undo(); uerr != nil {
				t.Fatalf("undo: %v", uerr)
			}
			e.open(t)
			return err
		}
		return nil
	}
	t.Cleanup(func() { _ = e.d.Close() })
	return e
}

func (e *env) open(t *testing.T) {
	t.Helper()
	d, err := dbtest.Open(t, context.Background(), e.dir)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	e.d = d
	if e.notes != nil {
		e.notes, _ = d.Collection("notes")
	}
}

// insert adds a note and returns its id.
func (e *env) insert(t *testing.T, title string) string {
	t.Helper()
	c, err := e.d.Collection("notes")
	if err != nil {
		t.Fatal(err)
	}
	tx, err := e.d.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	rec, err := tx.Insert(c, db.RecordInput{"title": title})
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return rec.ID()
}

// titles returns the notes' titles, sorted.
func (e *env) titles(t *testing.T) []string {
	t.Helper()
	c, err := e.d.Collection("notes")
	if err != nil {
		t.Fatal(err)
	}
	recs, err := e.d.Find(context.Background(), &db.Query{Collection: c})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		out = append(out, r["title"].(string))
	}
	slices.Sort(out)
	return out
}

// storageFiles lists the files under storage/ (relative, slash-separated).
func (e *env) storageFiles(t *testing.T) []string {
	t.Helper()
	root := filepath.Join(e.dir, backup.StorageDir)
	var out []string
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			rel, _ := filepath.Rel(root, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	slices.Sort(out)
	return out
}

// zipEntry is one entry of a test zip.
type zipEntry struct {
	name  string
	body  []byte
	mode  fs.FileMode // 0: a regular file
	store bool        // stored as is, not deflated
	// declared, when set, is the uncompressed size the header claims
	// (the entry is then written raw, stored).
	declared uint64
}

// makeZip writes the entries as a zip and returns its bytes.
func makeZip(t *testing.T, entries ...zipEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, en := range entries {
		h := &zip.FileHeader{Name: en.name, Method: zip.Deflate}
		if en.mode != 0 {
			h.SetMode(en.mode)
		}
		if en.store {
			h.Method = zip.Store
		}
		if en.declared != 0 {
			h.Method = zip.Store
			h.CompressedSize64 = uint64(len(en.body))
			h.UncompressedSize64 = en.declared
			w, err := zw.CreateRaw(h)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = w.Write(en.body)
			continue
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write(en.body)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// goodDB returns the bytes of a sound copy of e's database.
func (e *env) goodDB(t *testing.T) zipEntry {
	t.Helper()
	if e.d.Engine() == db.EnginePostgres {
		var buf bytes.Buffer
		if _, err := e.d.ExportData(context.Background(), &buf); err != nil {
			t.Fatal(err)
		}
		return zipEntry{name: backup.DataFile, body: buf.Bytes()}
	}
	p := filepath.Join(t.TempDir(), "copy.db")
	if err := e.d.VacuumInto(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return zipEntry{name: db.FileName, body: b}
}

// dbEntry is the zip entry of the database in a backup made on the
// test run's engine: data.db on SQLite, the export on PostgreSQL.
func dbEntry() string {
	if testdb.Postgres() {
		return backup.DataFile
	}
	return db.FileName
}

// sqliteFile returns the path of a sound Monobase SQLite database in a
// folder of its own, whatever the test run's engine (for an auxiliary
// database, or a data.db from another engine).
func sqliteFile(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	d, err := db.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, db.FileName)
}

// put writes a zip into the backups folder as name.
func (e *env) put(t *testing.T, name string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(e.svc.Dir(), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.svc.Dir(), name), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// zipNames lists the entries of the zip at p.
func zipNames(t *testing.T, p string) []string {
	t.Helper()
	zr, err := zip.OpenReader(p)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var out []string
	for _, f := range zr.File {
		out = append(out, f.Name)
	}
	slices.Sort(out)
	return out
}

// dropCollections drops _collections from the SQLite file at p and returns
// its bytes: a sound SQLite database that is not Monobase's.
func dropCollections(t *testing.T, p string) []byte {
	t.Helper()
	conn, err := sql.Open("sqlite", p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(`DROP TABLE "_collections"`); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
