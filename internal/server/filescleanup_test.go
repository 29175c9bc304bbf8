package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/monobase/monobase/backup"
	"github.com/monobase/monobase/cron"
	"github.com/monobase/monobase/files"
	"github.com/monobase/monobase/internal/filestest"
	"github.com/monobase/monobase/internal/s3test"
	"github.com/monobase/monobase/ratelimit"
)

// postFiles sends a GraphQL multipart request: the upload variables at
// paths (as in the spec's map, "variables.f.0") each get one small text
// file. It returns the decoded answer, or the transport's error.
func postFiles(url, token, query string, vars map[string]any, paths ...string) (*gqlResponse, error) {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	ops, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	_ = w.WriteField("operations", string(ops))
	m := map[string][]string{}
	for i, p := range paths {
		m[fmt.Sprint(i)] = []string{p}
	}
	mj, _ := json.Marshal(m)
	_ = w.WriteField("map", string(mj))
	for i := range paths {
		part, _ := w.CreateFormFile(fmt.Sprint(i), fmt.Sprintf("file%d.txt", i))
		_, _ = fmt.Fprintf(part, "content of upload %d", i)
	}
	_ = w.Close()
	req, err := http.NewRequest(http.MethodPost, url, &body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	out := &gqlResponse{Status: res.StatusCode}
	if err := json.Unmarshal(raw, out); err != nil {
		return nil, fmt.Errorf("status %d, body not JSON: %s", res.StatusCode, raw)
	}
	return out, nil
}

// mustPostFiles is postFiles that fails the test on any error.
func mustPostFiles(t *testing.T, url, token, query string, vars map[string]any, paths ...string) map[string]any {
	t.Helper()
	r, err := postFiles(url, token, query, vars, paths...)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Errors) > 0 {
		t.Fatalf("upload: %+v", r.Errors)
	}
	return r.Data
}

// localKeys lists the keys stored under a data folder's storage (its
// temporary folder left out).
func localKeys(t *testing.T, dir string) []string {
	t.Helper()
	root := filepath.Join(dir, backup.StorageDir)
	var out []string
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if e.IsDir() && e.Name() == ".tmp" {
			return filepath.SkipDir
		}
		if !e.IsDir() {
			rel, _ := filepath.Rel(root, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// bucketKeys lists the keys of a bucket.
func bucketKeys(t *testing.T, set files.S3Settings) []string {
	t.Helper()
	b, err := files.NewS3(set)
	if err != nil {
		t.Fatal(err)
	}
	return filestest.Keys(t, b)
}

// useS3 points the server's file storage at bucket on srv through the
// admin API.
func useS3(t *testing.T, base, admin string, srv *s3test.Server, bucket string) {
	t.Helper()
	set := srv.Settings(bucket)
	mustGQL(t, base+"/graphql/admin", admin, `mutation($s: S3SettingsInput!) { updateSettings(input: {s3: $s}) { s3 { enabled } } }`,
		map[string]any{"s": map[string]any{"enabled": true, "bucket": set.Bucket, "region": set.Region, "endpoint": set.Endpoint,
			"accessKey": set.AccessKey, "secret": set.Secret, "forcePathStyle": true}})
}

// lastRun returns the status of job id on srv.
func lastRun(srv *ServeCommand, id string) cron.Status {
	for _, st := range srv.cron.List() {
		if st.ID == id {
			return st
		}
	}
	return cron.Status{}
}

func TestFilesCleanupJob(t *testing.T) {
	dir := t.TempDir()
	mustCLI(t, "--dir", dir, "superuser", "upsert", "admin@example.com", "admin-password")
	// Left by an earlier process: no record names it.
	leftover := "oldcollection00/rec000000000001/left_0123456789.txt"
	put := func(key string, age time.Duration) {
		t.Helper()
		p := filepath.Join(dir, backup.StorageDir, filepath.FromSlash(key))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		then := time.Now().Add(-age)
		if err := os.Chtimes(p, then, then); err != nil {
			t.Fatal(err)
		}
	}
	put(leftover, time.Minute)
	logs := &syncBuffer{}
	srv, _ := startServerWith(t, dir, func(c *ServeCommand) {
		c.RateLimits = &ratelimit.Settings{}
		c.Stderr = logs
	})
	s := &cronServer{srv: srv, dir: dir, admin: signIn(t, srv.URL(), "admin@example.com", "admin-password"), logs: logs}
	base := srv.URL()

	t.Run("at start-up it removes what was stored before and no record names", func(t *testing.T) {
		within(t, "the start-up run ends", func() bool { st := lastRun(srv, JobFilesCleanup); return !st.LastRun.IsZero() && !st.Running })
		if st := lastRun(srv, JobFilesCleanup); st.LastError != "" {
			t.Fatalf("start-up run failed: %s", st.LastError)
		}
		if keys := localKeys(t, dir); len(keys) != 0 {
			t.Fatalf("left after the start-up run: %v\n%s", keys, logs.String())
		}
		if !strings.Contains(logs.String(), "removed stored files that no record names") {
			t.Fatalf("no log line of the removal:\n%s", logs.String())
		}
	})
	t.Run("it is a system job, hourly", func(t *testing.T) {
		if c := s.crons(t)[JobFilesCleanup]; c == nil || c["expression"] != "45 * * * *" {
			t.Fatalf("crons[%s] = %v", JobFilesCleanup, c)
		}
	})
	t.Run("a run removes old files no record names and keeps named and recent ones", func(t *testing.T) {
		mustGQL(t, base+"/graphql/admin", s.admin, `mutation { createCollection(input: {name: "docs", listRule: "", viewRule: "", createRule: "",
			fields: [{name: "file", type: FILE, maxSelect: 1}]}) { id } }`, nil)
		data := mustPostFiles(t, base+"/graphql", "", `mutation($f: Upload) { createDoc(input: {file: $f}) { id file { name } } }`,
			map[string]any{"f": nil}, "variables.f")
		keys := localKeys(t, dir)
		if len(keys) != 1 {
			t.Fatalf("stored %v, want the one file", keys)
		}
		named := keys[0]
		put(named, 2*time.Hour) // old, but named
		c, _ := srv.db.Collection("docs")
		rec := data["createDoc"].(map[string]any)["id"].(string)
		oldStray, recentStray := c.ID+"/"+rec+"/stray_0123456789.txt", c.ID+"/gonerecord00001/stray_0123456789.txt"
		put(oldStray, 2*time.Hour)
		put(recentStray, time.Minute)
		if code := s.runCron(t, JobFilesCleanup); code != "" {
			t.Fatalf("runCron = %q", code)
		}
		if got, want := localKeys(t, dir), []string{named, recentStray}; !slices.Equal(got, sorted(want)) {
			t.Fatalf("left %v, want %v", got, sorted(want))
		}
	})
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// TestDeleteCollectionDeletesItsFiles deletes a collection through the
// admin API, on the local disk and in a bucket: its files go with it, the
// other collection's stay.
func TestDeleteCollectionDeletesItsFiles(t *testing.T) {
	for _, kind := range []string{"local", "s3"} {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			mustCLI(t, "--dir", dir, "superuser", "upsert", "admin@example.com", "admin-password")
			srv, _ := startServer(t, dir)
			base := srv.URL()
			admin := signIn(t, base, "admin@example.com", "admin-password")
			keys := func() []string { return localKeys(t, dir) }
			if kind == "s3" {
				s3, err := s3test.Start("files")
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s3.Close() })
				useS3(t, base, admin, s3, "files")
				keys = func() []string { return bucketKeys(t, s3.Settings("files")) }
			}
			ids := map[string]string{}
			for _, name := range []string{"albums", "photos"} {
				data := mustGQL(t, base+"/graphql/admin", admin, `mutation($n: String!) { createCollection(input: {name: $n, createRule: "",
					fields: [{name: "files", type: FILE, maxSelect: 3}]}) { id } }`, map[string]any{"n": name})
				ids[name] = data["createCollection"].(map[string]any)["id"].(string)
				single := strings.ToUpper(name[:1]) + name[1:len(name)-1]
				for range 2 {
					mustPostFiles(t, base+"/graphql", "", `mutation($f: [Upload!]) { create`+single+`(input: {files: $f}) { id } }`,
						map[string]any{"f": []any{nil, nil}}, "variables.f.0", "variables.f.1")
				}
			}
			if n := len(keys()); n != 8 {
				t.Fatalf("%d files stored, want 8", n)
			}
			mustGQL(t, base+"/graphql/admin", admin, `mutation { deleteCollection(idOrName: "albums") }`, nil)
			left := keys()
			if len(left) != 4 || slices.ContainsFunc(left, func(k string) bool { return !strings.HasPrefix(k, ids["photos"]+"/") }) {
				t.Fatalf("left %v, want the 4 files of %s only", left, ids["photos"])
			}
		})
	}
}
