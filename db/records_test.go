package db

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/monobase/monobase/apperr"
	"golang.org/x/crypto/bcrypt"
)

func TestRecordValidation(t *testing.T) {
	d := openTest(t)
	users, _ := d.Collection("users")
	u := mustInsert(t, d, users, RecordInput{"email": "u@example.com", "password": "password1", "passwordConfirm": "password1"})
	c := mustCreate(t, d, everyType("things", "users"))

	cases := []struct {
		name  string
		input RecordInput
		want  map[string]string // field -> error code
	}{
		{"required title missing", RecordInput{}, map[string]string{"title": "required"}},
		{"title blank", RecordInput{"title": "   "}, map[string]string{"title": "required"}},
		{"title too short", RecordInput{"title": "a"}, map[string]string{"title": "too_short"}},
		{"title too long", RecordInput{"title": strings.Repeat("a", 51)}, map[string]string{"title": "too_long"}},
		{"title pattern", RecordInput{"title": "abc1"}, map[string]string{"title": "pattern"}},
		{"title not a string", RecordInput{"title": 5}, map[string]string{"title": "invalid_type"}},
		{"editor too large", RecordInput{"title": "ok", "body": strings.Repeat("x", 1001)}, map[string]string{"body": "too_large"}},
		{"number below min", RecordInput{"title": "ok", "views": -1}, map[string]string{"views": "too_small"}},
		{"number not int", RecordInput{"title": "ok", "views": 1.5}, map[string]string{"views": "not_int"}},
		{"number as string", RecordInput{"title": "ok", "score": "1"}, map[string]string{"score": "invalid_type"}},
		{"bool as string", RecordInput{"title": "ok", "published": "yes"}, map[string]string{"published": "invalid_type"}},
		{"bad email", RecordInput{"title": "ok", "contact": "not-an-email"}, map[string]string{"contact": "invalid_email"}},
		{"excluded domain", RecordInput{"title": "ok", "contact": "x@spam.com"}, map[string]string{"contact": "domain_not_allowed"}},
		{"bad url", RecordInput{"title": "ok", "homepage": "example.com"}, map[string]string{"homepage": "invalid_url"}},
		{"bad date", RecordInput{"title": "ok", "due": "tomorrow"}, map[string]string{"due": "invalid_date"}},
		{"autodate is read-only", RecordInput{"title": "ok", "touched": "2024-01-01T00:00:00Z"}, map[string]string{"touched": "read_only"}},
		{"select value not allowed", RecordInput{"title": "ok", "status": "gone"}, map[string]string{"status": "invalid_value"}},
		{"too many selected", RecordInput{"title": "ok", "tags": []any{"a", "b", "c"}}, map[string]string{"tags": "too_many"}},
		{"relation id missing", RecordInput{"title": "ok", "owner": "nosuchrecord123"}, map[string]string{"owner": "not_found"}},
		{"multi relation id missing", RecordInput{"title": "ok", "editors": []string{u.ID(), "nosuchrecord123"}}, map[string]string{"editors": "not_found"}},
		{"bad file name", RecordInput{"title": "ok", "cover": "../etc/passwd"}, map[string]string{"cover": "invalid_file_name"}},
		{"json takes a plain string", RecordInput{"title": "ok", "meta": strings.Repeat("x", 10)}, nil},
		{"lon out of range", RecordInput{"title": "ok", "place": map[string]any{"lon": 181.0, "lat": 0.0}}, map[string]string{"place": "out_of_range"}},
		{"lat out of range", RecordInput{"title": "ok", "place": map[string]any{"lon": 0.0, "lat": -91.0}}, map[string]string{"place": "out_of_range"}},
		{"password too short", RecordInput{"title": "ok", "secret": "abc"}, map[string]string{"secret": "too_short"}},
		{"unknown key", RecordInput{"title": "ok", "nope": 1}, map[string]string{"nope": "unknown_field"}},
		{"bad client id", RecordInput{"title": "ok", "id": "UPPER"}, map[string]string{"id": "too_short"}},
		{"client id with bad characters", RecordInput{"title": "ok", "id": "ABCDEFGHIJKLMNO"}, map[string]string{"id": "pattern"}},
		{"all problems at once", RecordInput{"title": "a", "views": 1.5, "status": "gone", "nope": true},
			map[string]string{"title": "too_short", "views": "not_int", "status": "invalid_value", "nope": "unknown_field"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := insert(t, d, c, tc.input)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				_ = rec
				return
			}
			fe := fieldErrs(t, err)
			if apperr.As(err).Message != "validation failed" {
				t.Errorf("message = %q", apperr.As(err).Message)
			}
			got := map[string]string{}
			for k, v := range fe {
				got[k] = v.Code
				if v.Message == "" {
					t.Errorf("%s has no message", k)
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("errors = %v, want %v", fe, tc.want)
			}
		})
	}

	t.Run("a failed insert leaves no row", func(t *testing.T) {
		n := len(findAll(t, d, c))
		tx, _ := d.Begin(context.Background())
		if _, err := tx.Insert(c, RecordInput{"title": "ok", "id": "aaaaaaaaaaaaaaa"}); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Insert(c, RecordInput{"title": "ok", "id": "aaaaaaaaaaaaaaa"}); !apperr.Is(err, apperr.Invalid) || fieldErrs(t, err)["id"].Code != "duplicate" {
			t.Fatalf("duplicate id: %v", err)
		}
		if _, err := tx.Insert(c, RecordInput{"title": "x"}); err == nil {
			t.Fatal("invalid insert accepted")
		}
		_ = tx.Rollback()
		if got := len(findAll(t, d, c)); got != n {
			t.Fatalf("%d rows, want %d", got, n)
		}
	})
}

func TestAuthRecords(t *testing.T) {
	ctx := context.Background()
	d := openTest(t)
	users, _ := d.Collection("users")

	u := mustInsert(t, d, users, RecordInput{"email": "Ann@Example.com", "password": "password1", "passwordConfirm": "password1", "name": "Ann"})
	t.Run("password is hashed with bcrypt and verified defaults to false", func(t *testing.T) {
		if bcrypt.CompareHashAndPassword([]byte(u["password"].(string)), []byte("password1")) != nil {
			t.Fatal("hash does not match")
		}
		if u["verified"] != false || u["emailVisibility"] != false {
			t.Fatalf("verified=%v emailVisibility=%v", u["verified"], u["emailVisibility"])
		}
		if tk, _ := u["tokenKey"].(string); len(tk) != 50 {
			t.Fatalf("tokenKey = %q", tk)
		}
	})
	t.Run("email is unique case-insensitively", func(t *testing.T) {
		_, err := insert(t, d, users, RecordInput{"email": "ann@example.COM", "password": "password1", "passwordConfirm": "password1"})
		if fieldErrs(t, err)["email"].Code != "duplicate" {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("passwordConfirm must match", func(t *testing.T) {
		_, err := insert(t, d, users, RecordInput{"email": "b@example.com", "password": "password1", "passwordConfirm": "password2"})
		if fieldErrs(t, err)["passwordConfirm"].Code != "mismatch" {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("password and email are required", func(t *testing.T) {
		_, err := insert(t, d, users, RecordInput{})
		fe := fieldErrs(t, err)
		if fe["email"].Code != "required" || fe["password"].Code != "required" {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("FindAuthRecord ignores case", func(t *testing.T) {
		r, err := d.FindAuthRecord(ctx, users, "ANN@example.com")
		if err != nil || r.ID() != u.ID() {
			t.Fatalf("%v %v", r, err)
		}
		if _, err := d.FindAuthRecord(ctx, users, "nobody@example.com"); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("changing the password regenerates tokenKey", func(t *testing.T) {
		tx, _ := d.Begin(ctx)
		defer tx.Rollback()
		r, err := tx.Update(users, u.ID(), RecordPatch{Set: RecordInput{"password": "newpassword", "passwordConfirm": "newpassword"}})
		if err != nil {
			t.Fatal(err)
		}
		if r["tokenKey"] == u["tokenKey"] || bcrypt.CompareHashAndPassword([]byte(r["password"].(string)), []byte("newpassword")) != nil {
			t.Fatal("tokenKey kept or password not changed")
		}
		r2, err := tx.Update(users, u.ID(), RecordPatch{Set: RecordInput{"name": "Annie"}})
		if err != nil || r2["tokenKey"] != r["tokenKey"] {
			t.Fatalf("tokenKey changed without a password change: %v", err)
		}
		if _, err := tx.Update(users, u.ID(), RecordPatch{Set: RecordInput{"password": nil}}); fieldErrs(t, err)["password"].Code != "required" {
			t.Fatalf("clearing the password: %v", err)
		}
	})
}

func TestUpdatePatch(t *testing.T) {
	ctx := context.Background()
	d := openTest(t)
	tags := mustCreate(t, d, &Collection{Name: "tags"})
	var tagIDs []string
	for range 4 {
		tagIDs = append(tagIDs, mustInsert(t, d, tags, RecordInput{}).ID())
	}
	c := mustCreate(t, d, &Collection{Name: "posts", Fields: []*Field{
		{Name: "title", Type: FieldText, Required: true},
		{Name: "views", Type: FieldNumber, Max: fptr(10)},
		{Name: "note", Type: FieldText},
		{Name: "tags", Type: FieldRelation, Collection: "tags", MaxSelect: 3},
	}})
	rec := mustInsert(t, d, c, RecordInput{"title": "t", "note": "n", "tags": []string{tagIDs[0]}})
	time.Sleep(2 * time.Millisecond)

	update := func(p RecordPatch) (Record, error) {
		tx, err := d.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		r, err := tx.Update(c, rec.ID(), p)
		if err != nil {
			return nil, err
		}
		return r, tx.Commit()
	}

	t.Run("set, increment, append with dedupe and updated bump", func(t *testing.T) {
		r, err := update(RecordPatch{
			Set:       RecordInput{"note": nil},
			Increment: map[string]float64{"views": 2},
			Append:    map[string][]string{"tags": {tagIDs[1], tagIDs[0], tagIDs[2]}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if r["note"] != nil || r["views"] != 2.0 || !reflect.DeepEqual(r["tags"], []string{tagIDs[0], tagIDs[1], tagIDs[2]}) {
			t.Fatalf("record %v", r)
		}
		if r["updated"].(string) <= rec["updated"].(string) || r["created"] != rec["created"] {
			t.Fatalf("updated %v created %v (before %v)", r["updated"], r["created"], rec["updated"])
		}
		got, _ := d.FindByIDs(ctx, c, []string{rec.ID()})
		if !reflect.DeepEqual(got[0], r) {
			t.Fatalf("stored %v, returned %v", got[0], r)
		}
	})
	t.Run("remove keeps order", func(t *testing.T) {
		r, err := update(RecordPatch{Remove: map[string][]string{"tags": {tagIDs[1]}}})
		if err != nil || !reflect.DeepEqual(r["tags"], []string{tagIDs[0], tagIDs[2]}) {
			t.Fatalf("%v %v", r, err)
		}
	})
	t.Run("refusals", func(t *testing.T) {
		cases := []struct {
			name  string
			patch RecordPatch
			key   string
		}{
			{"required can't be cleared", RecordPatch{Set: RecordInput{"title": nil}}, "title"},
			{"increment past max", RecordPatch{Increment: map[string]float64{"views": 100}}, "views"},
			{"increment a text", RecordPatch{Increment: map[string]float64{"title": 1}}, "title"},
			{"append beyond maxSelect", RecordPatch{Append: map[string][]string{"tags": {tagIDs[1], tagIDs[3]}}}, "tags"},
			{"append a missing record", RecordPatch{Append: map[string][]string{"tags": {"missingmissing1"}}}, "tags"},
			{"append to a single field", RecordPatch{Append: map[string][]string{"note": {"x"}}}, "note"},
			{"id can't change", RecordPatch{Set: RecordInput{"id": "otherotherother"}}, "id"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				_, err := update(tc.patch)
				if _, ok := fieldErrs(t, err)[tc.key]; !ok {
					t.Fatalf("err = %v", err)
				}
			})
		}
	})
	t.Run("a missing record is NOT_FOUND", func(t *testing.T) {
		tx, _ := d.Begin(ctx)
		defer tx.Rollback()
		if _, err := tx.Update(c, "missingmissing1", RecordPatch{}); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("err = %v", err)
		}
		if _, err := tx.Delete(c, "missingmissing1"); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestEvents(t *testing.T) {
	ctx := context.Background()
	d := openTest(t)
	c := mustCreate(t, d, &Collection{Name: "notes", Fields: []*Field{{Name: "text", Type: FieldText}}})
	var mu sync.Mutex
	var got []string
	d.OnRecordChange = func(ev RecordEvent) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, string(ev.Action)+":"+fmt.Sprint(ev.Record["text"]))
	}
	events := func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := got
		got = nil
		return out
	}

	t.Run("events leave after the commit, in order", func(t *testing.T) {
		tx, _ := d.Begin(ctx)
		r, _ := tx.Insert(c, RecordInput{"text": "a"})
		_, _ = tx.Update(c, r.ID(), RecordPatch{Set: RecordInput{"text": "b"}})
		_, _ = tx.Delete(c, r.ID())
		if e := events(); len(e) != 0 {
			t.Fatalf("events before commit: %v", e)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if e := events(); strings.Join(e, ",") != "CREATE:a,UPDATE:b,DELETE:b" {
			t.Fatalf("events: %v", e)
		}
		if err := tx.Rollback(); err != nil {
			t.Fatalf("rollback after commit: %v", err)
		}
	})
	t.Run("a rolled back transaction sends nothing", func(t *testing.T) {
		tx, _ := d.Begin(ctx)
		_, _ = tx.Insert(c, RecordInput{"text": "x"})
		_ = tx.Rollback()
		if e := events(); len(e) != 0 {
			t.Fatalf("events: %v", e)
		}
		if n, _ := d.Count(ctx, &Query{Collection: c}); n != 0 {
			t.Fatalf("%d rows", n)
		}
	})
	t.Run("the event record is a copy", func(t *testing.T) {
		var ev RecordEvent
		d.OnRecordChange = func(e RecordEvent) { ev = e }
		r := mustInsert(t, d, c, RecordInput{"text": "mine"})
		r["text"] = "changed"
		if ev.Record["text"] != "mine" {
			t.Fatalf("event record changed with the caller's: %v", ev.Record)
		}
	})
	t.Run("reads inside the transaction see its writes", func(t *testing.T) {
		tx, _ := d.Begin(ctx)
		defer tx.Rollback()
		r, _ := tx.Insert(c, RecordInput{"text": "inside"})
		if got, _ := d.FindByIDs(tx.Context(), c, []string{r.ID()}); len(got) != 1 {
			t.Fatal("tx read missed its own insert")
		}
		if got, _ := d.FindByIDs(ctx, c, []string{r.ID()}); len(got) != 0 {
			t.Fatal("an outside read saw an uncommitted insert")
		}
	})
}

func TestDeleteRelations(t *testing.T) {
	ctx := context.Background()
	d := openTest(t)
	authors := mustCreate(t, d, &Collection{Name: "authors"})
	posts := mustCreate(t, d, &Collection{Name: "posts", Fields: []*Field{
		{Name: "author", Type: FieldRelation, Collection: "authors", CascadeDelete: true},
	}})
	comments := mustCreate(t, d, &Collection{Name: "comments", Fields: []*Field{
		{Name: "post", Type: FieldRelation, Collection: "posts", CascadeDelete: true},
	}})
	likes := mustCreate(t, d, &Collection{Name: "likes", Fields: []*Field{
		{Name: "posts", Type: FieldRelation, Collection: "posts", MaxSelect: 5},
		{Name: "fav", Type: FieldRelation, Collection: "posts"},
	}})
	pins := mustCreate(t, d, &Collection{Name: "pins", Fields: []*Field{
		{Name: "post", Type: FieldRelation, Collection: "posts", Required: true},
	}})

	a := mustInsert(t, d, authors, RecordInput{})
	p1 := mustInsert(t, d, posts, RecordInput{"author": a.ID()})
	p2 := mustInsert(t, d, posts, RecordInput{"author": a.ID()})
	other := mustInsert(t, d, posts, RecordInput{})
	cm := mustInsert(t, d, comments, RecordInput{"post": p1.ID()})
	lk := mustInsert(t, d, likes, RecordInput{"posts": []string{p1.ID(), other.ID(), p2.ID()}, "fav": p2.ID()})

	var evs []string
	d.OnRecordChange = func(ev RecordEvent) { evs = append(evs, string(ev.Action)+" "+ev.Collection.Name) }

	t.Run("cascade deletes recursively and clears other references", func(t *testing.T) {
		tx, _ := d.Begin(ctx)
		defer tx.Rollback()
		if _, err := tx.Delete(authors, a.ID()); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if got := findAll(t, d, posts); len(got) != 1 || got[0].ID() != other.ID() {
			t.Fatalf("posts: %v", got)
		}
		if got := findAll(t, d, comments); len(got) != 0 {
			t.Fatalf("comments: %v", got)
		}
		got, _ := d.FindByIDs(ctx, likes, []string{lk.ID()})
		if !reflect.DeepEqual(got[0]["posts"], []string{other.ID()}) || got[0]["fav"] != nil {
			t.Fatalf("like: %v", got[0])
		}
		slices.Sort(evs)
		// The like loses p1, then p2 from its list, then its fav p2.
		want := []string{"DELETE authors", "DELETE comments", "DELETE posts", "DELETE posts", "UPDATE likes", "UPDATE likes", "UPDATE likes"}
		if !reflect.DeepEqual(evs, want) {
			t.Fatalf("events %v, want %v", evs, want)
		}
		_ = cm
	})
	t.Run("a required reference refuses the delete", func(t *testing.T) {
		mustInsert(t, d, pins, RecordInput{"post": other.ID()})
		tx, _ := d.Begin(ctx)
		defer tx.Rollback()
		_, err := tx.Delete(posts, other.ID())
		if !apperr.Is(err, apperr.Invalid) || !strings.Contains(err.Error(), "pins.post") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestReads(t *testing.T) {
	ctx := context.Background()
	d := openTest(t)
	c := mustCreate(t, d, &Collection{Name: "items", Fields: []*Field{{Name: "n", Type: FieldNumber}, {Name: "kind", Type: FieldText}}})
	tx, _ := d.Begin(ctx)
	var ids []string
	for i := range 1000 {
		r, err := tx.Insert(c, RecordInput{"n": i, "kind": []string{"odd", "even"}[(i+1)%2]})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID())
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}

	t.Run("find filters, orders, limits and offsets", func(t *testing.T) {
		recs, err := d.Find(ctx, &Query{Collection: c, Alias: "x",
			Where:   []Cond{{SQL: `"x"."kind" = ?`, Args: []any{"even"}}, {SQL: `"x"."n" < ?`, Args: []any{10}}},
			OrderBy: []Cond{{SQL: `"x"."n" DESC`}}, Limit: 2, Offset: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 2 || recs[0]["n"] != 6.0 || recs[1]["n"] != 4.0 {
			t.Fatalf("records %v", recs)
		}
	})
	t.Run("FindByIDs takes more ids than one statement may bind", func(t *testing.T) {
		recs, err := d.FindByIDs(ctx, c, ids, Cond{SQL: `"r"."kind" = ?`, Args: []any{"odd"}})
		if err != nil || len(recs) != 500 {
			t.Fatalf("%d records, %v", len(recs), err)
		}
	})
	t.Run("count and aggregate", func(t *testing.T) {
		q := &Query{Collection: c, Where: []Cond{{SQL: `"r"."n" < ?`, Args: []any{4}}}}
		if n, err := d.Count(ctx, q); err != nil || n != 4 {
			t.Fatalf("count %d %v", n, err)
		}
		agg, err := d.Aggregate(ctx, q, []string{"n"})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]map[string]any{"": {"count": int64(4)}, "n": {"sum": 6.0, "avg": 1.5, "min": 0.0, "max": 3.0}}
		if !reflect.DeepEqual(agg, want) {
			t.Fatalf("aggregate %v", agg)
		}
		if _, err := d.Aggregate(ctx, q, []string{"kind"}); !apperr.Is(err, apperr.Invalid) {
			t.Fatalf("aggregate of text: %v", err)
		}
	})
}

func TestConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	d := openTest(t)
	c := mustCreate(t, d, &Collection{Name: "hits", Fields: []*Field{{Name: "w", Type: FieldNumber}}})
	var wg sync.WaitGroup
	errs := make(chan error, 8*50+1)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				tx, err := d.Begin(ctx)
				if err != nil {
					errs <- err
					return
				}
				if _, err := tx.Insert(c, RecordInput{"w": w}); err != nil {
					_ = tx.Rollback()
					errs <- err
					return
				}
				if err := tx.Commit(); err != nil {
					errs <- err
					return
				}
				// Reads run alongside the writers.
				if _, err := d.Count(ctx, &Query{Collection: c}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	// Collection changes share the writer with the record writes.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 5 {
			if _, err := d.CreateCollection(ctx, &Collection{Name: fmt.Sprintf("side%d", i)}); err != nil {
				errs <- err
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("writer failed: %v", err)
	}
	if n, _ := d.Count(ctx, &Query{Collection: c}); n != 400 {
		t.Fatalf("%d rows, want 400", n)
	}
}

func TestSuperusersAndParams(t *testing.T) {
	ctx := context.Background()
	d := openTest(t)
	su, _ := d.Collection(SuperusersCollection)

	if err := d.CreateSuperuser(ctx, "root@example.com", "password1"); err != nil {
		t.Fatal(err)
	}
	if err := d.CreateSuperuser(ctx, "ROOT@example.com", "password1"); fieldErrs(t, err)["email"].Code != "duplicate" {
		t.Fatalf("second create: %v", err)
	}
	if err := d.UpsertSuperuser(ctx, "root@example.com", "password2"); err != nil {
		t.Fatal(err)
	}
	r, err := d.FindAuthRecord(ctx, su, "root@example.com")
	if err != nil || bcrypt.CompareHashAndPassword([]byte(r["password"].(string)), []byte("password2")) != nil || r["verified"] != true {
		t.Fatalf("superuser %v %v", r, err)
	}
	if err := d.DeleteSuperuser(ctx, "root@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteSuperuser(ctx, "root@example.com"); !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("second delete: %v", err)
	}

	if _, ok, err := d.Param(ctx, "missing"); ok || err != nil {
		t.Fatalf("missing param: %v %v", ok, err)
	}
	_ = d.SetParam(ctx, "k", []byte("1"))
	_ = d.SetParam(ctx, "k", []byte("2"))
	if v, ok, _ := d.Param(ctx, "k"); !ok || string(v) != "2" {
		t.Fatalf("param = %q", v)
	}
}
