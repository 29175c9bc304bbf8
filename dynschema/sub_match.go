package dynschema

import (
	"context"
	"sync"

	"github.com/monobase/monobase/auth"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/subscriptions"
)

// One statement per event for the batches that need SQL.
//
// Each batch checks an event's record against its viewer's rule and
// where/filter (eventVisible). When memory cannot evaluate the check
// (db.MatchInMemory) and other batches of the collection exist, the first
// batch to get there for the event (the leader) checks every batch of the
// collection at once: it builds each one's read from the batch's last
// published setup (batchCheck) and runs db.ReadMatchMany, one statement
// per db.MatchManyMax batches. The others wait for the leader and take
// their answer, keyed by schema version and memo key and kept only when
// the viewer the leader used is the batch's viewer now; anything else
// (an upgrade since, a failed statement, an event too old to have a
// group) checks alone, as before. The answers are those the batch's own
// statement would give: the same read on the same record.

// matchGroupsKept bounds the events per collection whose answers are kept
// for batches that are behind.
const matchGroupsKept = 8

// matchGroups is the registry's shared checks by collection id.
type matchGroups struct {
	mu     sync.Mutex
	byColl map[string][]*matchGroup // oldest first
}

// matchGroup is the shared check of one event.
type matchGroup struct {
	seq  uint64
	done chan struct{}            // closed by the leader
	res  map[matchKey]matchResult // written before done closes
}

type matchKey struct {
	v    *version
	memo string
}

type matchResult struct {
	viewer *auth.Viewer
	match  bool
}

// batchCheck is what a batch checks events with, as of its last setup or
// upgrade: a copy the leader of an event may read from its goroutine.
type batchCheck struct {
	s   subscription
	ctx context.Context
}

// sharer returns b, or nil when batches check alone.
func (b *subBatch) sharer() *subBatch {
	if b.reg.solo {
		return nil
	}
	return b
}

// publishCheck makes s (run on ctx) the setup other batches' leaders
// check b with.
func (b *subBatch) publishCheck(s *subscription, ctx context.Context) {
	b.check.Store(&batchCheck{s: *s, ctx: ctx})
}

// group returns the shared check of ev, and whether the caller leads it
// (created it); nil when ev is older than every kept group.
func (g *matchGroups) group(coll string, ev *subscriptions.Event) (*matchGroup, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	list := g.byColl[coll]
	for _, mg := range list {
		if mg.seq == ev.Seq {
			return mg, false
		}
	}
	if n := len(list); n > 0 && ev.Seq < list[n-1].seq {
		return nil, false
	}
	mg := &matchGroup{seq: ev.Seq, done: make(chan struct{})}
	if len(list) >= matchGroupsKept {
		list = append(list[:0], list[1:]...)
	}
	if g.byColl == nil {
		g.byColl = make(map[string][]*matchGroup)
	}
	g.byColl[coll] = append(list, mg)
	return mg, true
}

// otherChecks returns the published setups of the collection's other
// batches.
func (r *subBatches) otherChecks(b *subBatch) []*batchCheck {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*batchCheck
	for _, o := range r.m {
		if o == b || o.collID != b.collID {
			continue
		}
		if c := o.check.Load(); c != nil {
			out = append(out, c)
		}
	}
	return out
}

// sharedMatch answers the check of read r (of x, for s) on ev's record in
// memory or from the event's shared statement; found is false when the
// batch must run its own.
func (b *subBatch) sharedMatch(x *operation, s *subscription, r *db.Read, ev *subscriptions.Event) (match, found bool) {
	if m, ok := x.d.MatchInMemory(r, ev.Record); ok {
		return m, true
	}
	g, leader := b.reg.groups.group(b.collID, ev)
	if g == nil {
		return false, false
	}
	if leader {
		b.lead(g, x, s, r, ev)
	} else {
		<-g.done
	}
	res, ok := g.res[matchKey{s.v, s.memoKey}]
	if !ok || res.viewer != x.viewer {
		return false, false
	}
	return res.match, true
}

// lead checks ev's record for this batch (read r) and every other batch
// of the collection that wants the event, in as few statements as
// db.ReadMatchMany takes, and publishes the answers in g.
func (b *subBatch) lead(g *matchGroup, x *operation, s *subscription, r *db.Read, ev *subscriptions.Event) {
	defer close(g.done)
	keys := []matchKey{{s.v, s.memoKey}}
	viewers := []*auth.Viewer{x.viewer}
	reads := []*db.Read{r}
	seen := map[matchKey]bool{keys[0]: true}
	for _, c := range b.reg.otherChecks(b) {
		cs := &c.s
		k := matchKey{cs.v, cs.memoKey}
		if seen[k] || !cs.wants(ev) || (cs.spec.rule == nil && len(cs.spec.exprs) == 0) {
			continue
		}
		seen[k] = true
		y := cs.eventOperation(c.ctx)
		keys = append(keys, k)
		viewers = append(viewers, y.viewer)
		reads = append(reads, y.withRequest(y.read(cs.spec)))
	}
	matches, errs := x.d.ReadMatchMany(x.dbctx, reads, ev.Record)
	g.res = make(map[matchKey]matchResult, len(keys))
	for i, k := range keys {
		if errs[i] == nil {
			g.res[k] = matchResult{viewers[i], matches[i]}
		}
	}
}

// eventOperation returns the operation, without a response, that checks
// an event for s run on ctx: the viewer and access compute uses.
func (s *subscription) eventOperation(ctx context.Context) *operation {
	x := &operation{v: s.v, d: s.v.eng.cfg.DB, ctx: ctx, dbctx: ctx, fctx: ctx, oc: s.oc, viewer: s.viewer}
	if s.link != nil {
		x.viewer = s.link.currentViewer()
	}
	x.setAccess("realtime")
	return x
}
