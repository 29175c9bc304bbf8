package dynschema

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/monobase/monobase/auth"
	"github.com/monobase/monobase/db"
)

// Subscriptions of many distinct viewers: each viewer is a batch of its
// own, and a rule such as `author = @request.auth.id` is evaluated on the
// event's record in memory (db.ReadMatch), with no statement per batch.

// viewersFixture is an engine with a posts collection under the owner
// rule and n distinct signed-in viewers, each with one subscription whose
// batch the test drives by hand (no goroutines: handle runs in the
// benchmark's goroutine).
type viewersFixture struct {
	en      *env
	posts   *db.Collection
	users   *db.Collection
	batches []*subBatch
	ids     []string
	reads   atomic.Int64 // statements run
	stop    []func()
}

func newViewersFixture(tb testing.TB, n int, shared bool) *viewersFixture {
	return newViewersFixtureRule(tb, n, shared, false)
}

// newViewersFixtureRule is newViewersFixture; with relPath, posts relate
// to writers (one per viewer, with the viewer's id as handle) and the
// rule is `author.handle = @request.auth.id`, a relation path memory
// cannot evaluate: every batch needs SQL.
func newViewersFixtureRule(tb testing.TB, n int, shared, relPath bool) *viewersFixture {
	en := newEnv(tb)
	users, err := en.d.Collection("users")
	if err != nil {
		tb.Fatal(err)
	}
	rule, target := "author = @request.auth.id", users.ID
	if relPath {
		writers := en.create(&db.Collection{Name: "writers", Type: db.TypeBase,
			Fields: []*db.Field{{Name: "handle", Type: db.FieldText}}})
		tx, err := en.d.Begin(en.ctx)
		if err != nil {
			tb.Fatal(err)
		}
		for i := range n {
			if _, err := tx.Insert(writers, db.RecordInput{"id": fmtID(i), "handle": fmtID(i)}); err != nil {
				tb.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			tb.Fatal(err)
		}
		rule, target = "author.handle = @request.auth.id", writers.ID
	}
	posts := en.create(&db.Collection{Name: "posts", Type: db.TypeBase,
		ListRule: sp(rule), ViewRule: sp(rule),
		Fields: []*db.Field{
			{Name: "title", Type: db.FieldText},
			{Name: "author", Type: db.FieldRelation, Collection: target, MaxSelect: 1},
		}})
	fx := &viewersFixture{en: en, posts: posts, users: users}
	en.e.batches.start = func(b *subBatch) { fx.batches = append(fx.batches, b) }
	en.d.ObserveReads(func(string) { fx.reads.Add(1) })
	const q = `subscription { postChanged { action record { id title } } }`
	for i := range n {
		id := fmtID(i)
		if shared {
			id = fmtID(0)
		}
		v := &auth.Viewer{Collection: users, Record: db.Record{"id": id, "email": fmt.Sprintf("u%d@example.com", i)}}
		ctx, cancel := context.WithCancel(auth.WithViewer(graphql.StartOperationTrace(context.Background()), v))
		oc, errs := en.e.CreateOperationContext(ctx, &graphql.RawParams{Query: q})
		if errs != nil {
			tb.Fatal(errs)
		}
		// The batch delivers into the member's buffer (received reads it);
		// the handler, which only waits for the end, is not needed.
		en.e.DispatchOperation(graphql.WithOperationContext(ctx, oc), oc)
		fx.ids = append(fx.ids, id)
		fx.stop = append(fx.stop, cancel)
	}
	tb.Cleanup(func() {
		for _, s := range fx.stop {
			s()
		}
	})
	return fx
}

// publish publishes a create of a post by the viewer author and has every
// batch handle it.
func (fx *viewersFixture) publish(tb testing.TB, i int, author string) {
	rec := db.Record{"id": fmt.Sprintf("p%014d", i), "title": fmt.Sprint("t", i), "author": author,
		"created": "2024-01-01T00:00:00.000Z", "updated": "2024-01-01T00:00:00.000Z"}
	fx.en.hub.Publish(db.RecordEvent{Action: db.ActionCreate, Collection: fx.posts, Record: rec})
	fx.en.hub.Flush()
	for _, b := range fx.batches {
		select {
		case ev := <-b.hub.C:
			b.handle(ev)
		default:
			tb.Fatal("a batch has no event")
		}
	}
}

// received returns the response waiting for the subscription of viewer
// k, or nil (read from its member's buffer: its handler would end the
// subscription when asked to stop waiting).
func (fx *viewersFixture) received(k int) *graphql.Response {
	b := fx.batches[0]
	if len(fx.batches) > 1 {
		b, k = fx.batches[k], 0
	} else {
		k %= len(b.members)
	}
	b.mu.Lock()
	m := b.members[k]
	b.mu.Unlock()
	select {
	case r := <-m.out:
		return r
	default:
		return nil
	}
}

// TestSubscriptionsDistinctViewersInMemory: 50 viewers, each with its own
// batch; every event reaches exactly its author, with no statement at all
// and with each subscription's check prepared once for its viewer;
// a rule memory cannot evaluate (a relation path) still works through
// the statement.
func TestSubscriptionsDistinctViewersInMemory(t *testing.T) {
	const n = 50
	fx := newViewersFixture(t, n, false)
	if len(fx.batches) != n {
		t.Fatalf("%d batches, want one per viewer (%d)", len(fx.batches), n)
	}
	before := fx.reads.Load()
	var checks []*eventCheck // each subscription's, after the first event
	for i := range 2 * n {
		owner := (i * 7) % n
		fx.publish(t, i, fx.ids[owner])
		for k, b := range fx.batches {
			c := b.members[0].s.chk
			switch {
			case c == nil || c.plan == nil:
				t.Fatalf("event %d: viewer %d has no prepared check", i, k)
			case i == 0:
				checks = append(checks, c)
			case c != checks[k]:
				t.Fatalf("event %d: viewer %d's check was built again", i, k)
			}
		}
		for k := range n {
			resp := fx.received(k)
			switch {
			case k == owner && (resp == nil || !strings.Contains(string(resp.Data), fmt.Sprintf(`"title":"t%d"`, i))):
				t.Fatalf("event %d: the author %d got %v", i, k, resp)
			case k != owner && resp != nil:
				t.Fatalf("event %d of viewer %d reached viewer %d: %s", i, owner, k, resp.Data)
			}
		}
	}
	if got := fx.reads.Load() - before; got != 0 {
		t.Errorf("%d statements for %d events to %d viewers, want none", got, 2*n, n)
	}
}

// TestSubscriptionsDistinctViewersOneStatement: under a rule with a
// relation path (no in-memory answer), the batches of n distinct viewers
// check each event in ceil(n/db.MatchManyMax) statements, and each event
// still reaches exactly its author, as when every batch checks alone.
func TestSubscriptionsDistinctViewersOneStatement(t *testing.T) {
	for _, n := range []int{50, 2*db.MatchManyMax + 1} {
		for _, solo := range []bool{false, true} {
			t.Run(fmt.Sprintf("n=%d solo=%v", n, solo), func(t *testing.T) {
				fx := newViewersFixtureRule(t, n, false, true)
				fx.en.e.batches.solo = solo
				if len(fx.batches) != n {
					t.Fatalf("%d batches, want %d", len(fx.batches), n)
				}
				want := int64((n + db.MatchManyMax - 1) / db.MatchManyMax)
				if solo {
					want = int64(n)
				}
				events := 6
				for i := range events {
					owner := (i * 37) % n
					author := fx.ids[owner]
					if i == events-1 {
						owner, author = -1, "nobody" // no such writer: reaches nobody
					}
					before := fx.reads.Load()
					fx.publish(t, i, author)
					if got := fx.reads.Load() - before; got != want {
						t.Fatalf("event %d: %d statements for %d viewers, want %d", i, got, n, want)
					}
					for k := range n {
						resp := fx.received(k)
						switch {
						case k == owner && (resp == nil || !strings.Contains(string(resp.Data), fmt.Sprintf(`"title":"t%d"`, i))):
							t.Fatalf("event %d: the author %d got %v", i, k, resp)
						case k != owner && resp != nil:
							t.Fatalf("event %d of viewer %d reached viewer %d: %s", i, owner, k, resp.Data)
						}
					}
				}
			})
		}
	}
}

// benchViewers measures one event fanned out to n subscriptions (distinct
// viewers, or one shared viewer), memory on or off, and reports the
// statements per event.
func benchViewers(b *testing.B, n int, shared, inMemory bool) {
	benchViewersRule(b, n, shared, inMemory, false, false)
}

// benchViewersRule is benchViewers, under the relation-path rule when
// relPath, each batch checking alone when solo.
func benchViewersRule(b *testing.B, n int, shared, inMemory, relPath, solo bool) {
	fx := newViewersFixtureRule(b, n, shared, relPath)
	fx.en.e.batches.solo = solo
	fx.en.d.SetMatchInMemory(inMemory)
	fx.publish(b, -1, "nobody") // warm up: upgrades, statement caches
	start := fx.reads.Load()
	b.ResetTimer()
	for i := range b.N {
		owner := i % n
		fx.publish(b, i, fx.ids[owner])
		if shared { // every member sees it: empty their buffers
			for k := range n {
				if fx.received(k) == nil {
					b.Fatalf("event %d did not reach subscription %d", i, k)
				}
			}
		} else if fx.received(owner) == nil {
			b.Fatalf("event %d did not reach its author", i)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(fx.reads.Load()-start)/float64(b.N), "sql/event")
}

func BenchmarkSubscriptionDistinctViewers1k(b *testing.B) {
	b.Run("sql", func(b *testing.B) { benchViewers(b, 1000, false, false) })
	b.Run("memory", func(b *testing.B) { benchViewers(b, 1000, false, true) })
}

// BenchmarkSubscriptionDistinctViewersRelation1k: 1000 distinct viewers
// under `author.handle = @request.auth.id` (SQL for every batch): each
// batch's own statement against one statement per 200 batches.
func BenchmarkSubscriptionDistinctViewersRelation1k(b *testing.B) {
	b.Run("per-batch", func(b *testing.B) { benchViewersRule(b, 1000, false, true, true, true) })
	b.Run("grouped", func(b *testing.B) { benchViewersRule(b, 1000, false, true, true, false) })
}

func BenchmarkSubscriptionSharedViewer1k(b *testing.B) {
	b.Run("sql", func(b *testing.B) { benchViewers(b, 1000, true, false) })
	b.Run("memory", func(b *testing.B) { benchViewers(b, 1000, true, true) })
}

// TestSubscriptionsOneStatementConcurrent: the batches run on their own
// goroutines (as in the server): the first to check an event leads, the
// others wait for its answer, and each event still takes one statement
// and reaches its author. The next event is published once every batch
// has handled the last: a batch more than matchGroupsKept events behind
// finds no group and checks alone (by design), which on two busy cores
// happened in about one run in a hundred and added statements.
func TestSubscriptionsOneStatementConcurrent(t *testing.T) {
	const n, events = 30, 10
	fx := newViewersFixtureRule(t, n, false, true)
	var handled atomic.Int64
	for _, b := range fx.batches {
		go func() { // b.run, counting the events handled
			for ev := range b.hub.C {
				b.handle(ev)
				handled.Add(1)
			}
			b.finish(b.hub.Err())
		}()
	}
	before := fx.reads.Load()
	for i := range events {
		owner := (i * 7) % n
		rec := db.Record{"id": fmt.Sprintf("p%014d", i), "title": fmt.Sprint("t", i), "author": fx.ids[owner],
			"created": "2024-01-01T00:00:00.000Z", "updated": "2024-01-01T00:00:00.000Z"}
		fx.en.hub.Publish(db.RecordEvent{Action: db.ActionCreate, Collection: fx.posts, Record: rec})
		b := fx.batches[owner]
		b.mu.Lock()
		m := b.members[0]
		b.mu.Unlock()
		select {
		case r := <-m.out:
			if !strings.Contains(string(r.Data), fmt.Sprintf(`"title":"t%d"`, i)) {
				t.Fatalf("event %d: the author got %s", i, r.Data)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("event %d did not reach its author", i)
		}
		for deadline := time.Now().Add(10 * time.Second); handled.Load() < int64((i+1)*len(fx.batches)); {
			if time.Now().After(deadline) {
				t.Fatalf("event %d: %d of %d batches handled it", i, handled.Load()-int64(i*len(fx.batches)), len(fx.batches))
			}
			time.Sleep(time.Millisecond)
		}
	}
	for k := range n {
		if r := fx.received(k); r != nil {
			t.Fatalf("viewer %d got another's event: %s", k, r.Data)
		}
	}
	if got := fx.reads.Load() - before; got != events {
		t.Errorf("%d statements for %d events to %d viewers, want one per event", got, events, n)
	}
}
