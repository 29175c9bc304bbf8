package files

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/monobase/monobase/internal/dbtest"
	"image"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/auth"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/internal/s3test/s3server"
)

// fileTokens accepts the auth service's record tokens as file tokens.
type fileTokens struct{ svc *auth.Service }

func (f fileTokens) AuthenticateFileToken(ctx context.Context, token string) (context.Context, error) {
	return f.svc.Authenticate(ctx, token)
}

func ptr(s string) *string { return &s }

// fixture is a database with two collections and their files:
// posts (viewRule "") with a cover image (listed thumbs), attachments and
// a protected file; notes (viewRule owner = @request.auth.id) with a
// document and a hidden file.
type fixture struct {
	d                   *db.DB
	store               *Store
	s3                  *s3server.Server // the bucket's server on S3, else nil
	svc                 *auth.Service
	posts, notes        *db.Collection
	postID, noteID      string
	cover, attachment   string
	secret, doc, hidden string
	unlisted            string
	coverBytes          []byte
	ownerToken          string
	otherToken          string
	superToken          string
}

func newFixture(t testing.TB, kind string) *fixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	d, err := dbtest.Open(t, ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	svc, err := auth.New(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	store, srv := newTestStore(t, kind, Limits{})
	fx := &fixture{d: d, store: store, s3: srv, svc: svc,
		postID: "post00000000001", noteID: "note00000000001"}

	fx.posts, err = d.CreateCollection(ctx, &db.Collection{
		Name: "posts", Type: db.TypeBase, ListRule: ptr(""), ViewRule: ptr(""),
		Fields: []*db.Field{
			{Name: "title", Type: db.FieldText},
			{Name: "cover", Type: db.FieldFile, MaxSelect: 1,
				Thumbs: []string{"50x25", "40x40t", "40x40b", "40x40f", "0x30", "30x0", "300x200"}},
			{Name: "attachments", Type: db.FieldFile, MaxSelect: 5},
			{Name: "secret", Type: db.FieldFile, MaxSelect: 1, Protected: true},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	fx.notes, err = d.CreateCollection(ctx, &db.Collection{
		Name: "notes", Type: db.TypeBase, ListRule: ptr("owner = @request.auth.id"), ViewRule: ptr("owner = @request.auth.id"),
		Fields: []*db.Field{
			{Name: "owner", Type: db.FieldText},
			{Name: "doc", Type: db.FieldFile, MaxSelect: 1},
			{Name: "internal", Type: db.FieldFile, MaxSelect: 1, Hidden: true},
		},
	})
	if err != nil {
		t.Fatal(err)
	}

	save := func(c *db.Collection, id, name string, content []byte) string {
		n, err := fx.store.Save(ctx, c.ID, id, upload(name, content))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	fx.coverBytes = encodePNG(t, halves(200, 100, red, blue, false))
	fx.cover = save(fx.posts, fx.postID, "cover.png", fx.coverBytes)
	fx.attachment = save(fx.posts, fx.postID, "notes.txt", []byte("plain attachment"))
	fx.secret = save(fx.posts, fx.postID, "secret.txt", []byte("top secret"))
	fx.unlisted = save(fx.posts, fx.postID, "stray.txt", []byte("on disk, not on the record"))
	fx.doc = save(fx.notes, fx.noteID, "doc.pdf", []byte("%PDF-1.4 a tiny pdf"))
	fx.hidden = save(fx.notes, fx.noteID, "hidden.txt", []byte("hidden field"))

	users, err := d.Collection("users")
	if err != nil {
		t.Fatal(err)
	}
	tx, err := d.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	newUser := func(email string) db.Record {
		rec, err := tx.Insert(users, db.RecordInput{"email": email, "password": "password123", "passwordConfirm": "password123"})
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	owner, other := newUser("owner@example.com"), newUser("other@example.com")
	if _, err := tx.Insert(fx.posts, db.RecordInput{"id": fx.postID, "title": "hello", "cover": fx.cover,
		"attachments": []string{fx.attachment}, "secret": fx.secret}); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Insert(fx.notes, db.RecordInput{"id": fx.noteID, "owner": owner.ID(), "doc": fx.doc,
		"internal": fx.hidden}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := d.UpsertSuperuser(ctx, "root@example.com", "password123"); err != nil {
		t.Fatal(err)
	}
	supers, err := d.Collection(db.SuperusersCollection)
	if err != nil {
		t.Fatal(err)
	}
	root, err := d.FindAuthRecord(ctx, supers, "root@example.com")
	if err != nil {
		t.Fatal(err)
	}
	// Re-read the users: tokens are signed with the stored record.
	for _, u := range []struct {
		rec db.Record
		dst *string
	}{{owner, &fx.ownerToken}, {other, &fx.otherToken}} {
		recs, err := d.FindByIDs(ctx, users, []string{u.rec.ID()})
		if err != nil || len(recs) != 1 {
			t.Fatalf("reload user: %v", err)
		}
		if *u.dst, err = svc.IssueToken(users, recs[0]); err != nil {
			t.Fatal(err)
		}
	}
	if fx.superToken, err = svc.IssueToken(supers, root); err != nil {
		t.Fatal(err)
	}
	return fx
}

// attach saves content as a new file of the post's attachments and
// returns its name.
func (fx *fixture) attach(t testing.TB, filename string, content []byte) string {
	t.Helper()
	ctx := context.Background()
	name, err := fx.store.Save(ctx, fx.posts.ID, fx.postID, upload(filename, content))
	if err != nil {
		t.Fatal(err)
	}
	tx, err := fx.d.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Update(fx.posts, fx.postID, db.RecordPatch{Append: map[string][]string{"attachments": {name}}}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return name
}

// closeViews makes the view rule of posts nil (superusers only).
func (fx *fixture) closeViews(t testing.TB) {
	t.Helper()
	p := *fx.posts
	p.ViewRule = nil
	posts, err := fx.d.UpdateCollection(context.Background(), p.ID, &p)
	if err != nil {
		t.Fatalf("close the view rule of posts: %v", err)
	}
	fx.posts = posts
}

// server serves the handler as cmd/monobase does: behind the auth
// middleware, mounted at /files/ on a ServeMux.
func (fx *fixture) server(t testing.TB) *httptest.Server {
	mux := http.NewServeMux()
	mux.Handle("/files/", Handler(fx.store, fx.d, fileTokens{fx.svc}))
	srv := httptest.NewServer(fx.svc.Middleware(mux))
	t.Cleanup(srv.Close)
	return srv
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func get(t testing.TB, srv *httptest.Server, path string, header ...string) response {
	t.Helper()
	return do(t, http.MethodGet, srv.URL+path, header...)
}

func do(t testing.TB, method, url string, header ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultTransport.RoundTrip(req) // no redirects followed
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{res.StatusCode, res.Header, body}
}

func (fx *fixture) postURL(name string) string {
	return fx.store.URL(fx.posts, fx.postID, name, "", false)
}

func (fx *fixture) noteURL(name string) string {
	return fx.store.URL(fx.notes, fx.noteID, name, "", false)
}

func assertNotFound(t testing.TB, r response) {
	t.Helper()
	if r.status != http.StatusNotFound {
		t.Fatalf("status = %d (%s), want 404", r.status, r.body)
	}
	var body struct {
		Errors []struct {
			Extensions struct{ Code string } `json:"extensions"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil || len(body.Errors) != 1 || body.Errors[0].Extensions.Code != string(apperr.NotFound) {
		t.Fatalf("body = %s, want a NOT_FOUND error", r.body)
	}
}

func TestHandlerServesFiles(t *testing.T) {
	forEachBackend(t, func(t *testing.T, kind string) {
		fx := newFixture(t, kind)
		srv := fx.server(t)

		t.Run("an image is served inline with safe headers", func(t *testing.T) {
			r := get(t, srv, fx.postURL(fx.cover))
			if r.status != 200 || !bytes.Equal(r.body, fx.coverBytes) {
				t.Fatalf("status %d, %d bytes", r.status, len(r.body))
			}
			want := map[string]string{
				"Content-Type":           "image/png",
				"Content-Disposition":    "inline; filename=" + fx.cover,
				"X-Content-Type-Options": "nosniff",
				"Cache-Control":          "public, max-age=2592000, stale-while-revalidate=86400",
			}
			for k, v := range want {
				if got := r.header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if !strings.HasPrefix(r.header.Get("Content-Security-Policy"), "default-src 'none'") ||
				!strings.Contains(r.header.Get("Content-Security-Policy"), "sandbox") {
				t.Errorf("CSP = %q", r.header.Get("Content-Security-Policy"))
			}
			if r.header.Get("ETag") == "" || r.header.Get("Last-Modified") == "" {
				t.Errorf("ETag %q, Last-Modified %q", r.header.Get("ETag"), r.header.Get("Last-Modified"))
			}
		})
		t.Run("the collection may be named by id", func(t *testing.T) {
			r := get(t, srv, "/files/"+fx.posts.ID+"/"+fx.postID+"/"+fx.cover)
			if r.status != 200 || !bytes.Equal(r.body, fx.coverBytes) {
				t.Fatalf("status %d", r.status)
			}
		})
		t.Run("download=1 makes an attachment", func(t *testing.T) {
			r := get(t, srv, fx.store.URL(fx.posts, fx.postID, fx.cover, "", true))
			if r.status != 200 || r.header.Get("Content-Disposition") != "attachment; filename="+fx.cover {
				t.Fatalf("status %d, Content-Disposition %q", r.status, r.header.Get("Content-Disposition"))
			}
		})
		t.Run("a file of a multiple field is served", func(t *testing.T) {
			r := get(t, srv, fx.postURL(fx.attachment))
			if r.status != 200 || string(r.body) != "plain attachment" || r.header.Get("Content-Type") != "text/plain; charset=utf-8" {
				t.Fatalf("status %d, type %q, body %q", r.status, r.header.Get("Content-Type"), r.body)
			}
		})
		t.Run("an ETag match is 304", func(t *testing.T) {
			first := get(t, srv, fx.postURL(fx.cover))
			r := get(t, srv, fx.postURL(fx.cover), "If-None-Match", first.header.Get("ETag"))
			if r.status != http.StatusNotModified {
				t.Fatalf("status %d", r.status)
			}
		})
		t.Run("a range is served partially", func(t *testing.T) {
			r := get(t, srv, fx.postURL(fx.cover), "Range", "bytes=1-3")
			if r.status != http.StatusPartialContent || !bytes.Equal(r.body, fx.coverBytes[1:4]) {
				t.Fatalf("status %d, body %q", r.status, r.body)
			}
		})
		t.Run("HEAD has the headers and no body", func(t *testing.T) {
			r := do(t, http.MethodHead, srv.URL+fx.postURL(fx.cover))
			if r.status != 200 || len(r.body) != 0 || r.header.Get("Content-Type") != "image/png" {
				t.Fatalf("status %d, %d bytes, type %q", r.status, len(r.body), r.header.Get("Content-Type"))
			}
		})
		t.Run("POST is refused", func(t *testing.T) {
			r := do(t, http.MethodPost, srv.URL+fx.postURL(fx.cover))
			if r.status != http.StatusMethodNotAllowed {
				t.Fatalf("status %d", r.status)
			}
		})
	})
}

func TestHandlerNotFound(t *testing.T) {
	forEachBackend(t, func(t *testing.T, kind string) {
		fx := newFixture(t, kind)
		srv := fx.server(t)
		// The handler alone too: ServeMux cleans some paths before we see them.
		bare := httptest.NewServer(Handler(fx.store, fx.d, fileTokens{fx.svc}))
		t.Cleanup(bare.Close)

		base := "/files/posts/" + fx.postID + "/"
		paths := []struct{ scenario, path string }{
			{"a file on disk that the record does not list", base + fx.unlisted},
			{"a missing file", base + "nope_1234567890.png"},
			{"a missing record", "/files/posts/missing00000001/" + fx.cover},
			{"a missing collection", "/files/nope/" + fx.postID + "/" + fx.cover},
			{"a file of another record", "/files/notes/" + fx.noteID + "/" + fx.cover},
			{"encoded dot-dot slashes", base + "..%2f..%2f..%2fdata.db"},
			{"encoded dot-dot in the record", "/files/posts/..%2f" + fx.postID + "/" + fx.cover},
			{"dot-dot as the record", "/files/posts/../" + fx.cover},
			{"an encoded absolute name", base + "%2Fetc%2Fpasswd"},
			{"an absolute name", base + "/etc/passwd"},
			{"an encoded backslash", base + "..%5C..%5Cdata.db"},
			{"a NUL byte", base + fx.cover + "%00.txt"},
			{"the thumbs folder", base + "thumbs_" + fx.cover},
			{"a thumbnail's name", base + "100x100_" + fx.cover},
			{"too few segments", "/files/posts/" + fx.postID},
			{"too many segments", base + fx.cover + "/x"},
			{"the storage root", "/files/"},
		}
		for _, p := range paths {
			t.Run(p.scenario, func(t *testing.T) {
				assertNotFound(t, get(t, bare, p.path))
				if r := get(t, srv, p.path); r.status == 200 {
					t.Fatalf("through the mux: status 200, body %q", r.body)
				}
			})
		}
		t.Run("a record the viewer cannot view", func(t *testing.T) {
			assertNotFound(t, get(t, srv, fx.noteURL(fx.doc)))
			assertNotFound(t, get(t, srv, fx.noteURL(fx.doc), "Authorization", "Bearer "+fx.otherToken))
		})
		t.Run("a view rule of superusers only", func(t *testing.T) {
			fx := newFixture(t, kind)
			fx.closeViews(t)
			deny := fx.server(t)
			assertNotFound(t, get(t, deny, fx.postURL(fx.cover)))
			assertNotFound(t, get(t, deny, fx.postURL(fx.cover), "Authorization", "Bearer "+fx.ownerToken))
			if r := get(t, deny, fx.postURL(fx.cover), "Authorization", "Bearer "+fx.superToken); r.status != 200 {
				t.Fatalf("superuser: status %d, body %q", r.status, r.body)
			}
		})
	})
}

func TestHandlerAccess(t *testing.T) {
	forEachBackend(t, func(t *testing.T, kind string) {
		fx := newFixture(t, kind)
		srv := fx.server(t)
		bearer := func(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

		t.Run("the owner sees a private note's file, privately cached", func(t *testing.T) {
			r := get(t, srv, fx.noteURL(fx.doc), bearer(fx.ownerToken)...)
			if r.status != 200 || !strings.HasPrefix(string(r.body), "%PDF") {
				t.Fatalf("status %d, body %q", r.status, r.body)
			}
			if r.header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(r.header.Get("Cache-Control"), "private") {
				t.Fatalf("type %q, cache %q", r.header.Get("Content-Type"), r.header.Get("Cache-Control"))
			}
		})
		t.Run("a file token works where headers cannot be sent", func(t *testing.T) {
			r := get(t, srv, fx.noteURL(fx.doc)+"?token="+fx.ownerToken)
			if r.status != 200 {
				t.Fatalf("status %d", r.status)
			}
		})
		t.Run("another user's file token does not", func(t *testing.T) {
			assertNotFound(t, get(t, srv, fx.noteURL(fx.doc)+"?token="+fx.otherToken))
		})
		t.Run("an invalid file token is 401 before anything is looked up", func(t *testing.T) {
			for _, path := range []string{fx.postURL(fx.cover), "/files/nope/x/y"} {
				r := get(t, srv, path+"?token=garbage")
				if r.status != http.StatusUnauthorized || !strings.Contains(string(r.body), "UNAUTHENTICATED") {
					t.Fatalf("%s: status %d, body %s", path, r.status, r.body)
				}
			}
		})
		t.Run("a protected file needs a file token", func(t *testing.T) {
			assertNotFound(t, get(t, srv, fx.postURL(fx.secret)))
			// Even a superuser's header is not enough: only ?token= counts.
			assertNotFound(t, get(t, srv, fx.postURL(fx.secret), bearer(fx.superToken)...))
			r := get(t, srv, fx.postURL(fx.secret)+"?token="+fx.otherToken)
			if r.status != 200 || string(r.body) != "top secret" {
				t.Fatalf("with token: status %d, body %q", r.status, r.body)
			}
			if !strings.HasPrefix(r.header.Get("Cache-Control"), "private") {
				t.Fatalf("Cache-Control = %q", r.header.Get("Cache-Control"))
			}
		})
		t.Run("a hidden field's file is for superusers only", func(t *testing.T) {
			assertNotFound(t, get(t, srv, fx.noteURL(fx.hidden), bearer(fx.ownerToken)...))
			r := get(t, srv, fx.noteURL(fx.hidden), bearer(fx.superToken)...)
			if r.status != 200 || string(r.body) != "hidden field" {
				t.Fatalf("superuser: status %d, body %q", r.status, r.body)
			}
		})
	})
}

func TestHandlerThumbs(t *testing.T) {
	forEachBackend(t, func(t *testing.T, kind string) {
		fx := newFixture(t, kind)
		srv := fx.server(t)
		thumbURL := func(size string) string { return fx.store.URL(fx.posts, fx.postID, fx.cover, size, false) }

		// The cover is 200x100.
		sizes := []struct {
			scenario, size string
			w, h           int
		}{
			{"the default size is always served", "100x100", 100, 100},
			{"a listed WxH", "50x25", 50, 25},
			{"a listed WxHt", "40x40t", 40, 40},
			{"a listed WxHb", "40x40b", 40, 40},
			{"a listed WxHf", "40x40f", 40, 20},
			{"a listed 0xH", "0x30", 60, 30},
			{"a listed Wx0", "30x0", 30, 15},
		}
		for _, tt := range sizes {
			t.Run(tt.scenario, func(t *testing.T) {
				r := get(t, srv, thumbURL(tt.size))
				if r.status != 200 {
					t.Fatalf("status %d", r.status)
				}
				img, _, err := image.Decode(bytes.NewReader(r.body))
				if err != nil {
					t.Fatal(err)
				}
				if b := img.Bounds(); b.Dx() != tt.w || b.Dy() != tt.h {
					t.Fatalf("thumb is %dx%d, want %dx%d", b.Dx(), b.Dy(), tt.w, tt.h)
				}
				if r.header.Get("Content-Type") != "image/png" ||
					r.header.Get("Content-Disposition") != "inline; filename="+tt.size+"_"+fx.cover {
					t.Fatalf("type %q, disposition %q", r.header.Get("Content-Type"), r.header.Get("Content-Disposition"))
				}
			})
		}
		t.Run("an unlisted size serves the original", func(t *testing.T) {
			for _, size := range []string{"77x77", "100x100z", "../x", "0x0"} {
				r := get(t, srv, thumbURL(size))
				if r.status != 200 || !bytes.Equal(r.body, fx.coverBytes) {
					t.Fatalf("%s: status %d, %d bytes", size, r.status, len(r.body))
				}
			}
			for _, k := range keysUnder(t, fx.store, fx.posts.ID+"/"+fx.postID+"/thumbs_"+fx.cover+"/") {
				if strings.Contains(k, "/77x77") {
					t.Fatalf("an unlisted thumbnail was made: %s", k)
				}
			}
		})
		t.Run("a thumb of a file that is not an image serves the original", func(t *testing.T) {
			r := get(t, srv, fx.store.URL(fx.posts, fx.postID, fx.attachment, "100x100", false))
			if r.status != 200 || string(r.body) != "plain attachment" {
				t.Fatalf("status %d, body %q", r.status, r.body)
			}
		})
		t.Run("a thumb is denied like its file", func(t *testing.T) {
			fx := newFixture(t, kind)
			fx.closeViews(t)
			deny := fx.server(t)
			assertNotFound(t, get(t, deny, fx.store.URL(fx.posts, fx.postID, fx.cover, "100x100", false), "Authorization", "Bearer "+fx.ownerToken))
		})
		t.Run("concurrent requests for a new thumb all get it whole", func(t *testing.T) {
			const n = 8
			var wg sync.WaitGroup
			bodies := make([][]byte, n)
			status := make([]int, n)
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					res, err := http.Get(srv.URL + thumbURL("300x200"))
					if err != nil {
						return
					}
					defer res.Body.Close()
					status[i] = res.StatusCode
					bodies[i], _ = io.ReadAll(res.Body)
				}(i)
			}
			wg.Wait()
			for i := 0; i < n; i++ {
				if status[i] != 200 || !bytes.Equal(bodies[i], bodies[0]) {
					t.Fatalf("request %d: status %d, %d bytes (first had %d)", i, status[i], len(bodies[i]), len(bodies[0]))
				}
			}
			img, _, err := image.Decode(bytes.NewReader(bodies[0]))
			if err != nil || img.Bounds().Dx() != 300 || img.Bounds().Dy() != 200 {
				t.Fatalf("decode: %v", err)
			}
		})
	})
}
