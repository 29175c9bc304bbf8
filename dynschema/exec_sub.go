package dynschema

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/monobase/monobase/access"
	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/auth"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/subscriptions"
	"github.com/monobase/monobase/transport"
)

// subscription is the setup of one running <name>Changed stream: what it
// selects and which events it may see. Its batch (sub_batch.go) upgrades
// it when the schema changes.
type subscription struct {
	v       *version // the schema version it runs on (see upgrade)
	oc      *graphql.OperationContext
	f       graphql.CollectedField
	t       *objType
	viewer  *auth.Viewer // as at subscribe; events read link's when there is one
	link    *wsLink      // the WebSocket session it runs on, nil for other transports
	id      string
	actions map[string]bool
	spec    *listSpec   // rule (view for one id, list otherwise) and where/filter
	memoKey string      // subscriptions with equal keys see the same for every event
	tried   uint64      // the last version seq an upgrade was tried for
	chk     *eventCheck // the event check for the last viewer (sub_match.go)
}

// eventResult is the outcome of one event for one memo key: skipped, or
// the response as JSON (payload) and as its parts (data, errs).
type eventResult struct {
	skip    bool
	data    []byte
	errs    gqlerror.List
	payload []byte // {"errors":…,"data":…} as gqlgen would encode the response
}

// response returns the result as a gqlgen response of its own (the
// errors are clipped so that gqlgen's appends copy them).
func (r *eventResult) response() *graphql.Response {
	return &graphql.Response{Data: r.data, Errors: slices.Clip(r.errs)}
}

func errorResponse(ctx context.Context, err error) *graphql.Response {
	return &graphql.Response{Errors: gqlerror.List{present(ctx, err)}}
}

// subscribe starts a subscription: it joins the batch of its group key at
// once (so no event published after the start is missed; none published
// before is sent), and the batch delivers its events (sub_batch.go). The
// returned handler only waits for the end: the batch's error (the
// collection was deleted, the client was too slow), or nothing when the
// client stops or the server shuts down.
func (v *version) subscribe(ctx context.Context, oc *graphql.OperationContext) graphql.ResponseHandler {
	link := linkOf(oc)
	if link != nil {
		max := v.eng.limits.MaxSubscriptionsPerSocket
		if !link.takeSub(max) {
			return graphql.OneShot(errorResponse(ctx, apperr.New(apperr.RateLimited,
				"too many subscriptions on this connection (at most %d): stop one first, or open another connection", max)))
		}
		// ctx is the operation's: it ends when the subscription does.
		context.AfterFunc(ctx, link.releaseSub)
	}
	if f, ef := v.customSubscription(oc); ef != nil {
		return v.subscribeCustom(ctx, oc, f, ef) // extend.go
	}
	s := &subscription{}
	resp, err := s.setup(ctx, v, oc)
	if err != nil {
		return graphql.OneShot(errorResponse(ctx, err))
	}
	if resp != nil {
		return graphql.OneShot(resp)
	}
	if v.eng.cfg.Hub == nil {
		return func(ctx context.Context) *graphql.Response {
			<-ctx.Done()
			return nil
		}
	}
	m := v.eng.batches.join(v.eng, s, ctx, transport.RouteOf(ctx))
	// ctx descends from the transport's cancelable operation context, so
	// this registers a callback rather than starting a goroutine.
	context.AfterFunc(ctx, m.leave)
	if link != nil && !link.addMember(m) {
		// The session ended between the start and now.
		m.batch.drop(m, errorResponse(ctx, link.endedErr()), false)
	}
	return m.next
}

// setup reads the operation oc of version v into s: the field, its
// collection, the arguments, the rule that applies and the group key. It
// returns the error that refuses the subscription (FORBIDDEN when the rule
// is null for the viewer, BAD_USER_INPUT for a bad filter), or a response
// for a selection of __typename alone.
func (s *subscription) setup(ctx context.Context, v *version, oc *graphql.OperationContext) (*graphql.Response, error) {
	fields := graphql.CollectFields(oc, oc.Operation.SelectionSet, []string{"Subscription"})
	if len(fields) != 1 {
		return nil, apperr.New(apperr.Invalid, "a subscription selects exactly one field")
	}
	f := fields[0]
	if f.Name == "__typename" {
		return &graphql.Response{Data: []byte(`{"` + f.Alias + `":"Subscription"}`)}, nil
	}
	rf := v.m.subscription[f.Name]
	if rf == nil {
		return nil, apperr.New(apperr.Invalid, "unknown subscription %s", f.Name)
	}
	x := v.newOperation(ctx, oc)
	x.setAccess("realtime")
	args := f.ArgumentMap(oc.Variables)
	*s = subscription{v: v, oc: oc, f: f, t: rf.t, viewer: x.viewer, link: linkOf(oc), tried: v.seq}
	s.id, _ = args["id"].(string)
	o := access.List
	if s.id != "" {
		o = access.View
	}
	dec, err := x.acc.Require(rf.t.coll, o)
	if err != nil {
		return nil, err
	}
	s.spec = &listSpec{t: rf.t, rule: dec.Where}
	if err := x.readFilters(s.spec, args); err != nil {
		return nil, err
	}
	// A filter or where that parses but does not compile (an unknown or
	// hidden field, a bad operand) is refused here, once, not at every
	// event.
	if err := x.d.CheckRead(x.withRequest(x.read(s.spec))); err != nil {
		return nil, readErr(rf.t.coll, err)
	}
	if acts := asList(args["actions"]); len(acts) > 0 {
		s.actions = map[string]bool{}
		for _, a := range acts {
			if str, ok := a.(string); ok {
				s.actions[str] = true
			}
		}
	}
	s.memoKey = groupKey(v, x, oc, rf.t)
	return nil, nil
}

// upgrade moves the subscription to the current schema version cur, so
// that events are checked against the rules as they are now (an admin who
// tightens a rule does not wait for clients to reconnect). It re-validates
// the document on cur; if it no longer validates (a selected field was
// dropped), the subscription stays on its version. It returns the error
// that ends the subscription when the viewer may no longer subscribe.
func (s *subscription) upgrade(ctx context.Context, cur *version) error {
	s.tried = cur.seq
	params := &graphql.RawParams{
		Query:         s.oc.RawQuery,
		OperationName: s.oc.OperationName,
		Variables:     s.oc.Variables,
		Headers:       s.oc.Headers,
	}
	oc, errs := cur.exec.CreateOperationContext(ctx, params)
	if errs != nil {
		return nil
	}
	if s.link != nil {
		oc.Stats.SetExtension(wsLinkExt, s.link) // the viewer as it is now
	}
	next := &subscription{}
	if _, err := next.setup(ctx, cur, oc); err != nil {
		return err
	}
	if next.t == nil || next.t.coll.ID != s.t.coll.ID {
		return nil
	}
	next.viewer = s.viewer
	*s = *next
	return nil
}

// groupKey identifies the subscriptions that see the same thing for an
// event on one schema version: the same collection, viewer, document,
// operation and variables (hence the same selection, arguments and
// rules). They share one rule check and one rendering of each event (see
// subBatch). When a rule of the schema or the document reads
// @request.headers or @request.query, those of the connection are part of
// the key too.
func groupKey(v *version, x *operation, oc *graphql.OperationContext, t *objType) string {
	vars, _ := json.Marshal(oc.Variables)
	viewerKey := "anon"
	if vw := x.viewer; vw != nil {
		viewerKey = fmt.Sprintf("%t:%s:%s", vw.Superuser, collID(vw.Collection), vw.ID())
	}
	parts := []string{t.coll.ID, viewerKey, oc.RawQuery, oc.OperationName, string(vars)}
	if usesRequestData(v, oc.RawQuery+string(vars)) {
		req, _ := json.Marshal(x.acc.RequestInfo())
		parts = append(parts, string(req))
	}
	return strings.Join(parts, "\x00")
}

// usesRequestData reports whether a rule of v's collections or the
// operation text may read @request.headers or @request.query, which differ
// between connections.
func usesRequestData(v *version, operation string) bool {
	refers := func(s string) bool {
		return strings.Contains(s, "@request.headers") || strings.Contains(s, "@request.query")
	}
	if strings.Contains(operation, "@request") {
		return true
	}
	for _, c := range v.colls {
		for _, r := range []*string{c.ListRule, c.ViewRule} {
			if r != nil && refers(*r) {
				return true
			}
		}
	}
	return false
}

func collID(c *db.Collection) string {
	if c == nil {
		return ""
	}
	return c.ID
}

// wants reports whether the event is one the arguments ask for (actions,
// id); the rule and where/filter are checked by compute.
func (s *subscription) wants(ev *subscriptions.Event) bool {
	if s.actions != nil && !s.actions[string(ev.Action)] {
		return false
	}
	return s.id == "" || ev.Record.ID() == s.id
}

// endError is the GraphQL error that ends the stream when the hub closed
// the subscriber with err.
func (s *subscription) endError(err error) error {
	switch {
	case errors.Is(err, subscriptions.ErrCollectionDeleted):
		return apperr.New(apperr.NotFound, "the collection %s was deleted", s.t.coll.Name)
	case errors.Is(err, subscriptions.ErrSlowConsumer):
		return apperr.New(apperr.RateLimited, "the subscription fell too far behind the events and was closed (slow consumer); subscribe again and refetch")
	case apperr.As(err) != nil:
		return err
	}
	return apperr.New(apperr.Conflict, "the subscription ended: %v", err)
}

// skipped is the result of an event the subscription does not see.
var skipped = &eventResult{skip: true}

// compute checks that the viewer may see the event's record (with the
// other batches of the event when b is set: sub_match.go) and writes the
// selection for it. The check comes first and builds nothing: most
// events of a collection are not a given viewer's.
func (s *subscription) compute(ctx context.Context, ev *subscriptions.Event, b *subBatch) *eventResult {
	rec := ev.Record
	if rec == nil {
		return skipped
	}
	chk := s.check(ctx, b)
	visible, err := chk.visible(ctx, s, ev, b.sharer())
	if err == nil && !visible {
		return skipped
	}
	ctx = graphql.WithFreshResponseContext(context.WithoutCancel(ctx))
	if err != nil {
		errs := gqlerror.List{present(ctx, err)}
		return &eventResult{errs: errs, data: []byte("null"), payload: responseJSON([]byte("null"), errs)}
	}
	x := s.v.newOperation(ctx, s.oc)
	x.viewer = chk.viewer
	x.setAccess("realtime")
	f := s.f
	x.buf = append(x.buf, '{')
	x.buf = appendKey(x.buf, f.Alias)
	x.push(f.Alias)
	ok := x.rootField("Subscription", f, true, func() bool {
		sub := graphql.CollectFields(x.oc, f.Selections, []string{s.t.name + "Change"})
		written := x.writeObject(sub, func(cf graphql.CollectedField) bool {
			switch cf.Name {
			case "__typename":
				x.buf = appendString(x.buf, s.t.name+"Change")
			case "action":
				x.buf = appendString(x.buf, string(ev.Action))
			case "record":
				return x.writeRecord(x.load(s.t, cf.Selections, []db.Record{rec}), rec)
			default:
				x.buf = append(x.buf, "null"...)
			}
			return true
		})
		if !written {
			return x.nullFor(f.Field, true, true)
		}
		return true
	})
	x.pop()
	out := &eventResult{errs: graphql.GetErrors(ctx)}
	if !ok {
		out.data = []byte("null")
	} else {
		x.buf = append(x.buf, '}')
		out.data = x.buf
	}
	out.payload = responseJSON(out.data, out.errs)
	return out
}

// responseJSON encodes a response like json.Marshal of graphql.Response:
// {"errors":[…],"data":…}, errors only when there are some.
func responseJSON(data []byte, errs gqlerror.List) []byte {
	return transport.AppendResponse(make([]byte, 0, len(data)+16), data, errs)
}
