package dynschema

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/files"
)

// filePart is one file of a multipart request.
type filePart struct {
	key, name, contentType string
	data                   []byte
}

// postMultipart sends a GraphQL multipart request to url: operations (query
// and vars), the map, then the parts.
func postMultipart(t testing.TB, en *env, url, query string, vars map[string]any, fileMap map[string][]string, parts ...filePart) *gqlResp {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	ops, _ := jsonMarshal(map[string]any{"query": query, "variables": vars})
	_ = w.WriteField("operations", string(ops))
	m, _ := jsonMarshal(fileMap)
	_ = w.WriteField("map", string(m))
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, p.key, p.name))
		h.Set("Content-Type", p.contentType)
		pw, _ := w.CreatePart(h)
		_, _ = pw.Write(p.data)
	}
	_ = w.Close()
	req, _ := http.NewRequest("POST", url+"/graphql", &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	return en.do(req)
}

// storedFiles lists the files under the store's root (the temporary folder
// included), relative to it, sorted.
func storedFiles(t testing.TB, root string) []string {
	t.Helper()
	var out []string
	_ = filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			rel, _ := filepath.Rel(root, p)
			out = append(out, rel)
		}
		return nil
	})
	sort.Strings(out)
	return out
}

func pngBytes(t testing.TB) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewNRGBA(image.Rect(0, 0, 4, 4))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestUploadChecks(t *testing.T) {
	en := newEnv(t)
	c := en.create(&db.Collection{Name: "docs", Type: db.TypeBase, Fields: []*db.Field{
		{Name: "title", Type: db.FieldText},
		{Name: "image", Type: db.FieldFile, MaxSelect: 1, MimeTypes: []string{"image/png"}},
		{Name: "any", Type: db.FieldFile, MaxSelect: 1},
		{Name: "big", Type: db.FieldFile, MaxSelect: 1, MaxSize: 10 << 20},
	}})
	send := func(field string, p filePart) *gqlResp {
		return postMultipart(t, en, en.srv.URL, `mutation($f: Upload) { createDoc(input: {title: "t", `+field+`: $f}) { id } }`,
			map[string]any{"f": nil}, map[string][]string{"0": {"variables.f"}}, p)
	}
	refused := func(t *testing.T, r *gqlResp, field, code string) {
		t.Helper()
		if r.code() != "BAD_USER_INPUT" || string(r.Data) != "null" {
			t.Fatalf("got %s", r)
		}
		fields, _ := r.Errors[0].Extensions["fields"].(map[string]any)
		fe, _ := fields[field].(map[string]any)
		if fe["code"] != code {
			t.Fatalf("fields %v, want %s: %s", fields, field, code)
		}
		if got := storedFiles(t, filepath.Join(en.store.Root(), c.ID)); len(got) != 0 {
			t.Fatalf("stored %v", got)
		}
	}
	t.Run("HTML declared as image/png is refused on its content", func(t *testing.T) {
		r := send("image", filePart{"0", "x.png", "image/png", []byte("<!DOCTYPE html><html><script>alert(1)</script></html>")})
		refused(t, r, "image", "invalid_mime_type")
	})
	t.Run("a file over the default maximum size is refused", func(t *testing.T) {
		r := send("any", filePart{"0", "big.bin", "application/octet-stream", make([]byte, files.DefaultMaxSize+1)})
		refused(t, r, "any", "file_too_large")
	})
	t.Run("a field's own maxSize replaces the default", func(t *testing.T) {
		send("big", filePart{"0", "big.bin", "application/octet-stream", make([]byte, files.DefaultMaxSize+1)}).ok(t)
	})
	t.Run("a PNG declared as octet-stream is accepted on its content", func(t *testing.T) {
		send("image", filePart{"0", "x.png", "application/octet-stream", pngBytes(t)}).ok(t)
	})
}

// gatedStore is the real file store whose Save, once armed, waits until
// the test lets it go (or a minute passes, then fails).
type gatedStore struct {
	*files.Store
	saving chan string       // receives the name of each upload being saved
	resume chan struct{}     // closed by the test
	seen   chan files.Upload // the uploads as Save received them
}

func (g *gatedStore) Save(ctx context.Context, collectionID, recordID string, up files.Upload) (string, error) {
	g.saving <- up.Filename
	select {
	case g.seen <- up:
	default:
	}
	select {
	case <-g.resume:
	case <-time.After(time.Minute):
		return "", errors.New("gatedStore: never resumed")
	}
	return g.Store.Save(ctx, collectionID, recordID, up)
}

// gatedEnv serves the schema of en (build its collections first) through an
// engine whose store is a gatedStore.
func gatedEnv(t *testing.T, en *env) (*gatedStore, string) {
	g := &gatedStore{Store: en.store, saving: make(chan string, 10), resume: make(chan struct{}), seen: make(chan files.Upload, 10)}
	e, err := New(en.ctx, Config{DB: en.d, Auth: en.auth, Files: g})
	if err != nil {
		t.Fatal(err)
	}
	hookUp(en.d, e, nil)
	srv := httptest.NewServer(e.Handler())
	t.Cleanup(srv.Close)
	return g, srv.URL
}

func TestUploadsOutsideTheWriteTransaction(t *testing.T) {
	en := newEnv(t)
	en.blog()
	g, url := gatedEnv(t, en)
	done := make(chan *gqlResp, 1)
	go func() {
		done <- postMultipart(t, en, url, `mutation($c: Upload) { createPost(input: {title: "with file", cover: $c}) { id cover { name } } }`,
			map[string]any{"c": nil}, map[string][]string{"0": {"variables.c"}}, filePart{"0", "a.txt", "text/plain", []byte("hello")})
	}()
	<-g.saving
	// The upload is being saved. If that held the write transaction, this
	// create would wait for it, and the upload waits for this create: the
	// gated store would give up after a minute and the test fail.
	en.gql("", `mutation { createTag(input: {name: "plain"}) { id } }`, nil).ok(t)
	close(g.resume)
	r := (<-done).ok(t)
	var out struct {
		CreatePost struct {
			ID    string
			Cover struct{ Name string }
		}
	}
	r.decode(t, &out)
	posts, _ := en.d.Collection("posts")
	if _, err := os.Stat(filepath.Join(en.store.Root(), posts.ID, out.CreatePost.ID, out.CreatePost.Cover.Name)); err != nil {
		t.Fatalf("the file was not stored: %v", err)
	}
}

func TestMultipartSpool(t *testing.T) {
	en := newEnv(t)
	en.create(&db.Collection{Name: "docs", Type: db.TypeBase, Fields: []*db.Field{
		{Name: "big", Type: db.FieldFile, MaxSelect: 2, MaxSize: 20 << 20},
	}})
	g, url := gatedEnv(t, en)
	close(g.resume)
	t.Run("a file over the memory budget is spooled into the store's temporary folder, then removed", func(t *testing.T) {
		big := bytes.Repeat([]byte("x"), 9<<20)
		r := postMultipart(t, en, url, `mutation($f: [Upload!]) { createDoc(input: {big: $f}) { id } }`,
			map[string]any{"f": []any{nil, nil}}, map[string][]string{"0": {"variables.f.0"}, "1": {"variables.f.1"}},
			filePart{"0", "small.txt", "text/plain", []byte("small")}, filePart{"1", "big.txt", "text/plain", big})
		r.ok(t)
		var spooled []string
		for range 2 {
			<-g.saving
			up := <-g.seen
			if f, ok := up.File.(*os.File); ok {
				spooled = append(spooled, f.Name())
				if filepath.Dir(f.Name()) != en.store.TempDir() {
					t.Errorf("spooled to %s, want %s", f.Name(), en.store.TempDir())
				}
			} else if up.Filename == "big.txt" {
				t.Errorf("the 9 MiB file was kept in memory (%T)", up.File)
			}
		}
		if len(spooled) != 1 {
			t.Fatalf("spooled %v, want the big file only", spooled)
		}
		if left, _ := os.ReadDir(en.store.TempDir()); len(left) != 0 {
			t.Fatalf("temporary folder holds %d files after the request", len(left))
		}
	})
	t.Run("a map path that does not fit the variables is a 422, not a panic", func(t *testing.T) {
		r := postMultipart(t, en, url, `mutation($f: [Upload!]) { createDoc(input: {big: $f}) { id } }`,
			map[string]any{"f": map[string]any{"a": nil}}, map[string][]string{"0": {"variables.f.0.x"}},
			filePart{"0", "a.txt", "text/plain", []byte("a")})
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Errors[0].Message, "invalid operations paths") {
			t.Fatalf("status %d: %s", r.Status, r)
		}
	})
}

func TestFailedWritesRemoveTheirUploads(t *testing.T) {
	en := newEnv(t)
	c := en.create(&db.Collection{Name: "notes", Type: db.TypeBase,
		CreateRule: sp(`@request.body.title != "deny"`), UpdateRule: sp(`@request.body.title != "deny"`),
		ListRule: sp(""), ViewRule: sp(""),
		Fields: []*db.Field{
			{Name: "title", Type: db.FieldText},
			{Name: "file", Type: db.FieldFile, MaxSelect: 1},
		},
		Indexes: []string{"CREATE UNIQUE INDEX idx_notes_title ON notes (title)"},
	})
	root := en.store.Root()
	create := func(title string) *gqlResp {
		return postMultipart(t, en, en.srv.URL, `mutation($f: Upload, $t: String) { createNote(input: {title: $t, file: $f}) { id file { name } } }`,
			map[string]any{"f": nil, "t": title}, map[string][]string{"0": {"variables.f"}}, filePart{"0", title + ".txt", "text/plain", []byte(title)})
	}
	update := func(id, title string) *gqlResp {
		return postMultipart(t, en, en.srv.URL, `mutation($id: ID!, $f: Upload, $t: String) { updateNote(id: $id, input: {title: $t, file: $f}) { id file { name } } }`,
			map[string]any{"f": nil, "t": title, "id": id}, map[string][]string{"0": {"variables.f"}}, filePart{"0", title + ".txt", "text/plain", []byte(title)})
	}
	var first struct {
		CreateNote struct {
			ID   string
			File struct{ Name string }
		}
	}
	create("one").ok(t).decode(t, &first)
	want := []string{filepath.Join(c.ID, first.CreateNote.ID, first.CreateNote.File.Name)}
	same := func(t *testing.T) {
		t.Helper()
		if got := storedFiles(t, root); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("stored %v, want %v", got, want)
		}
	}
	same(t)
	t.Run("a create refused by a unique index leaves no file", func(t *testing.T) {
		if r := create("one"); len(r.Errors) == 0 || string(r.Data) != "null" {
			t.Fatalf("got %s", r)
		}
		same(t)
	})
	t.Run("a create denied by its rule leaves no file and no record folder", func(t *testing.T) {
		if r := create("deny"); r.code() != "FORBIDDEN" {
			t.Fatalf("got %s", r)
		}
		same(t)
		if dirs, _ := os.ReadDir(filepath.Join(root, c.ID)); len(dirs) != 1 {
			t.Fatalf("%d record folders, want 1", len(dirs))
		}
	})
	t.Run("an update denied by its rule keeps the old file and drops the new", func(t *testing.T) {
		if r := update(first.CreateNote.ID, "deny"); r.code() != "FORBIDDEN" {
			t.Fatalf("got %s", r)
		}
		same(t)
	})
	t.Run("an update replacing the file deletes the old one after the commit", func(t *testing.T) {
		var out struct {
			UpdateNote struct{ File struct{ Name string } }
		}
		update(first.CreateNote.ID, "two").ok(t).decode(t, &out)
		want = []string{filepath.Join(c.ID, first.CreateNote.ID, out.UpdateNote.File.Name)}
		same(t)
	})
	t.Run("an update of a record the viewer cannot find leaves no file", func(t *testing.T) {
		if r := update("nonexistent0000", "three"); r.code() != "NOT_FOUND" {
			t.Fatalf("got %s", r)
		}
		same(t)
		if _, err := os.Stat(filepath.Join(root, c.ID, "nonexistent0000")); !os.IsNotExist(err) {
			t.Fatalf("record folder: %v", err)
		}
	})
}
