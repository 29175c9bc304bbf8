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

// eventCheck is how a subscription checks events for one viewer: the
// read of its rule and where/filter with that viewer's @request, and the
// read prepared for memory (db.MatchPlan). It is built once per viewer
// and schema version (an upgrade drops it; a changed viewer record is a
// new *auth.Viewer) and never changed after, so other batches' leaders
// may read it.
type eventCheck struct {
	viewer *auth.Viewer
	read   *db.Read // nil: nothing to check, every event is visible
	plan   *db.MatchPlan
}

// currentViewer returns the viewer events are checked for now: the
// socket's (kept up to date with its record), else the one at subscribe.
func (s *subscription) currentViewer() *auth.Viewer {
	if s.link != nil {
		return s.link.currentViewer()
	}
	return s.viewer
}

// check returns s's event check for its viewer now, s running on ctx in
// batch b. A new check is published to b's leaders with s.
func (s *subscription) check(ctx context.Context, b *subBatch) *eventCheck {
	viewer := s.currentViewer()
	if c := s.chk; c != nil && c.viewer == viewer {
		return c
	}
	c := &eventCheck{viewer: viewer, read: s.checkRead(ctx, viewer)}
	if c.read != nil {
		c.plan = s.v.eng.cfg.DB.PrepareMatch(c.read)
	}
	s.chk = c
	if s.memoKey == b.key {
		b.publishCheck(s, ctx)
	}
	return c
}

// checkRead returns the read that checks events for s run on ctx, as
// seen by viewer: its rule and where/filter with @request; nil when there
// is nothing to check.
func (s *subscription) checkRead(ctx context.Context, viewer *auth.Viewer) *db.Read {
	if s.spec.rule == nil && len(s.spec.exprs) == 0 {
		return nil
	}
	x := s.eventOperation(ctx, viewer)
	return x.withRequest(x.read(s.spec))
}

// visible evaluates the rule and the where/filter of s against the
// record as the event carries it (its state at that commit: the new
// values for creates and updates, the last values for deletes, so a
// delete reaches those who could see the record before it went): in
// memory when it can, else from the event's shared statement (b set and
// it answers), else with a statement of its own. Relations in the rule
// are read as they are now.
func (c *eventCheck) visible(ctx context.Context, s *subscription, ev *subscriptions.Event, b *subBatch) (bool, error) {
	if c.read == nil {
		return true, nil
	}
	if m, ok := c.plan.Match(ev.Record); ok {
		return m, nil
	}
	if b != nil {
		if m, found := b.sharedMatch(ctx, s, c, ev); found {
			return m, nil
		}
	}
	ok, err := s.v.eng.cfg.DB.ReadMatch(ctx, c.read, ev.Record)
	if err != nil {
		return false, readErr(s.spec.t.coll, err)
	}
	return ok, nil
}

// sharedMatch answers the check c of s on ev's record from the event's
// shared statement; found is false when the batch must run its own.
func (b *subBatch) sharedMatch(ctx context.Context, s *subscription, c *eventCheck, ev *subscriptions.Event) (match, found bool) {
	g, leader := b.reg.groups.group(b.collID, ev)
	if g == nil {
		return false, false
	}
	if leader {
		b.lead(ctx, g, s, c, ev)
	} else {
		<-g.done
	}
	res, ok := g.res[matchKey{s.v, s.memoKey}]
	if !ok || res.viewer != c.viewer {
		return false, false
	}
	return res.match, true
}

// lead checks ev's record for this batch (s, check c) and every other
// batch of the collection that wants the event, in as few statements as
// db.ReadMatchMany takes, and publishes the answers in g. A batch's
// published check is reused while its viewer stays.
func (b *subBatch) lead(ctx context.Context, g *matchGroup, s *subscription, c *eventCheck, ev *subscriptions.Event) {
	defer close(g.done)
	keys := []matchKey{{s.v, s.memoKey}}
	viewers := []*auth.Viewer{c.viewer}
	reads := []*db.Read{c.read}
	seen := map[matchKey]bool{keys[0]: true}
	for _, o := range b.reg.otherChecks(b) {
		cs := &o.s
		k := matchKey{cs.v, cs.memoKey}
		if seen[k] || !cs.wants(ev) || (cs.spec.rule == nil && len(cs.spec.exprs) == 0) {
			continue
		}
		seen[k] = true
		viewer := cs.currentViewer()
		r := cs.chk.readFor(viewer)
		if r == nil {
			r = cs.checkRead(o.ctx, viewer)
		}
		keys = append(keys, k)
		viewers = append(viewers, viewer)
		reads = append(reads, r)
	}
	matches, errs := s.v.eng.cfg.DB.ReadMatchMany(ctx, reads, ev.Record)
	g.res = make(map[matchKey]matchResult, len(keys))
	for i, k := range keys {
		if errs[i] == nil {
			g.res[k] = matchResult{viewers[i], matches[i]}
		}
	}
}

// readFor returns c's read when c (which may be nil) is viewer's.
func (c *eventCheck) readFor(viewer *auth.Viewer) *db.Read {
	if c == nil || c.viewer != viewer {
		return nil
	}
	return c.read
}

// eventOperation returns the operation, without a response, that checks
// an event for s run on ctx as seen by viewer.
func (s *subscription) eventOperation(ctx context.Context, viewer *auth.Viewer) *operation {
	x := &operation{v: s.v, d: s.v.eng.cfg.DB, ctx: ctx, dbctx: ctx, fctx: ctx, oc: s.oc, viewer: viewer}
	x.setAccess("realtime")
	return x
}
