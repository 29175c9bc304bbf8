package backup_test

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/backup"
	"github.com/monobase/monobase/files"
	"github.com/monobase/monobase/internal/s3test"
)

// startS3 runs an S3 protocol server with the buckets, closed with t.
func startS3(t *testing.T, buckets ...string) *s3test.Server {
	t.Helper()
	srv, err := s3test.Start(buckets...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

// backupsOn stores settings.backups with set as its S3 target.
func (e *env) backupsOn(t *testing.T, set files.S3Settings) {
	t.Helper()
	s := backup.DefaultSettings()
	s.S3 = set
	if err := backup.SaveSettings(context.Background(), e.d, s); err != nil {
		t.Fatal(err)
	}
}

// objects returns the keys in the bucket of set with their bytes.
func objects(t *testing.T, set files.S3Settings) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	b, err := files.NewS3(set)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	var keys []string
	err = b.List(ctx, "", func(o files.ObjectInfo) error { keys = append(keys, o.Key); return nil })
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		o, err := b.Open(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		out[k], err = io.ReadAll(o)
		o.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// localZips lists the backups in the backups folder.
func localZips(t *testing.T, e *env) []string {
	t.Helper()
	entries, _ := os.ReadDir(e.svc.Dir())
	var out []string
	for _, en := range entries {
		if strings.HasSuffix(en.Name(), ".zip") {
			out = append(out, en.Name())
		}
	}
	return out
}

func listNames(t *testing.T, e *env) []string {
	t.Helper()
	list, err := e.svc.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, b := range list {
		out = append(out, b.Name)
	}
	return out
}

func zipBytesNames(t *testing.T, b []byte) (names []string, comment string) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	slices.Sort(names)
	return names, zr.Comment
}

func TestBackupsInBucket(t *testing.T) {
	ctx := context.Background()
	srv := startS3(t, "backups")
	set := srv.Settings("backups")
	e := newEnv(t)
	e.insert(t, "before")
	recID := e.insert(t, "with file")
	fileName, err := e.store.Save(ctx, e.notes.ID, recID, files.Upload{File: bytes.NewReader([]byte("hello")), Filename: "hello.txt", Size: 5})
	if err != nil {
		t.Fatal(err)
	}
	e.backupsOn(t, set)

	info, err := e.svc.Create(ctx, "first.zip")
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	var first []byte
	t.Run("createBackup uploads the zip to the bucket's root and keeps nothing locally", func(t *testing.T) {
		objs := objects(t, set)
		first = objs["first.zip"]
		if len(objs) != 1 || first == nil || int64(len(first)) != info.Size {
			t.Fatalf("bucket = %d objects, first.zip %d bytes; info %+v", len(objs), len(first), info)
		}
		names, comment := zipBytesNames(t, first)
		want := []string{dbEntry(), "storage/" + e.notes.ID + "/" + recID + "/" + fileName}
		if !slices.Equal(names, want) || comment != "" {
			t.Fatalf("entries = %v comment %q, want %v (the files are local: they are in it)", names, comment, want)
		}
		if got := localZips(t, e); len(got) != 0 {
			t.Fatalf("local backups: %v", got)
		}
		tmp, _ := os.ReadDir(filepath.Join(e.svc.Dir(), ".tmp"))
		if len(tmp) != 0 {
			t.Fatalf("left in .tmp: %v", tmp)
		}
	})
	t.Run("backups lists the bucket's zips", func(t *testing.T) {
		list, err := e.svc.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || list[0].Name != "first.zip" || list[0].Size != info.Size {
			t.Fatalf("List = %+v", list)
		}
	})
	t.Run("Open reads it with seeks", func(t *testing.T) {
		r, oi, err := e.svc.Open(ctx, "first.zip")
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if oi.Size != int64(len(first)) {
			t.Fatalf("size %d, want %d", oi.Size, len(first))
		}
		if _, err := r.Seek(10, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		part := make([]byte, 20)
		if _, err := io.ReadFull(r, part); err != nil || !bytes.Equal(part, first[10:30]) {
			t.Fatalf("bytes 10-29 = %q, %v", part, err)
		}
		if _, _, err := e.svc.Open(ctx, "nope.zip"); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("Open(nope.zip) = %v, want NOT_FOUND", err)
		}
	})
	t.Run("a taken name is refused", func(t *testing.T) {
		_, err := e.svc.Create(ctx, "first.zip")
		if ae := apperr.As(err); ae == nil || ae.Fields["name"].Code != "taken" {
			t.Fatalf("Create again = %v", err)
		}
		_, err = e.svc.Upload(ctx, "first.zip", bytes.NewReader(first))
		if ae := apperr.As(err); ae == nil || ae.Fields["file"].Code != "taken" {
			t.Fatalf("Upload of a taken name = %v", err)
		}
	})
	t.Run("uploadBackup puts a checked zip in the bucket, and refuses a bad one", func(t *testing.T) {
		up, err := e.svc.Upload(ctx, "Copy.zip", bytes.NewReader(first))
		if err != nil {
			t.Fatal(err)
		}
		if up.Name != "copy.zip" || !bytes.Equal(objects(t, set)["copy.zip"], first) {
			t.Fatalf("upload %+v; bucket has %d bytes", up, len(objects(t, set)["copy.zip"]))
		}
		if _, err := e.svc.Upload(ctx, "bad.zip", strings.NewReader("not a zip")); apperr.CodeOf(err) != apperr.Invalid {
			t.Fatalf("Upload(bad) = %v", err)
		}
		if _, ok := objects(t, set)["bad.zip"]; ok {
			t.Fatal("a refused upload is in the bucket")
		}
	})

	// Changes after the backup: a new record, the file removed.
	e.insert(t, "after")
	if err := e.store.Delete(ctx, e.notes.ID, recID, fileName); err != nil {
		t.Fatal(err)
	}
	t.Run("restoreBackup downloads it and restores records and files", func(t *testing.T) {
		if err := e.svc.Restore(ctx, "copy.zip"); err != nil {
			t.Fatalf("Restore: %v", err)
		}
		if got := e.titles(t); !slices.Equal(got, []string{"before", "with file"}) {
			t.Fatalf("titles = %v", got)
		}
		if got := e.storageFiles(t); !slices.Equal(got, []string{e.notes.ID + "/" + recID + "/" + fileName}) {
			t.Fatalf("storage = %v", got)
		}
		if got := localZips(t, e); len(got) != 0 {
			t.Fatalf("the download stayed: %v", got)
		}
		tmp, _ := os.ReadDir(filepath.Join(e.svc.Dir(), ".tmp"))
		if len(tmp) != 0 {
			t.Fatalf("left in .tmp: %v", tmp)
		}
	})
	t.Run("deleteBackup deletes the object", func(t *testing.T) {
		if err := e.svc.Delete(ctx, "copy.zip"); err != nil {
			t.Fatal(err)
		}
		if _, ok := objects(t, set)["copy.zip"]; ok {
			t.Fatal("copy.zip is still in the bucket")
		}
		if err := e.svc.Delete(ctx, "copy.zip"); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("second Delete = %v, want NOT_FOUND", err)
		}
	})
	t.Run("with backups.s3 off the backups are local again", func(t *testing.T) {
		off := set
		off.Enabled = false
		e.backupsOn(t, off)
		if _, err := e.svc.Create(ctx, "local.zip"); err != nil {
			t.Fatal(err)
		}
		if got := localZips(t, e); !slices.Equal(got, []string{"local.zip"}) {
			t.Fatalf("local backups = %v", got)
		}
		if got := listNames(t, e); !slices.Equal(got, []string{"local.zip"}) {
			t.Fatalf("List = %v, want the local one only", got)
		}
		if _, ok := objects(t, set)["local.zip"]; ok {
			t.Fatal("local.zip went to the bucket")
		}
	})
}

func TestAutoBackupsPrunedInBucket(t *testing.T) {
	ctx := context.Background()
	srv := startS3(t, "backups")
	set := srv.Settings("backups")
	e := newEnv(t)
	e.insert(t, "x")
	e.backupsOn(t, set)
	manual, err := e.svc.Create(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var made []string
	for range 4 {
		info, deleted, err := e.svc.CreateAuto(ctx, 2)
		if err != nil {
			t.Fatal(err)
		}
		made = append(made, info.Name)
		if len(made) > 2 && !slices.Equal(deleted, made[len(made)-3:len(made)-2]) {
			t.Errorf("run %d deleted %v, want %v", len(made), deleted, made[len(made)-3])
		}
	}
	var keys []string
	for k := range objects(t, set) {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{made[2], made[3], manual.Name}
	slices.Sort(want)
	if !slices.Equal(keys, want) {
		t.Fatalf("bucket = %v, want the two newest scheduled backups and the manual one %v", keys, want)
	}
	if got := localZips(t, e); len(got) != 0 {
		t.Fatalf("local backups: %v", got)
	}
}

func TestFilesInBucketMakeDatabaseOnlyBackups(t *testing.T) {
	ctx := context.Background()
	srv := startS3(t, "files")
	e := newEnv(t)
	// A file stored locally before the switch, then one in the bucket.
	recID := e.insert(t, "before")
	localName, err := e.store.Save(ctx, e.notes.ID, recID, files.Upload{File: bytes.NewReader([]byte("old")), Filename: "old.txt", Size: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.ApplyS3(srv.Settings("files")); err != nil {
		t.Fatal(err)
	}
	bucketName, err := e.store.Save(ctx, e.notes.ID, recID, files.Upload{File: bytes.NewReader([]byte("new")), Filename: "new.txt", Size: 3})
	if err != nil {
		t.Fatal(err)
	}

	if _, err := e.svc.Create(ctx, "dbonly.zip"); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(e.svc.Dir(), "dbonly.zip"))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("the zip holds the database only and says so", func(t *testing.T) {
		names, comment := zipBytesNames(t, raw)
		if !slices.Equal(names, []string{dbEntry()}) || !strings.HasPrefix(comment, backup.DBOnlyMarker) {
			t.Fatalf("entries %v, comment %q", names, comment)
		}
	})

	e.insert(t, "after")
	if err := e.store.Delete(ctx, e.notes.ID, recID, bucketName); err != nil {
		t.Fatal(err)
	}
	t.Run("its restore replaces the database and leaves the files alone", func(t *testing.T) {
		if err := e.svc.Restore(ctx, "dbonly.zip"); err != nil {
			t.Fatal(err)
		}
		if got := e.titles(t); !slices.Equal(got, []string{"before"}) {
			t.Fatalf("titles = %v", got)
		}
		if got := e.storageFiles(t); !slices.Equal(got, []string{e.notes.ID + "/" + recID + "/" + localName}) {
			t.Fatalf("local storage = %v, want the old file untouched", got)
		}
		objs := objects(t, srv.Settings("files"))
		if len(objs) != 0 {
			t.Fatalf("bucket = %v: a restore does not write to the files' bucket", objs)
		}
	})
	t.Run("the marker survives an upload, and a local-files backup still replaces the storage", func(t *testing.T) {
		if _, err := e.svc.Upload(ctx, "again.zip", bytes.NewReader(raw)); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.Restore(ctx, "again.zip"); err != nil {
			t.Fatal(err)
		}
		if got := e.storageFiles(t); len(got) != 1 {
			t.Fatalf("local storage = %v after a database-only restore", got)
		}
		// A backup with files: made with the files local again.
		e.store.SetBackend(nil)
		if _, err := e.svc.Create(ctx, "withfiles.zip"); err != nil {
			t.Fatal(err)
		}
		if err := e.store.Delete(ctx, e.notes.ID, recID, localName); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.Restore(ctx, "withfiles.zip"); err != nil {
			t.Fatal(err)
		}
		if got := e.storageFiles(t); !slices.Equal(got, []string{e.notes.ID + "/" + recID + "/" + localName}) {
			t.Fatalf("local storage = %v after restoring a backup with files", got)
		}
	})
}

func TestUnreachableBucketKeepsNothing(t *testing.T) {
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // a closed port
	set := files.S3Settings{Enabled: true, Bucket: "backups", Region: s3test.Region, Endpoint: "http://" + addr,
		AccessKey: s3test.AccessKey, Secret: s3test.Secret, ForcePathStyle: true}
	e := newEnv(t)
	e.insert(t, "x")
	e.backupsOn(t, set)
	if _, err := e.svc.Create(ctx, "x.zip"); err == nil {
		t.Fatal("Create succeeded with an unreachable bucket")
	}
	if _, err := e.svc.List(ctx); err == nil {
		t.Fatal("List succeeded with an unreachable bucket")
	}
	if got := localZips(t, e); len(got) != 0 {
		t.Fatalf("local backups: %v", got)
	}
	tmp, _ := os.ReadDir(filepath.Join(e.svc.Dir(), ".tmp"))
	if len(tmp) != 0 {
		t.Fatalf("left in .tmp: %v", tmp)
	}
}
