package db

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestVacuumIntoAndCheckFile(t *testing.T) {
	ctx := context.Background()
	d := openTest(t)
	users, err := d.Collection("users")
	if err != nil {
		t.Fatal(err)
	}
	tx, err := d.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := tx.Insert(users, RecordInput{"email": "ann@example.com", "password": "ann-password-1", "passwordConfirm": "ann-password-1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	copyPath := filepath.Join(dir, FileName)
	if d.Engine() == EnginePostgres {
		t.Run("PostgreSQL refuses a file copy and writes nothing", func(t *testing.T) {
			err := d.VacuumInto(ctx, copyPath)
			if !errors.Is(err, ErrNotSQLite) {
				t.Fatalf("VacuumInto = %v, want ErrNotSQLite", err)
			}
			if _, err := os.Stat(copyPath); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("VacuumInto created %s: %v", copyPath, err)
			}
		})
	} else {
		vacuumCopy(t, d, copyPath, rec.ID())
	}
	checkFileRefusals(t)
}

// vacuumCopy checks the copy VacuumInto writes to copyPath (SQLite).
func vacuumCopy(t *testing.T, d *DB, copyPath, id string) {
	ctx := context.Background()
	dir := filepath.Dir(copyPath)
	if err := d.VacuumInto(ctx, copyPath); err != nil {
		t.Fatalf("VacuumInto: %v", err)
	}
	t.Run("the copy is a sound Monobase database with the record", func(t *testing.T) {
		if err := CheckFile(ctx, copyPath); err != nil {
			t.Fatalf("CheckFile: %v", err)
		}
		c := openDir(t, dir)
		users, _ := c.Collection("users")
		got, err := c.FindByIDs(ctx, users, []string{id})
		if err != nil || len(got) != 1 || got[0]["email"] != "ann@example.com" {
			t.Fatalf("record in the copy = %v, %v", got, err)
		}
	})
	t.Run("an existing target is refused", func(t *testing.T) {
		if err := d.VacuumInto(ctx, copyPath); err == nil {
			t.Fatal("VacuumInto over an existing file succeeded")
		}
	})
}

// checkFileRefusals checks that CheckFile refuses what is not a Monobase
// database (SQLite files, whatever the engine of the run).
func checkFileRefusals(t *testing.T) {
	ctx := context.Background()

	bad := t.TempDir()
	garbage := filepath.Join(bad, "garbage.db")
	if err := os.WriteFile(garbage, []byte("this is not a database at all, just some bytes to fill a header of 100 bytes......................"), 0o644); err != nil {
		t.Fatal(err)
	}
	foreign := filepath.Join(bad, "foreign.db")
	fdb, err := sql.Open("sqlite", foreign)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fdb.Exec(`CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('hi')`); err != nil {
		t.Fatal(err)
	}
	fdb.Close()
	for name, p := range map[string]string{"garbage": garbage, "foreign SQLite": foreign, "a folder": bad} {
		t.Run(name+" is not a Monobase database", func(t *testing.T) {
			if err := CheckFile(ctx, p); !errors.Is(err, ErrNotMonobase) {
				t.Fatalf("CheckFile = %v, want ErrNotMonobase", err)
			}
		})
	}
	t.Run("a missing file is an error and is not created", func(t *testing.T) {
		p := filepath.Join(bad, "missing.db")
		if err := CheckFile(ctx, p); err == nil || errors.Is(err, ErrNotMonobase) {
			t.Fatalf("CheckFile = %v", err)
		}
		if err := SnapshotFile(ctx, p, filepath.Join(bad, "out.db")); err == nil {
			t.Fatal("SnapshotFile of a missing file succeeded")
		}
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("the missing file was created: %v", err)
		}
	})
}
