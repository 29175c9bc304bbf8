package dynschema

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/monobase/monobase/db"
)

// Batches (sub_batch.go): the subscriptions that share a group key share a
// hub subscriber, and the events go straight to their sockets.

// TestSubscriptionRoutesPerOperation: several subscriptions on one socket,
// in one batch (same viewer and document), each get their events under
// their own id, ids that need JSON escaping included; stopping one leaves
// the others running.
func TestSubscriptionRoutesPerOperation(t *testing.T) {
	for _, proto := range []string{protoTransportWS, protoLegacyWS} {
		t.Run(proto, func(t *testing.T) {
			en := newEnv(t)
			en.subPosts()
			c := en.connect(proto, nil)
			const q = `subscription { postChanged { action record { title } } }`
			ids := []string{"1", `quote " and \ backslash`, "é<&>", "2"}
			for _, id := range ids {
				c.subscribe(id, q, nil)
			}
			en.waitSubscribers("posts", len(ids))
			en.e.batches.mu.Lock()
			for _, b := range en.e.batches.m {
				if len(b.members) != len(ids) {
					t.Errorf("a batch of %d, want the %d subscriptions in one", len(b.members), len(ids))
				}
				for _, m := range b.members {
					if m.route == nil {
						t.Error("a subscription over the WebSocket has no route: its events would take the slow path")
					}
				}
			}
			en.e.batches.mu.Unlock()
			en.insert("posts", db.RecordInput{"title": "first"})
			for _, id := range ids {
				if _, rec := recordOf(t, c.next(id), "postChanged"); rec["title"] != "first" {
					t.Errorf("%q got %v", id, rec)
				}
			}
			c.stop(ids[1])
			if ev := c.next(ids[1]); ev.Type != "complete" {
				t.Fatalf("stopped %q: got %s %s, want complete", ids[1], ev.Type, ev.raw)
			}
			en.waitSubscribers("posts", len(ids)-1)
			en.insert("posts", db.RecordInput{"title": "second"})
			for _, id := range []string{ids[0], ids[2], ids[3]} {
				if _, rec := recordOf(t, c.next(id), "postChanged"); rec["title"] != "second" {
					t.Errorf("%q got %v", id, rec)
				}
			}
			c.expectQuiet(ids[1], 50*time.Millisecond)
		})
	}
}

// TestSubscriptionJoinsRunningBatch: a subscription that joins a batch
// while the batch still has an older event to deliver does not get that
// event (it was published before the subscription started), and gets every
// later one. The batch's goroutine is driven by hand to make the
// interleaving certain.
func TestSubscriptionJoinsRunningBatch(t *testing.T) {
	en := newEnv(t)
	en.subPosts()
	const q = `subscription { postChanged { action record { title } } }`
	var manual *subBatch
	en.e.batches.start = func(b *subBatch) { manual = b }

	first, stopFirst := en.dispatch(t, q)
	defer stopFirst()
	if manual == nil {
		t.Fatal("no batch was started")
	}
	en.insert("posts", db.RecordInput{"title": "before"})
	en.hub.Flush()
	before := <-manual.hub.C // delivered to the batch, not yet to its members

	second, stopSecond := en.dispatch(t, q)
	defer stopSecond()
	if n := len(manual.members); n != 2 {
		t.Fatalf("the batch has %d members, want both subscriptions", n)
	}
	manual.handle(before)
	en.insert("posts", db.RecordInput{"title": "after"})
	en.hub.Flush()
	manual.handle(<-manual.hub.C)

	titles := func(next graphql.ResponseHandler, n int) string {
		var got []string
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		for range n {
			resp := next(ctx)
			if resp == nil {
				break
			}
			got = append(got, string(resp.Data))
		}
		return strings.Join(got, "\n")
	}
	if got := titles(first, 2); !strings.Contains(got, `"before"`) || !strings.Contains(got, `"after"`) {
		t.Errorf("the first subscription got\n%s\nwant both events", got)
	}
	if got := titles(second, 1); strings.Contains(got, `"before"`) || !strings.Contains(got, `"after"`) {
		t.Errorf("the second subscription got\n%s\nwant only the event published after it joined", got)
	}
}

// TestSubscriptionWithoutSocket: an operation that did not come over the
// engine's WebSocket (the engine used as a graphql.GraphExecutor by
// another transport) has no route: its events come back from its response
// handler, in order, and a consumer that stops reading is ended with
// RATE_LIMITED at once rather than fed what is stale.
func TestSubscriptionWithoutSocket(t *testing.T) {
	en := newEnv(t)
	posts := en.subPosts()
	next, stop := en.dispatch(t, `subscription { postChanged { action record { title } } }`)
	for i := range 3 {
		en.insert("posts", db.RecordInput{"title": fmt.Sprint("t", i)})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i := range 3 {
		resp := next(ctx)
		if resp == nil || len(resp.Errors) > 0 || !strings.Contains(string(resp.Data), fmt.Sprintf(`"title":"t%d"`, i)) {
			t.Fatalf("response %d: %+v", i, resp)
		}
	}

	t.Run("a consumer that stops reading is ended as slow", func(t *testing.T) {
		for i := range memberBuffer + 5 {
			en.insert("posts", db.RecordInput{"title": fmt.Sprint("flood", i)})
		}
		en.hub.Flush()
		deadline := time.Now().Add(5 * time.Second)
		for en.e.Subscribers(posts.ID) != 0 {
			if time.Now().After(deadline) {
				t.Fatal("the unread subscription is still running")
			}
			time.Sleep(2 * time.Millisecond)
		}
		resp := next(ctx)
		if resp == nil || len(resp.Errors) != 1 || resp.Errors[0].Extensions["code"] != "RATE_LIMITED" {
			t.Fatalf("got %+v, want the RATE_LIMITED error first", resp)
		}
		if resp := next(ctx); resp != nil {
			t.Errorf("after the error: %+v, want the end", resp)
		}
	})
	stop()
}

// dispatch starts the subscription q on the engine as a GraphExecutor
// (no WebSocket) and returns its response handler and a stop function.
func (en *env) dispatch(t *testing.T, q string) (graphql.ResponseHandler, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(graphql.StartOperationTrace(context.Background()))
	oc, errs := en.e.CreateOperationContext(ctx, &graphql.RawParams{Query: q})
	if errs != nil {
		t.Fatal(errs)
	}
	next, ctx := en.e.DispatchOperation(graphql.WithOperationContext(ctx, oc), oc)
	return func(c context.Context) *graphql.Response {
		done := context.AfterFunc(c, cancel) // a test timeout ends the subscription
		defer done()
		return next(ctx)
	}, cancel
}

// TestResponseJSONMatchesGqlgen: the payload a batch writes once for all
// its members is byte for byte what gqlgen's json.Marshal of the response
// would have sent to each.
func TestResponseJSONMatchesGqlgen(t *testing.T) {
	errs := gqlerror.List{
		{Message: `forbidden "x"`, Path: ast.Path{ast.PathName("postChanged"), ast.PathName("record")},
			Extensions: map[string]any{"code": "FORBIDDEN"}},
	}
	for _, tc := range []struct {
		data string
		errs gqlerror.List
	}{
		{`{"postChanged":{"action":"CREATE"}}`, nil},
		{`{"postChanged":null}`, errs},
		{`null`, errs},
	} {
		want, err := json.Marshal(&graphql.Response{Data: json.RawMessage(tc.data), Errors: tc.errs})
		if err != nil {
			t.Fatal(err)
		}
		if got := responseJSON([]byte(tc.data), tc.errs); string(got) != string(want) {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	}
}
