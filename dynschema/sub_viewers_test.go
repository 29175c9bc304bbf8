package dynschema

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

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
	en := newEnv(tb)
	users, err := en.d.Collection("users")
	if err != nil {
		tb.Fatal(err)
	}
	posts := en.create(&db.Collection{Name: "posts", Type: db.TypeBase,
		ListRule: sp("author = @request.auth.id"), ViewRule: sp("author = @request.auth.id"),
		Fields: []*db.Field{
			{Name: "title", Type: db.FieldText},
			{Name: "author", Type: db.FieldRelation, Collection: users.ID, MaxSelect: 1},
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
// batch; every event reaches exactly its author, with no statement at all;
// a rule memory cannot evaluate (a relation path) still works through
// the statement.
func TestSubscriptionsDistinctViewersInMemory(t *testing.T) {
	const n = 50
	fx := newViewersFixture(t, n, false)
	if len(fx.batches) != n {
		t.Fatalf("%d batches, want one per viewer (%d)", len(fx.batches), n)
	}
	before := fx.reads.Load()
	for i := range 2 * n {
		owner := (i * 7) % n
		fx.publish(t, i, fx.ids[owner])
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

// benchViewers measures one event fanned out to n subscriptions (distinct
// viewers, or one shared viewer), memory on or off, and reports the
// statements per event.
func benchViewers(b *testing.B, n int, shared, inMemory bool) {
	fx := newViewersFixture(b, n, shared)
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

func BenchmarkSubscriptionSharedViewer1k(b *testing.B) {
	b.Run("sql", func(b *testing.B) { benchViewers(b, 1000, true, false) })
	b.Run("memory", func(b *testing.B) { benchViewers(b, 1000, true, true) })
}
