package files_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/monobase/monobase/internal/dbtest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/files"
	"github.com/monobase/monobase/internal/filestest"
	"github.com/monobase/monobase/internal/s3test"
)

// sweepEnv is a database with a collection of FILE fields and a store on
// one backend.
type sweepEnv struct {
	ctx   context.Context
	d     *db.DB
	store *files.Store
	docs  *db.Collection // fields one (single FILE), many (multi FILE)
	plain *db.Collection // no FILE field
}

// sweepBackends runs fn on a store on the local disk and on one on a real
// S3 protocol server.
func sweepBackends(t *testing.T, fn func(t *testing.T, e *sweepEnv)) {
	for _, kind := range []string{"local", "s3"} {
		t.Run(kind, func(t *testing.T) { fn(t, newSweepEnvB(t, kind)) })
	}
}

func newSweepEnv(t testing.TB) *sweepEnv {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	d, err := dbtest.Open(t, ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	e := &sweepEnv{ctx: ctx, d: d, store: files.NewLocal(filepath.Join(dir, "storage"))}
	e.docs, err = d.CreateCollection(ctx, &db.Collection{Name: "docs", Type: db.TypeBase, Fields: []*db.Field{
		{Name: "one", Type: db.FieldFile, MaxSelect: 1, Thumbs: []string{"10x10"}},
		{Name: "many", Type: db.FieldFile, MaxSelect: 5, Hidden: true},
	}})
	if err != nil {
		t.Fatal(err)
	}
	e.plain, err = d.CreateCollection(ctx, &db.Collection{Name: "plain", Type: db.TypeBase, Fields: []*db.Field{
		{Name: "title", Type: db.FieldText},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// newSweepEnvB is newSweepEnv on the backend kind ("local" or "s3").
func newSweepEnvB(tb testing.TB, kind string) *sweepEnv {
	e := newSweepEnv(tb)
	if kind == "s3" {
		srv, err := s3test.Start("sweep")
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { srv.Close() })
		if err := e.store.ApplyS3(srv.Settings("sweep")); err != nil {
			tb.Fatal(err)
		}
	}
	return e
}

// put stores an object at key on the current backend.
func (e *sweepEnv) put(t *testing.T, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if err := e.store.Backend().Put(e.ctx, k, strings.NewReader(k), int64(len(k)), "text/plain"); err != nil {
			t.Fatal(err)
		}
	}
}

// insert writes docs records in one transaction.
func (e *sweepEnv) insert(t *testing.T, ins ...db.RecordInput) {
	t.Helper()
	tx, err := e.d.Begin(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	for _, in := range ins {
		if _, err := tx.Insert(e.docs, in); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// keys lists the current backend.
func (e *sweepEnv) keys(t *testing.T) []string { return filestest.Keys(t, e.store.Backend()) }

func (e *sweepEnv) sweep(t *testing.T, cutoff time.Time) files.SweepResult {
	t.Helper()
	res, err := e.store.Sweep(e.ctx, e.d, cutoff)
	if err != nil {
		t.Fatalf("sweep: %v", err)
	}
	return res
}

func sorted(keys ...string) []string {
	out := slices.Clone(keys)
	slices.Sort(out)
	return out
}

func TestSweep(t *testing.T) {
	sweepBackends(t, func(t *testing.T, e *sweepEnv) {
		d := e.docs.ID
		rec := "rec000000000001"
		e.insert(t, db.RecordInput{"id": rec, "one": "a.png", "many": []string{"b.txt", "c.txt"}})
		e.insert(t, db.RecordInput{"id": "rec000000000002"}) // no files
		named := []string{
			d + "/" + rec + "/a.png",
			d + "/" + rec + "/thumbs_a.png/10x10_a.png",
			d + "/" + rec + "/b.txt",
			d + "/" + rec + "/c.txt",
		}
		notOurs := []string{"loose.txt", "top/level", d + "/" + rec + "/folder/deeper"}
		garbage := []string{
			d + "/" + rec + "/x.txt",                          // stored, never committed
			d + "/" + rec + "/thumbs_x.txt/10x10_x.txt",       // its thumbnail
			d + "/" + rec + "/thumbs_gone.png/10x10_gone.png", // a thumbnail whose file is gone
			d + "/rec000000000002/y.txt",                      // a record without files
			d + "/rec000000000009/z.txt",                      // a record that does not exist
			e.plain.ID + "/rec000000000001/p.txt",             // a collection without FILE fields
			"nocollection000/rec000000000001/q.txt",           // a collection that does not exist
			"docs/" + rec + "/a.png",                          // a folder named by the collection's name, not id
		}
		e.put(t, append(append(slices.Clone(named), notOurs...), garbage...)...)

		t.Run("recent files stay", func(t *testing.T) {
			res := e.sweep(t, time.Now().Add(-time.Minute))
			if res.Removed != 0 || res.Listed != len(named)+len(notOurs)+len(garbage) {
				t.Fatalf("sweep = %+v, want %d listed and none removed", res, len(named)+len(notOurs)+len(garbage))
			}
		})
		t.Run("a backup in progress stops it", func(t *testing.T) {
			release := e.store.HoldDeletes()
			_, err := e.store.Sweep(e.ctx, e.d, time.Now().Add(time.Hour))
			release()
			if !errors.Is(err, files.ErrDeletesHeld) {
				t.Fatalf("sweep while held: %v, want ErrDeletesHeld", err)
			}
			if got := len(e.keys(t)); got != len(named)+len(notOurs)+len(garbage) {
				t.Fatalf("%d objects after a held sweep, want all %d", got, len(named)+len(notOurs)+len(garbage))
			}
		})
		t.Run("old files no record names go, named ones stay", func(t *testing.T) {
			res := e.sweep(t, time.Now().Add(time.Hour))
			if want := sorted(append(slices.Clone(named), notOurs...)...); !slices.Equal(e.keys(t), want) {
				t.Fatalf("left %v\nwant %v", e.keys(t), want)
			}
			if res.Removed != len(garbage) {
				t.Fatalf("removed %d, want %d", res.Removed, len(garbage))
			}
		})
		t.Run("a failed lookup removes nothing", func(t *testing.T) {
			stray := d + "/" + rec + "/stray.txt"
			e.put(t, stray)
			e.d.Close() // reads now fail
			if _, err := e.store.Sweep(e.ctx, e.d, time.Now().Add(time.Hour)); err == nil {
				t.Fatal("a sweep on a closed database succeeded")
			}
			if !slices.Contains(e.keys(t), stray) {
				t.Fatal("a file was removed although its record could not be read")
			}
		})
	})
}

// TestSweepBatches stores more objects than one lookup batch holds, named
// and not, across many records.
func TestSweepBatches(t *testing.T) {
	sweepBackends(t, func(t *testing.T, e *sweepEnv) {
		var named []string
		var ins []db.RecordInput
		garbage := 0
		for i := range 200 { // 600 objects: two lookup batches
			id := fmt.Sprintf("rec%012d", i)
			keep := fmt.Sprintf("k%d.txt", i)
			ins = append(ins, db.RecordInput{"id": id, "many": []string{keep}})
			named = append(named, e.docs.ID+"/"+id+"/"+keep)
			e.put(t, e.docs.ID+"/"+id+"/"+keep, e.docs.ID+"/"+id+"/g.txt", e.docs.ID+"/gone"+id[4:]+"/g.txt")
			garbage += 2
		}
		e.insert(t, ins...)
		res := e.sweep(t, time.Now().Add(time.Hour))
		if res.Removed != garbage || res.Listed != len(named)+garbage {
			t.Fatalf("sweep = %+v, want %d listed, %d removed", res, len(named)+garbage, garbage)
		}
		if got, want := e.keys(t), sorted(named...); !slices.Equal(got, want) {
			t.Fatalf("left %d objects, want the %d named ones", len(got), len(want))
		}
	})
}

// TestSweepAgeOnDisk checks the cutoff against modification times: a file
// no record names goes once it is older than the cutoff, not before, and
// its emptied folders go with it.
func TestSweepAgeOnDisk(t *testing.T) {
	e := newSweepEnv(t)
	old, recent := e.docs.ID+"/rec000000000009/old.txt", e.docs.ID+"/rec000000000008/recent.txt"
	e.put(t, old, recent)
	root := e.store.Root()
	then := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(filepath.Join(root, filepath.FromSlash(old)), then, then); err != nil {
		t.Fatal(err)
	}
	res := e.sweep(t, time.Now().Add(-time.Hour))
	if res.Removed != 1 || !slices.Equal(e.keys(t), []string{recent}) {
		t.Fatalf("sweep = %+v, left %v; want only %s", res, e.keys(t), recent)
	}
	if _, err := os.Stat(filepath.Join(root, e.docs.ID, "rec000000000009")); !os.IsNotExist(err) {
		t.Fatalf("the emptied record folder is still there (%v)", err)
	}
}

// BenchmarkSweep sweeps a storage of 2,000 files across 400 records, all
// named (nothing to remove: the cost of a routine run, listing and lookups).
func BenchmarkSweep(b *testing.B) {
	for _, kind := range []string{"local", "s3"} {
		b.Run(kind, func(b *testing.B) {
			e := newSweepEnvB(b, kind)
			var ins []db.RecordInput
			for i := range 400 {
				id := fmt.Sprintf("rec%012d", i)
				var names []string
				for j := range 5 {
					n := fmt.Sprintf("f%d.txt", j)
					names = append(names, n)
					k := e.docs.ID + "/" + id + "/" + n
					if err := e.store.Backend().Put(e.ctx, k, strings.NewReader(k), int64(len(k)), "text/plain"); err != nil {
						b.Fatal(err)
					}
				}
				ins = append(ins, db.RecordInput{"id": id, "many": names})
			}
			tx, err := e.d.Begin(e.ctx)
			if err != nil {
				b.Fatal(err)
			}
			for _, in := range ins {
				if _, err := tx.Insert(e.docs, in); err != nil {
					b.Fatal(err)
				}
			}
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				res, err := e.store.Sweep(e.ctx, e.d, time.Now().Add(time.Hour))
				if err != nil || res.Removed != 0 || res.Listed != 2000 {
					b.Fatalf("sweep = %+v, %v", res, err)
				}
			}
		})
	}
}
