package dynschema

import (
	"slices"
	"testing"

	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/internal/filestest"
	"github.com/monobase/monobase/internal/s3test"
)

// onBackends runs fn on an env whose files are on the local disk, then on
// one whose files are in a bucket of a real S3 protocol server.
func onBackends(t *testing.T, fn func(t *testing.T, en *env)) {
	for _, kind := range []string{"local", "s3"} {
		t.Run(kind, func(t *testing.T) {
			en := newEnv(t)
			if kind == "s3" {
				srv, err := s3test.Start("files")
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { srv.Close() })
				if err := en.store.ApplyS3(srv.Settings("files")); err != nil {
					t.Fatal(err)
				}
			}
			fn(t, en)
		})
	}
}

// storedKeys lists the keys on the store's current backend.
func storedKeys(t testing.TB, en *env) []string { return filestest.Keys(t, en.store.Backend()) }

// namedKeys returns the key of every file the records name.
func namedKeys(t testing.TB, en *env) []string { return filestest.NamedKeys(t, en.d) }

// storageMatchesRecords fails unless the backend holds exactly the files
// the records name; want is how many that must be.
func storageMatchesRecords(t testing.TB, en *env, want int) {
	t.Helper()
	stored, named := storedKeys(t, en), namedKeys(t, en)
	if !slices.Equal(stored, named) {
		t.Fatalf("stored %v\nnamed  %v", stored, named)
	}
	if len(named) != want {
		t.Fatalf("%d files named, want %d: %v", len(named), want, named)
	}
}

func txtPart(key, name string) filePart {
	return filePart{key, name, "text/plain", []byte("content of " + name)}
}

func TestNothingOrphaned(t *testing.T) {
	onBackends(t, func(t *testing.T, en *env) {
		albums := en.create(&db.Collection{Name: "albums", Type: db.TypeBase, Fields: []*db.Field{
			{Name: "title", Type: db.FieldText},
			{Name: "cover", Type: db.FieldFile, MaxSelect: 1},
		}, Indexes: []string{"CREATE UNIQUE INDEX idx_albums_title ON albums (title)"}})
		en.create(&db.Collection{Name: "photos", Type: db.TypeBase,
			CreateRule: sp(`@request.body.caption != "deny"`), UpdateRule: sp(""), DeleteRule: sp(""), ListRule: sp(""), ViewRule: sp(""),
			Fields: []*db.Field{
				{Name: "caption", Type: db.FieldText},
				{Name: "album", Type: db.FieldRelation, Collection: albums.ID, MaxSelect: 1, CascadeDelete: true},
				{Name: "images", Type: db.FieldFile, MaxSelect: 5},
			}})
		photos, _ := en.d.Collection("photos")
		en.create(&db.Collection{Name: "comments", Type: db.TypeBase, Fields: []*db.Field{
			{Name: "photo", Type: db.FieldRelation, Collection: photos.ID, MaxSelect: 1, CascadeDelete: true},
			{Name: "attachment", Type: db.FieldFile, MaxSelect: 1},
		}})
		url := en.srv.URL
		createAlbum := func(title string) string {
			var out struct{ CreateAlbum struct{ ID string } }
			postMultipart(t, en, url, `mutation($f: Upload, $t: String) { createAlbum(input: {title: $t, cover: $f}) { id } }`,
				map[string]any{"f": nil, "t": title}, map[string][]string{"0": {"variables.f"}}, txtPart("0", title+".txt")).ok(t).decode(t, &out)
			return out.CreateAlbum.ID
		}
		createPhoto := func(album, caption string) (*gqlResp, string) {
			r := postMultipart(t, en, url, `mutation($f: [Upload!], $a: ID, $c: String) { createPhoto(input: {album: $a, caption: $c, images: $f}) { id } }`,
				map[string]any{"f": []any{nil, nil}, "a": album, "c": caption}, map[string][]string{"0": {"variables.f.0"}, "1": {"variables.f.1"}},
				txtPart("0", caption+"-1.txt"), txtPart("1", caption+"-2.txt"))
			var out struct{ CreatePhoto *struct{ ID string } }
			if len(r.Errors) == 0 {
				r.decode(t, &out)
				return r, out.CreatePhoto.ID
			}
			return r, ""
		}
		createComment := func(photo string) {
			postMultipart(t, en, url, `mutation($f: Upload, $p: ID) { createComment(input: {photo: $p, attachment: $f}) { id } }`,
				map[string]any{"f": nil, "p": photo}, map[string][]string{"0": {"variables.f"}}, txtPart("0", "comment.txt")).ok(t)
		}

		a1 := createAlbum("one")
		_, p1 := createPhoto(a1, "first")
		createComment(p1)
		createComment(p1)
		_, p2 := createPhoto(a1, "second")
		createComment(p2)
		a2 := createAlbum("two")
		_, p3 := createPhoto(a2, "third")
		storageMatchesRecords(t, en, 2+3*2+3)

		t.Run("failed mutations leave no file", func(t *testing.T) {
			if r, _ := createPhoto(a2, "deny"); r.code() != "FORBIDDEN" {
				t.Fatalf("denied create: %s", r)
			}
			if r := postMultipart(t, en, url, `mutation($f: Upload) { createAlbum(input: {title: "one", cover: $f}) { id } }`,
				map[string]any{"f": nil}, map[string][]string{"0": {"variables.f"}}, txtPart("0", "dup.txt")); len(r.Errors) == 0 {
				t.Fatalf("duplicate title: %s", r)
			}
			// The first root field succeeds, the second fails: both roll back.
			r := postMultipart(t, en, url, `mutation($f: Upload, $g: [Upload!]) {
				a: createAlbum(input: {title: "three", cover: $f}) { id }
				b: createPhoto(input: {caption: "deny", images: $g}) { id } }`,
				map[string]any{"f": nil, "g": []any{nil}}, map[string][]string{"0": {"variables.f"}, "1": {"variables.g.0"}},
				txtPart("0", "three.txt"), txtPart("1", "never.txt"))
			if r.code() != "FORBIDDEN" || string(r.Data) != "null" {
				t.Fatalf("two root fields: %s", r)
			}
			storageMatchesRecords(t, en, 11)
		})
		t.Run("a replaced file is deleted after the commit", func(t *testing.T) {
			postMultipart(t, en, url, `mutation($id: ID!, $f: Upload) { updateAlbum(id: $id, input: {cover: $f}) { id } }`,
				map[string]any{"id": a2, "f": nil}, map[string][]string{"0": {"variables.f"}}, txtPart("0", "new-cover.txt")).ok(t)
			storageMatchesRecords(t, en, 11)
		})
		t.Run("a removed file is deleted after the commit", func(t *testing.T) {
			var names struct {
				Photo struct{ Images []struct{ Name string } }
			}
			en.gql("", `query($id: ID!) { photo(id: $id) { images { name } } }`, map[string]any{"id": p3}).ok(t).decode(t, &names)
			if len(names.Photo.Images) != 2 {
				t.Fatalf("photo images: %+v", names)
			}
			en.gql("", `mutation($id: ID!, $n: [String!]) { updatePhoto(id: $id, input: {imagesRemove: $n}) { id } }`,
				map[string]any{"id": p3, "n": []string{names.Photo.Images[0].Name}}).ok(t)
			storageMatchesRecords(t, en, 10)
		})
		t.Run("a deleted record's files are deleted after the commit", func(t *testing.T) {
			en.gql("", `mutation($id: ID!) { deletePhoto(id: $id) { id } }`, map[string]any{"id": p3}).ok(t)
			storageMatchesRecords(t, en, 9)
		})
		t.Run("a cascade delete deletes the files of every record it deletes", func(t *testing.T) {
			// Album one, its two photos and their three comments: 1+4+3 files.
			en.gql("", `mutation($id: ID!) { deleteAlbum(id: $id) { id } }`, map[string]any{"id": a1}).ok(t)
			storageMatchesRecords(t, en, 1)
		})
		t.Run("a delete that fails keeps every file", func(t *testing.T) {
			_, p4 := createPhoto(a2, "fourth")
			createComment(p4)
			// The second root field fails: the cascade of the first rolls back.
			r := en.gql("", `mutation($a: ID!) { a: deleteAlbum(id: $a) { id } b: deletePhoto(id: "nonexistent0000") { id } }`,
				map[string]any{"a": a2})
			if r.code() != "NOT_FOUND" {
				t.Fatalf("got %s", r)
			}
			storageMatchesRecords(t, en, 1+2+1)
		})
	})
}

// TestKeptFirstFactorDropsLaterUploads: a sign-in whose first factor is
// committed although the mutation fails (MFA_REQUIRED after an OTP that
// verified the email) must not keep the files stored for the root fields
// after it, which never ran.
func TestKeptFirstFactorDropsLaterUploads(t *testing.T) {
	me, _ := newOtpEnv(t, mfaOn(""))
	me.user("ann@example.com")
	me.create(&db.Collection{Name: "docs", Type: db.TypeBase, Fields: []*db.Field{
		{Name: "file", Type: db.FieldFile, MaxSelect: 1},
	}})
	otpID := me.requestOtp("ann@example.com")
	r := postMultipart(t, me.env, me.srv.URL, `mutation($o: String!, $p: String!, $f: Upload) {
		a: userAuthWithOtp(otpId: $o, password: $p) { token }
		b: createDoc(input: {file: $f}) { id } }`,
		map[string]any{"o": otpID, "p": me.otpFrom("ann@example.com"), "f": nil}, map[string][]string{"0": {"variables.f"}},
		txtPart("0", "later.txt"))
	if r.code() != "MFA_REQUIRED" {
		t.Fatalf("got %s", r)
	}
	if v, _ := me.record("ann@example.com")["verified"].(bool); !v {
		t.Fatal("the first factor was not committed: the case does not hold")
	}
	storageMatchesRecords(t, me.env, 0)
}
