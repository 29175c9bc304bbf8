package files

import (
	"context"
	"errors"
	"io/fs"
	"testing"
)

func TestHoldDeletes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, kind string) {
		ctx := context.Background()
		s, _ := newTestStore(t, kind, Limits{})
		a, err := s.Save(ctx, "coll1", "rec1", upload("a.txt", []byte("A")))
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.Save(ctx, "coll1", "rec2", upload("b.txt", []byte("B")))
		if err != nil {
			t.Fatal(err)
		}
		exists := func(rec, name string) bool {
			f, err := s.Open(context.Background(), "coll1", rec, name)
			if err == nil {
				f.Close()
				return true
			}
			if !errors.Is(err, fs.ErrNotExist) {
				t.Fatal(err)
			}
			return false
		}

		release1 := s.HoldDeletes()
		release2 := s.HoldDeletes()
		if err := s.Delete(ctx, "coll1", "rec1", a); err != nil {
			t.Fatalf("held Delete: %v", err)
		}
		if err := s.DeleteRecord(ctx, "coll1", "rec2"); err != nil {
			t.Fatalf("held DeleteRecord: %v", err)
		}
		if !exists("rec1", a) || !exists("rec2", b) {
			t.Fatal("a file was removed while deletes were held")
		}
		release1()
		release1() // a second call changes nothing
		if !exists("rec1", a) || !exists("rec2", b) {
			t.Fatal("a file was removed while one hold was still on")
		}
		release2()
		if exists("rec1", a) || exists("rec2", b) {
			t.Fatal("the held removals did not run on the last release")
		}
		if _, err := s.Save(ctx, "coll1", "rec3", upload("c.txt", []byte("C"))); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteCollection(ctx, "coll1"); err != nil {
			t.Fatal(err)
		}
		if keys := keysUnder(t, s, "coll1/"); len(keys) != 0 {
			t.Fatalf("without a hold DeleteCollection removes at once: left %v", keys)
		}
	})
}
