package server

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/monobase/monobase/backup"
	"github.com/monobase/monobase/files"
	"github.com/monobase/monobase/internal/s3test"
)

// s3SettingsInput is the updateSettings input of set.
func s3SettingsInput(set files.S3Settings) map[string]any {
	return map[string]any{"enabled": set.Enabled, "bucket": set.Bucket, "region": set.Region, "endpoint": set.Endpoint,
		"accessKey": set.AccessKey, "secret": set.Secret, "forcePathStyle": set.ForcePathStyle}
}

// bucketObject returns the bytes of key in the bucket of set, nil when
// there is no such object.
func bucketObject(t *testing.T, set files.S3Settings, key string) []byte {
	t.Helper()
	b, err := files.NewS3(set)
	if err != nil {
		t.Fatal(err)
	}
	o, err := b.Open(context.Background(), key)
	if files.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	out, err := io.ReadAll(o)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// createNoteWithFile creates a note with a file through /graphql and
// returns its file's URL.
func (s *backupServer) createNoteWithFile(t *testing.T, title, content string) string {
	t.Helper()
	status, raw := postMultipart(t, s.base+"/graphql", "",
		`mutation($f: Upload, $t: String) { createNote(input: {title: $t, doc: $f}) { id doc { url } } }`,
		map[string]any{"f": nil, "t": title}, "f", "report.txt", []byte(content))
	var created struct {
		Data struct {
			CreateNote struct{ Doc struct{ URL string } }
		}
	}
	if err := json.Unmarshal(raw, &created); err != nil || created.Data.CreateNote.Doc.URL == "" {
		t.Fatalf("upload: %d %s", status, raw)
	}
	return s.base + created.Data.CreateNote.Doc.URL
}

func TestBackupsOnS3(t *testing.T) {
	srv, err := s3test.Start("backups", "files")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	bset := srv.Settings("backups")
	s := newBackupServer(t)
	fileURL := s.createNoteWithFile(t, "local file", "stored on the local disk")
	mustGQL(t, s.base+"/graphql/admin", s.admin, `mutation($s3: S3SettingsInput) { updateSettings(input: {backups: {s3: $s3}}) { backups { s3 { enabled } } } }`,
		map[string]any{"s3": s3SettingsInput(bset)})
	if d := mustGQL(t, s.base+"/graphql/admin", s.admin, `mutation { testS3(target: BACKUPS) }`, nil); d["testS3"] != true {
		t.Fatalf("testS3 = %v", d)
	}

	d := mustGQL(t, s.base+"/graphql/admin", s.admin, `mutation { createBackup(name: "s3.zip") { name size } }`, nil)
	created := d["createBackup"].(map[string]any)
	inBucket := bucketObject(t, bset, "s3.zip")
	t.Run("createBackup uploads to the bucket, with the local files in the zip", func(t *testing.T) {
		if inBucket == nil || created["size"].(float64) != float64(len(inBucket)) {
			t.Fatalf("createBackup = %v, bucket object %d bytes", created, len(inBucket))
		}
		if _, err := os.Stat(filepath.Join(s.dir, backup.DirName, "s3.zip")); err == nil {
			t.Fatal("the backup is also in mb_data/backups")
		}
		zr, err := zip.NewReader(bytes.NewReader(inBucket), int64(len(inBucket)))
		if err != nil {
			t.Fatal(err)
		}
		storage := 0
		for _, f := range zr.File {
			if strings.HasPrefix(f.Name, "storage/") {
				storage++
			}
		}
		if storage != 1 {
			t.Fatalf("%d storage entries, want the one local file", storage)
		}
	})
	t.Run("backups lists the bucket", func(t *testing.T) {
		d := mustGQL(t, s.base+"/graphql/admin", s.admin, `{ backups { name size } }`, nil)
		list := d["backups"].([]any)
		if len(list) != 1 || list[0].(map[string]any)["name"] != "s3.zip" {
			t.Fatalf("backups = %v", list)
		}
	})
	token := mustGQL(t, s.base+"/graphql/admin", s.admin, `mutation { fileToken }`, nil)["fileToken"].(string)
	url := s.base + "/backups/s3.zip?token=" + token
	t.Run("GET /backups/{name} streams it from the bucket, with ranges", func(t *testing.T) {
		res, body := httpGet(t, url)
		if res.StatusCode != 200 || !bytes.Equal(body, inBucket) || res.Header.Get("Content-Type") != "application/zip" {
			t.Fatalf("GET: %d, %d bytes of %d", res.StatusCode, len(body), len(inBucket))
		}
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Range", "bytes=100-199")
		rres, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		part, _ := io.ReadAll(rres.Body)
		rres.Body.Close()
		if rres.StatusCode != http.StatusPartialContent || !bytes.Equal(part, inBucket[100:200]) ||
			!strings.HasPrefix(rres.Header.Get("Content-Range"), "bytes 100-199/") {
			t.Fatalf("ranged GET: %d %q, %d bytes", rres.StatusCode, rres.Header.Get("Content-Range"), len(part))
		}
		if res, _ := httpGet(t, s.base+"/backups/nope.zip?token="+token); res.StatusCode != 404 {
			t.Fatalf("GET an unknown backup: %d", res.StatusCode)
		}
	})
	t.Run("uploadBackup puts it in the bucket", func(t *testing.T) {
		status, raw := postMultipart(t, s.base+"/graphql/admin", s.admin, `mutation($f: Upload!) { uploadBackup(file: $f) { name } }`,
			map[string]any{"f": nil}, "f", "up.zip", inBucket)
		if status != 200 || !bytes.Contains(raw, []byte(`"up.zip"`)) {
			t.Fatalf("upload: %d %s", status, raw)
		}
		if !bytes.Equal(bucketObject(t, bset, "up.zip"), inBucket) {
			t.Fatal("up.zip is not in the bucket")
		}
	})
	t.Run("restoreBackup restores from the bucket", func(t *testing.T) {
		mustGQL(t, s.base+"/graphql", "", `mutation { createNote(input: {title: "after"}) { id } }`, nil)
		mustGQL(t, s.base+"/graphql/admin", s.admin, `mutation { restoreBackup(name: "up.zip") }`, nil)
		if got := s.titles(t); len(got) != 1 || !got["local file"] {
			t.Fatalf("titles = %v", got)
		}
		if res, body := httpGet(t, fileURL); res.StatusCode != 200 || string(body) != "stored on the local disk" {
			t.Fatalf("file: %d %q", res.StatusCode, body)
		}
	})
	t.Run("deleteBackup deletes the object", func(t *testing.T) {
		mustGQL(t, s.base+"/graphql/admin", s.admin, `mutation { deleteBackup(name: "up.zip") }`, nil)
		if bucketObject(t, bset, "up.zip") != nil {
			t.Fatal("up.zip is still in the bucket")
		}
	})

	t.Run("with the files on S3 a backup holds the databases only, and its restore leaves the files", func(t *testing.T) {
		mustGQL(t, s.base+"/graphql/admin", s.admin, `mutation($s3: S3SettingsInput) { updateSettings(input: {s3: $s3}) { s3 { enabled } } }`,
			map[string]any{"s3": s3SettingsInput(srv.Settings("files"))})
		bucketFileURL := s.createNoteWithFile(t, "bucket file", "stored in the bucket")
		mustGQL(t, s.base+"/graphql/admin", s.admin, `mutation { createBackup(name: "dbonly.zip") { name } }`, nil)
		raw := bucketObject(t, bset, "dbonly.zip")
		zr, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range zr.File {
			if strings.HasPrefix(f.Name, "storage") {
				t.Fatalf("entry %q in a backup made with the files on S3", f.Name)
			}
		}
		if !strings.HasPrefix(zr.Comment, backup.DBOnlyMarker) {
			t.Fatalf("comment %q", zr.Comment)
		}
		mustGQL(t, s.base+"/graphql", "", `mutation { createNote(input: {title: "later"}) { id } }`, nil)
		mustGQL(t, s.base+"/graphql/admin", s.admin, `mutation { restoreBackup(name: "dbonly.zip") }`, nil)
		if got := s.titles(t); len(got) != 2 || !got["bucket file"] || got["later"] {
			t.Fatalf("titles = %v", got)
		}
		if res, body := httpGet(t, bucketFileURL); res.StatusCode != 200 || string(body) != "stored in the bucket" {
			t.Fatalf("bucket file after the restore: %d %q", res.StatusCode, body)
		}
		// The file stored before the switch stays in mb_data/storage.
		var local []string
		_ = filepath.WalkDir(filepath.Join(s.dir, backup.StorageDir), func(p string, e fs.DirEntry, err error) error {
			if err == nil && e.Type().IsRegular() && !strings.Contains(p, "/.tmp/") {
				local = append(local, filepath.Base(p))
			}
			return nil
		})
		if len(local) != 1 || !strings.HasPrefix(local[0], "report") {
			t.Fatalf("local storage after the restore: %v", local)
		}
	})
}
