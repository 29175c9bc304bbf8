package server

import (
	"archive/zip"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/monobase/monobase/backup"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/internal/testdb"
)

func TestRestoreRefusesBadZipsAndChangesNothing(t *testing.T) {
	s := newBackupServer(t)
	mustGQL(t, s.base+"/graphql", "", `mutation { createNote(input: {title: "kept"}) { id } }`, nil)
	mustGQL(t, s.base+"/graphql/admin", s.admin, `mutation { createBackup(name: "good.zip") { name } }`, nil)
	good, err := os.ReadFile(filepath.Join(s.dir, "backups", "good.zip"))
	if err != nil {
		t.Fatal(err)
	}
	dbName := backupDBEntry()
	goodDB := zipEntryBytes(t, good, dbName)
	mustGQL(t, s.base+"/graphql", "", `mutation { createNote(input: {title: "after"}) { id } }`, nil)

	for _, tt := range []struct {
		name string
		zip  []byte
	}{
		{"corrupt.zip", append([]byte("PK\x03\x04"), bytes.Repeat([]byte{7}, 500)...)},
		{"foreign.zip", buildZip(t, map[string][]byte{"readme.txt": []byte("hello")})},
		{"no-db.zip", buildZip(t, map[string][]byte{"storage/a/b/c.txt": []byte("hello")})},
		{"slip.zip", buildZip(t, map[string][]byte{dbName: goodDB, "storage/../../evil.txt": []byte("pwned")})},
	} {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			if err := os.WriteFile(filepath.Join(s.dir, "backups", tt.name), tt.zip, 0o644); err != nil {
				t.Fatal(err)
			}
			r := s.adminGQL(t, `mutation($n: String!) { restoreBackup(name: $n) }`, map[string]any{"n": tt.name})
			if r.errCode() != "BAD_USER_INPUT" {
				t.Fatalf("restoreBackup = %+v, want BAD_USER_INPUT", r.Errors)
			}
			if got := s.titles(t); !got["kept"] || !got["after"] || len(got) != 2 {
				t.Fatalf("notes after a refused restore = %v", got)
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(s.dir), "evil.txt")); err == nil {
				t.Fatal("the zip-slip entry was written")
			}
			// Uploaded, the same zip is refused and not kept.
			status, raw := postMultipart(t, s.base+"/graphql/admin", s.admin, `mutation($f: Upload!) { uploadBackup(file: $f) { name } }`,
				map[string]any{"f": nil}, "f", "up-"+tt.name, tt.zip)
			if !bytes.Contains(raw, []byte("BAD_USER_INPUT")) {
				t.Fatalf("uploadBackup: %d %s", status, raw)
			}
			if _, err := os.Stat(filepath.Join(s.dir, "backups", "up-"+tt.name)); err == nil {
				t.Fatal("a refused upload was kept")
			}
		})
	}

	t.Run("a backup whose data does not open is rolled back", func(t *testing.T) {
		// data.db passes the checks, but a collection definition is
		// broken, so the server cannot start on it: the old data comes
		// back and keeps working.
		var broken []byte
		if testdb.Postgres() {
			broken = breakExport(t, goodDB, "notes")
		} else {
			p := filepath.Join(t.TempDir(), db.FileName)
			if err := os.WriteFile(p, goodDB, 0o644); err != nil {
				t.Fatal(err)
			}
			conn, err := sql.Open("sqlite", p)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := conn.Exec(`UPDATE "_collections" SET "data" = '{' WHERE "name" = 'notes'`); err != nil {
				t.Fatal(err)
			}
			conn.Close()
			broken, _ = os.ReadFile(p)
		}
		if err := os.WriteFile(filepath.Join(s.dir, "backups", "broken.zip"), buildZip(t, map[string][]byte{dbName: broken}), 0o644); err != nil {
			t.Fatal(err)
		}
		r := s.adminGQL(t, `mutation { restoreBackup(name: "broken.zip") }`, nil)
		if r.errCode() != "INTERNAL_SERVER_ERROR" {
			t.Fatalf("restoreBackup = %+v, want an internal error", r.Errors)
		}
		if got := s.titles(t); !got["kept"] || !got["after"] || len(got) != 2 {
			t.Fatalf("notes after a rolled back restore = %v", got)
		}
		mustGQL(t, s.base+"/graphql", "", `mutation { createNote(input: {title: "still writable"}) { id } }`, nil)
		checkDataFile(t, s.dir)
	})

	t.Run("a sound zip uploads, is listed and restores", func(t *testing.T) {
		status, raw := postMultipart(t, s.base+"/graphql/admin", s.admin, `mutation($f: Upload!) { uploadBackup(file: $f) { name size } }`,
			map[string]any{"f": nil}, "f", "Copy.zip", good)
		if !bytes.Contains(raw, []byte(`"name":"copy.zip"`)) {
			t.Fatalf("uploadBackup: %d %s", status, raw)
		}
		list := mustGQL(t, s.base+"/graphql/admin", s.admin, `{ backups { name } }`, nil)["backups"].([]any)
		var names []string
		for _, b := range list {
			names = append(names, b.(map[string]any)["name"].(string))
		}
		if !contains(names, "copy.zip") || !contains(names, "good.zip") {
			t.Fatalf("backups = %v", names)
		}
		mustGQL(t, s.base+"/graphql/admin", s.admin, `mutation { restoreBackup(name: "copy.zip") }`, nil)
		if got := s.titles(t); !got["kept"] || len(got) != 1 {
			t.Fatalf("notes = %v, want only the note of the backup", got)
		}
	})
}

func TestBackupNamesAccessAndDownload(t *testing.T) {
	s := newBackupServer(t)
	_, userToken := signUp(t, s.base, "user@example.com")

	t.Run("only superusers use the backup operations", func(t *testing.T) {
		for _, q := range []string{`{ backups { name } }`, `mutation { createBackup { name } }`, `mutation { fileToken }`} {
			if r := gql(t, s.base+"/graphql/admin", userToken, q, nil); r.errCode() != "FORBIDDEN" {
				t.Errorf("%s as a user: %+v", q, r.Errors)
			}
		}
	})
	t.Run("only superusers may upload", func(t *testing.T) {
		for token, want := range map[string]int{"": 401, userToken: 403} {
			status, raw := postMultipart(t, s.base+"/graphql/admin", token, `mutation($f: Upload!) { uploadBackup(file: $f) { name } }`,
				map[string]any{"f": nil}, "f", "x.zip", []byte("PK"))
			if status != want {
				t.Errorf("upload with token %.10q: %d %s, want %d", token, status, raw, want)
			}
		}
	})
	t.Run("bad names are BAD_USER_INPUT on name", func(t *testing.T) {
		for _, name := range []string{"../data.zip", "UPPER.zip", "x.tar"} {
			r := s.adminGQL(t, `mutation($n: String) { createBackup(name: $n) { name } }`, map[string]any{"n": name})
			if r.errCode() != "BAD_USER_INPUT" || r.Errors[0].Extensions["fields"].(map[string]any)["name"] == nil {
				t.Errorf("createBackup(%q) = %+v", name, r.Errors)
			}
		}
	})
	data := mustGQL(t, s.base+"/graphql/admin", s.admin, `mutation { createBackup { name } }`, nil)
	name := data["createBackup"].(map[string]any)["name"].(string)
	if !strings.HasPrefix(name, "mb_backup_") || !strings.HasSuffix(name, ".zip") {
		t.Fatalf("default name %q", name)
	}
	t.Run("a taken name is BAD_USER_INPUT", func(t *testing.T) {
		r := s.adminGQL(t, `mutation($n: String) { createBackup(name: $n) { name } }`, map[string]any{"n": name})
		if r.errCode() != "BAD_USER_INPUT" {
			t.Fatalf("createBackup again = %+v", r.Errors)
		}
	})

	token := mustGQL(t, s.base+"/graphql/admin", s.admin, `mutation { fileToken }`, nil)["fileToken"].(string)
	userFileToken := fileToken(t, s.base, userToken)
	url := s.base + "/backups/" + name
	t.Run("a superuser's file token downloads it", func(t *testing.T) {
		res, body := httpGet(t, url+"?token="+token)
		want, _ := os.ReadFile(filepath.Join(s.dir, "backups", name))
		if res.StatusCode != 200 || !bytes.Equal(body, want) {
			t.Fatalf("GET: %d, %d bytes (want %d)", res.StatusCode, len(body), len(want))
		}
		if cd := res.Header.Get("Content-Disposition"); cd != `attachment; filename=`+name {
			t.Errorf("Content-Disposition = %q", cd)
		}
		if res.Header.Get("Content-Type") != "application/zip" {
			t.Errorf("Content-Type = %q", res.Header.Get("Content-Type"))
		}
	})
	for _, tt := range []struct {
		scenario, url string
		status        int
	}{
		{"without a token", url, 401},
		{"with a sign-in token instead of a file token", url + "?token=" + s.admin, 401},
		{"with a forged token", url + "?token=eyJhbGciOiJIUzI1NiJ9.e30.x", 401},
		{"with a user's file token", url + "?token=" + userFileToken, 403},
		{"an unknown backup", s.base + "/backups/nope.zip?token=" + token, 404},
		{"a name outside the folder", s.base + "/backups/..%2F" + db.FileName + "?token=" + token, 404},
	} {
		t.Run(tt.scenario+" is "+fmt.Sprint(tt.status), func(t *testing.T) {
			if res, _ := httpGet(t, tt.url); res.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d", res.StatusCode, tt.status)
			}
		})
	}
	t.Run("deleteBackup removes it", func(t *testing.T) {
		mustGQL(t, s.base+"/graphql/admin", s.admin, `mutation($n: String!) { deleteBackup(name: $n) }`, map[string]any{"n": name})
		if r := s.adminGQL(t, `mutation($n: String!) { deleteBackup(name: $n) }`, map[string]any{"n": name}); r.errCode() != "NOT_FOUND" {
			t.Fatalf("second delete = %+v", r.Errors)
		}
		if res, _ := httpGet(t, url+"?token="+token); res.StatusCode != 404 {
			t.Fatalf("GET a deleted backup: %d", res.StatusCode)
		}
	})
}

// buildZip returns a zip of the entries.
func buildZip(t *testing.T, entries map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range entries {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write(body)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// zipEntryBytes returns the content of one entry of a zip.
func zipEntryBytes(t *testing.T, b []byte, name string) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := zr.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	out, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// backupDBEntry is the zip entry of the database in a backup made on the
// test run's engine: data.db on SQLite, the export on PostgreSQL.
func backupDBEntry() string {
	if testdb.Postgres() {
		return backup.DataFile
	}
	return db.FileName
}

// checkDataFile checks the data folder's database after a restore: on
// SQLite data.db passes PRAGMA integrity_check; on PostgreSQL there is no
// data.db (the data is in the database).
func checkDataFile(t *testing.T, dir string) {
	t.Helper()
	p := filepath.Join(dir, db.FileName)
	if testdb.Postgres() {
		if _, err := os.Stat(p); err == nil {
			t.Fatalf("%s exists on PostgreSQL", p)
		}
		return
	}
	if err := db.CheckFile(context.Background(), p); err != nil {
		t.Fatal(err)
	}
}

// breakExport returns the export with the stored definition of the
// collection name replaced by invalid JSON.
func breakExport(t *testing.T, export []byte, name string) []byte {
	t.Helper()
	first, rest, _ := bytes.Cut(export, []byte("\n"))
	var h db.ExportHeader
	if err := json.Unmarshal(first, &h); err != nil {
		t.Fatal(err)
	}
	for i := range h.Collections {
		if h.Collections[i].Name == name {
			h.Collections[i].Data = "{"
		}
	}
	b, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	return append(append(b, '\n'), rest...)
}
