package db

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/monobase/monobase/db/filter"
)

// TestReadMatchManyDifferential: ReadMatchMany gives, read by read, what
// ReadMatch gives, over the filter cases and the rules matrix (relation
// paths, back-relations, @collection: what memory declines), as rules
// and as filters, for every viewer, on every record; with memory off, in
// ceil(n/MatchManyMax) statements per record.
func TestReadMatchManyDifferential(t *testing.T) {
	fx := fsqlOpen(t)
	d := fx.d
	md := &memDiff{t: t, fx: fx}
	recs := findAll(t, d, fx.posts)
	recs = append(recs, Record{"id": fsqlID("e1")})
	var reads []*Read
	var labels []string
	relational := 0
	both, err := filter.Parse("author.name != 'Zed' && views != 7")
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range memCaseTexts(t) {
		e, err := filter.Parse(src)
		if err != nil {
			continue
		}
		if CompileMemMatch(fx.posts, e, true) == nil {
			relational++
		}
		for vi, req := range md.viewers() {
			if vi > 5 {
				break
			}
			reads = append(reads, &Read{Collection: fx.posts, Request: req, Rule: e})
			reads = append(reads, &Read{Collection: fx.posts, Request: req, Filters: []filter.Expr{e}})
			reads = append(reads, &Read{Collection: fx.posts, Request: req, Rule: both, Filters: []filter.Expr{e}})
			labels = append(labels, fmt.Sprintf("rule %q viewer %d", src, vi), fmt.Sprintf("filter %q viewer %d", src, vi),
				fmt.Sprintf("rule author.name != 'Zed' && filter %q viewer %d", src, vi))
		}
	}
	if relational < 20 || len(reads) <= MatchManyMax {
		t.Fatalf("%d reads, %d expressions memory declines: too few to test", len(reads), relational)
	}
	var stmts atomic.Int64
	d.ObserveReads(func(string) { stmts.Add(1) })
	defer d.ObserveReads(nil)
	ctx := context.Background()
	for _, on := range []bool{false, true} {
		d.SetMatchInMemory(on)
		for ri, rec := range recs {
			before := stmts.Load()
			got, errs := d.ReadMatchMany(ctx, reads, rec)
			n := stmts.Load() - before
			sqlReads, trues := 0, 0
			for i, r := range reads {
				want, err := d.ReadMatch(ctx, r, rec)
				if (err == nil) != (errs[i] == nil) {
					t.Fatalf("record %d %s: ReadMatchMany error %v, ReadMatch error %v", ri, labels[i], errs[i], err)
				}
				if err != nil {
					continue
				}
				if got[i] != want {
					t.Fatalf("record %d %s (memory %v): ReadMatchMany %v, ReadMatch %v", ri, labels[i], on, got[i], want)
				}
				if got[i] {
					trues++
				}
				if _, inMem := d.MatchInMemory(r, rec); !inMem {
					sqlReads++
				}
			}
			if want := int64((sqlReads + MatchManyMax - 1) / MatchManyMax); n != want {
				t.Errorf("record %d (memory %v): %d statements for %d reads needing SQL, want %d", ri, on, n, sqlReads, want)
			}
			if trues == 0 || trues == len(reads) {
				t.Errorf("record %d: %d of %d reads match: the cases do not discriminate", ri, trues, len(reads))
			}
		}
	}
	d.SetMatchInMemory(true)
}

// TestReadMatchManyMixedCollections: reads of two collections and with
// nothing to check, in one call: one statement per collection, answers
// in the order of the reads.
func TestReadMatchManyMixedCollections(t *testing.T) {
	fx := fsqlOpen(t)
	d := fx.d
	rec := findAll(t, d, fx.posts)[0]
	var stmts []string
	d.ObserveReads(func(q string) { stmts = append(stmts, q) })
	defer d.ObserveReads(nil)
	super := &RequestInfo{Superuser: true}
	parse := func(s string) filter.Expr {
		e, err := filter.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	reads := []*Read{
		{Collection: fx.posts, Request: super, Rule: parse("author.name != 'nobody at all'")},
		{Collection: fx.posts},
		{Collection: fx.notes, Request: super, Rule: parse("id != ''")},
		{Collection: fx.posts, Request: super, Rule: parse("author.name = 'nobody at all'")},
		{Collection: fx.posts, Request: super, Rule: parse("nosuchfield = 1")},
	}
	d.SetMatchInMemory(false)
	got, errs := d.ReadMatchMany(context.Background(), reads, rec)
	if !got[0] || !got[1] || got[3] || errs[0] != nil || errs[3] != nil {
		t.Fatalf("answers %v, errors %v", got, errs)
	}
	if errs[4] == nil {
		t.Fatal("an unknown field compiled")
	}
	if len(stmts) != 2 || !strings.Contains(stmts[0], "CASE WHEN") {
		t.Fatalf("%d statements, want one per collection: %q", len(stmts), stmts)
	}
}

// TestReadMatchManyStatementText: the statement's text does not depend on
// the order of the reads (the batches come from a map), so the statement
// cache holds one text per set of checks; the answers follow the reads.
func TestReadMatchManyStatementText(t *testing.T) {
	fx := fsqlOpen(t)
	d := fx.d
	rec := findAll(t, d, fx.posts)[0]
	super := &RequestInfo{Superuser: true}
	var reads []*Read
	for _, src := range []string{"author.name != 'nobody'", "author.name = 'nobody'", "views > 1 && author.name != ''", "title ~ 'a' || author.id != ''"} {
		e, err := filter.Parse(src)
		if err != nil {
			t.Fatal(err)
		}
		reads = append(reads, &Read{Collection: fx.posts, Request: super, Rule: e})
	}
	var stmts []string
	d.ObserveReads(func(q string) { stmts = append(stmts, q) })
	defer d.ObserveReads(nil)
	d.SetMatchInMemory(false)
	defer d.SetMatchInMemory(true)
	ctx := context.Background()
	want, _ := d.ReadMatchMany(ctx, reads, rec)
	for _, perm := range [][]int{{3, 2, 1, 0}, {1, 3, 0, 2}, {2, 0, 3, 1}} {
		shuffled := make([]*Read, len(perm))
		for k, i := range perm {
			shuffled[k] = reads[i]
		}
		got, errs := d.ReadMatchMany(ctx, shuffled, rec)
		for k, i := range perm {
			if errs[k] != nil || got[k] != want[i] {
				t.Fatalf("order %v: read %d got %v (%v), want %v", perm, i, got[k], errs[k], want[i])
			}
		}
	}
	if len(stmts) != 4 {
		t.Fatalf("%d statements, want 4", len(stmts))
	}
	for _, s := range stmts[1:] {
		if s != stmts[0] {
			t.Fatalf("the statement's text changed with the order of the reads:\n%s\n%s", stmts[0], s)
		}
	}
}
