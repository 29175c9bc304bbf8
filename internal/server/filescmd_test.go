package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/monobase/monobase/files"
	"github.com/monobase/monobase/internal/s3test"
)

// serveOnce starts `monobase serve` on dir and returns it with its base
// URL and a superuser token; the caller closes it.
func serveOnce(t *testing.T, dir string) (*ServeCommand, string, string) {
	t.Helper()
	c := NewServeCommand(&syncBuffer{}, &syncBuffer{})
	c.Dir = dir
	c.HTTP = "127.0.0.1:0"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	withTestDB(t, c)
	if err := c.Run(ctx); err != nil {
		t.Fatalf("serve: %v", err)
	}
	return c, c.URL(), signIn(t, c.URL(), "admin@example.com", "admin-password")
}

// storedFiles lists the files under dir/storage (keys), .tmp excluded.
func storedFiles(t *testing.T, dir string) []string {
	t.Helper()
	var keys []string
	if err := files.NewDisk(filepath.Join(dir, "storage")).List(context.Background(), "", func(o files.ObjectInfo) error {
		keys = append(keys, o.Key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return keys
}

func TestFilesMigrateCommand(t *testing.T) {
	s3srv, err := s3test.Start("files")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s3srv.Close() })
	bucket, err := files.NewS3(s3srv.Settings("files"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	mustCLI(t, "--dir", dir, "superuser", "upsert", "admin@example.com", "admin-password")

	// Two files stored on the local disk.
	srv, base, admin := serveOnce(t, dir)
	mustGQL(t, base+"/graphql/admin", admin, `mutation { createCollection(input: {name: "notes",
		listRule: "", viewRule: "", createRule: "", updateRule: "", deleteRule: "",
		fields: [{name: "title", type: TEXT}, {name: "doc", type: FILE, maxSelect: 1}]}) { id } }`, nil)
	upload := func(base, title string, content []byte) string {
		t.Helper()
		status, body := postMultipart(t, base+"/graphql", "", `mutation($f: Upload!) { createNote(input: {title: "`+title+`", doc: $f}) { doc { url } } }`,
			map[string]any{"f": nil}, "f", title+".txt", content)
		if status != 200 || bytes.Contains(body, []byte(`"errors"`)) {
			t.Fatalf("upload %s: %d %s", title, status, body)
		}
		i := bytes.Index(body, []byte(`"url":"`))
		url := string(body[i+7:])
		return url[:strings.IndexByte(url, '"')]
	}
	want := map[string][]byte{}
	for i := range 2 {
		content := bytes.Repeat([]byte(fmt.Sprintf("file %d ", i)), 1000*(i+1))
		want[upload(base, fmt.Sprint("n", i), content)] = content
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if got := storedFiles(t, dir); len(got) != 2 {
		t.Fatalf("local files before the migration: %v", got)
	}

	// Without a complete settings.s3 nothing moves, and the message says why.
	_, _, err = runCLI(t, "--dir", dir, "files", "migrate", "--to", "s3")
	if err == nil || !strings.Contains(err.Error(), "settings.s3 must name a complete bucket") || !strings.Contains(err.Error(), "s3.bucket") {
		t.Fatalf("migrate without settings: %v", err)
	}
	if got := storedFiles(t, dir); len(got) != 2 {
		t.Fatalf("local files after a refused migration: %v", got)
	}

	// Bad command lines.
	for _, args := range [][]string{{"files"}, {"files", "copy"}, {"files", "migrate"}, {"files", "migrate", "--to", "ftp"}, {"files", "migrate", "--to", "s3", "--workers", "0"}} {
		if _, _, err := runCLI(t, append([]string{"--dir", dir}, args...)...); !errors.Is(err, errUsage) {
			t.Errorf("%v: err = %v, want a usage error", args, err)
		}
	}

	// The bucket saved but not enabled, as an operator does before migrating.
	set := s3srv.Settings("files")
	srv, base, admin = serveOnce(t, dir)
	mustGQL(t, base+"/graphql/admin", admin, `mutation($s: S3SettingsInput!) { updateSettings(input: {s3: $s}) { s3 { enabled } } }`,
		map[string]any{"s": map[string]any{"enabled": false, "bucket": set.Bucket, "region": set.Region, "endpoint": set.Endpoint,
			"accessKey": set.AccessKey, "secret": set.Secret, "forcePathStyle": true}})
	srv.Close()

	out := mustCLI(t, "--dir", dir, "files", "migrate", "--to", "s3", "--delete-source")
	for _, s := range []string{"from local", "to s3 bucket files", "done: 2 copied", "0 skipped", "0 failed", "2 deleted from the source", "settings.s3.enabled is true"} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
	if got := storedFiles(t, dir); len(got) != 0 {
		t.Errorf("local files left after --delete-source: %v", got)
	}
	if got := bucketKeys(t, s3srv.Settings("files")); len(got) != 2 {
		t.Fatalf("bucket after the migration: %v", got)
	}

	// The restarted server serves the files from the bucket (the disk has
	// none) and stores new ones there.
	srv, base, _ = serveOnce(t, dir)
	for url, content := range want {
		if res, body := httpGet(t, base+url); res.StatusCode != 200 || !bytes.Equal(body, content) {
			t.Errorf("GET %s from the bucket = %d, %d bytes", url, res.StatusCode, len(body))
		}
	}
	third := []byte("stored on s3")
	want[upload(base, "n2", third)] = third
	srv.Close()
	if got := bucketKeys(t, s3srv.Settings("files")); len(got) != 3 {
		t.Fatalf("bucket after an upload on s3: %v", got)
	}

	// Back to the disk, the bucket kept; a second run copies nothing.
	out = mustCLI(t, "--dir", dir, "files", "migrate", "--to", "local")
	if !strings.Contains(out, "done: 3 copied") || !strings.Contains(out, "settings.s3.enabled is false") {
		t.Errorf("migrate to local:\n%s", out)
	}
	out = mustCLI(t, "--dir", dir, "files", "migrate", "--to", "local")
	if !strings.Contains(out, "done: 0 copied (0.0 MiB), 3 skipped") {
		t.Errorf("second migrate to local:\n%s", out)
	}
	if got := bucketKeys(t, s3srv.Settings("files")); len(got) != 3 {
		t.Errorf("bucket after migrating without --delete-source: %v", got)
	}
	if err := bucket.DeletePrefix(context.Background(), strings.Split(bucketKeys(t, s3srv.Settings("files"))[0], "/")[0]+"/"); err != nil {
		t.Fatal(err)
	}
	srv, base, admin = serveOnce(t, dir)
	defer srv.Close()
	s3 := mustGQL(t, base+"/graphql/admin", admin, `{ settings { s3 { enabled bucket secretSet } } }`, nil)["settings"].(map[string]any)["s3"].(map[string]any)
	if s3["enabled"] != false || s3["bucket"] != "files" || s3["secretSet"] != true {
		t.Errorf("settings.s3 after the migration to local = %v", s3)
	}
	for url, content := range want {
		if res, body := httpGet(t, base+url); res.StatusCode != 200 || !bytes.Equal(body, content) {
			t.Errorf("GET %s from the disk = %d, %d bytes", url, res.StatusCode, len(body))
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "storage")); err != nil {
		t.Error(err)
	}
}
