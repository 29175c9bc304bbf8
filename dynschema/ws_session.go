package dynschema

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/auth"
	"github.com/monobase/monobase/db"
)

// WebSocket sessions: who a socket acts for, and the caps on sockets.
//
// A socket's viewer is read from its token once, at connection_init, and
// kept in its wsLink. Every operation on the socket (each subscription
// event included) reads the viewer from there, never from the token again,
// so the hot path (event fan-out) costs one atomic load. What changes the
// viewer comes from the database instead: every committed change of an
// auth record (db.DB.OnRecordChange, before the hub sees the change) is
// matched against the registry of authenticated sockets by record id:
//
//   - a change of the record's password or tokenKey, or its deletion,
//     revokes its tokens (auth.TokenRevoked): the socket's subscriptions end
//     with UNAUTHENTICATED, then complete, and every later operation on the
//     socket is refused with UNAUTHENTICATED (the socket stays open, so that
//     the client sees why; it reconnects with a new token);
//   - any other change refreshes the viewer (@request.auth.*) before the
//     next event is checked;
//   - the token's expiry ends the socket's session the same way, by a timer.
//
// The hook runs in commit order, before the change is published to the
// subscriptions, so no event committed after a revocation reaches the
// revoked viewer.

// wsLinkKey is the context key of a WebSocket request's *wsLink.
type wsLinkKey struct{}

// OpenSocket implements transport.Engine: the context of a new WebSocket
// carries its session, which ends (is unregistered) with the returned
// func.
func (e *Engine) OpenSocket(ctx context.Context) (context.Context, func()) {
	link := &wsLink{} // filled in by AuthenticateSocket
	return context.WithValue(ctx, wsLinkKey{}, link), func() { e.sockets.unregister(link) }
}

// AuthenticateSocket implements transport.Engine: it authenticates the
// token of a socket's connection_init and makes the session of ctx follow
// its viewer from then on. It returns UNAUTHENTICATED for a bad token
// (or without an Authenticator), or the error of re-reading the viewer.
func (e *Engine) AuthenticateSocket(ctx context.Context, tok string) (context.Context, error) {
	if e.cfg.Auth == nil {
		return ctx, apperr.New(apperr.Unauthenticated, "authentication is not configured")
	}
	seen := e.sockets.seq()
	nctx, err := e.cfg.Auth.Authenticate(ctx, tok)
	if err != nil {
		return ctx, err
	}
	if link, _ := ctx.Value(wsLinkKey{}).(*wsLink); link != nil {
		if v := auth.ViewerFrom(nctx); v != nil {
			if err := e.sockets.register(ctx, e.cfg.DB, link, v, tok, seen); err != nil {
				return ctx, err
			}
		}
	}
	return nctx, nil
}

// wsLinkExt is the operation stats extension that holds the *wsLink of an
// operation read from our WebSocket (see Engine.CreateOperationContext).
const wsLinkExt = "monobase.wsLink"

// wsLink is the session of one WebSocket request: OpenSocket puts an
// empty one in the request's context and AuthenticateSocket fills in the
// viewer (both on the request's goroutine before any operation).
type wsLink struct {
	viewer atomic.Pointer[auth.Viewer]  // nil: anonymous
	key    string                       // registry key (viewerKey); "" for anonymous
	ended  atomic.Pointer[apperr.Error] // why the session ended (revoked token); nil while valid
	subs   atomic.Int32                 // running subscriptions (the cap)
	expiry *time.Timer                  // ends the session at the token's exp; guarded by reg.mu

	mu      sync.Mutex
	members map[*member]struct{} // running subscriptions, ended on revocation (authenticated sockets only)
}

// linkOf returns the WebSocket session an operation was read from, nil for
// other transports.
func linkOf(oc *graphql.OperationContext) *wsLink {
	if oc == nil {
		return nil
	}
	l, _ := oc.Stats.GetExtension(wsLinkExt).(*wsLink)
	return l
}

// currentViewer returns the socket's viewer as it is now.
func (l *wsLink) currentViewer() *auth.Viewer { return l.viewer.Load() }

// endedErr returns the error that refuses operations on a session whose
// token was revoked or expired, nil while it is valid.
func (l *wsLink) endedErr() error {
	if e := l.ended.Load(); e != nil {
		return e
	}
	return nil
}

// takeSub counts one more running subscription; it reports false (and
// counts nothing) when max are running.
func (l *wsLink) takeSub(max int) bool {
	if l.subs.Add(1) > int32(max) {
		l.subs.Add(-1)
		return false
	}
	return true
}

func (l *wsLink) releaseSub() { l.subs.Add(-1) }

// addMember records m as a running subscription of an authenticated
// session; it reports false when the session has ended (the caller ends
// m).
func (l *wsLink) addMember(m *member) bool {
	if l.key == "" {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ended.Load() != nil {
		return false
	}
	if l.members == nil {
		l.members = make(map[*member]struct{})
	}
	l.members[m] = struct{}{}
	return true
}

func (l *wsLink) removeMember(m *member) {
	if l.key == "" {
		return
	}
	l.mu.Lock()
	delete(l.members, m)
	l.mu.Unlock()
}

// end ends the session with err: its running subscriptions end with err
// (then complete) and later operations are refused with it. Only the first
// call counts.
func (l *wsLink) end(err *apperr.Error) {
	l.mu.Lock()
	if !l.ended.CompareAndSwap(nil, err) {
		l.mu.Unlock()
		return
	}
	members := l.members
	l.members = nil
	l.mu.Unlock()
	for m := range members {
		m.batch.drop(m, errorResponse(m.ctx, err), false)
	}
}

// wsRegistry is the engine's authenticated WebSocket sessions by viewer
// (the transport counts the sockets per client IP).
type wsRegistry struct {
	mu       sync.Mutex
	byViewer map[string]map[*wsLink]struct{}
	authSeq  uint64 // auth record changes seen (see register)
}

// viewerKey identifies an auth record: its collection id and record id.
func viewerKey(collID, recordID string) string { return collID + "\x00" + recordID }

// seq returns how many auth record changes the registry has seen.
func (r *wsRegistry) seq() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.authSeq
}

// register makes the authenticated session l follow its viewer v, whose
// token (tok) was validated when the registry had seen seen auth changes.
// If an auth record changed since (its change may have been committed
// after Authenticate read the record, and before l was registered to hear
// of it), the record is read again and checked as the change hook would.
// It returns UNAUTHENTICATED when the token was revoked meanwhile, or
// the read's error.
func (r *wsRegistry) register(ctx context.Context, d *db.DB, l *wsLink, v *auth.Viewer, tok string, seen uint64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.authSeq != seen {
		recs, err := d.FindByIDs(ctx, v.Collection, []string{v.ID()})
		if err != nil {
			return apperr.Wrap(err, "re-read the viewer of a WebSocket")
		}
		var now db.Record
		if len(recs) == 1 {
			now = recs[0]
		}
		if auth.TokenRevoked(v.Record, now) {
			return apperr.New(apperr.Unauthenticated, "invalid or expired token")
		}
		v = &auth.Viewer{Collection: v.Collection, Record: now, Superuser: v.Superuser}
	}
	l.key = viewerKey(v.Collection.ID, v.ID())
	l.viewer.Store(v)
	if r.byViewer == nil {
		r.byViewer = make(map[string]map[*wsLink]struct{})
	}
	set := r.byViewer[l.key]
	if set == nil {
		set = make(map[*wsLink]struct{})
		r.byViewer[l.key] = set
	}
	set[l] = struct{}{}
	if exp, ok := auth.TokenExpiry(tok); ok {
		l.expiry = time.AfterFunc(time.Until(exp), func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.endLocked(l, apperr.New(apperr.Unauthenticated, "the token expired: connect again with a new one"))
		})
	}
	return nil
}

// unregister forgets the session l when its socket ends.
func (r *wsRegistry) unregister(l *wsLink) {
	if l.key == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.forgetLocked(l)
}

func (r *wsRegistry) forgetLocked(l *wsLink) {
	if l.expiry != nil {
		l.expiry.Stop()
		l.expiry = nil
	}
	if set := r.byViewer[l.key]; set != nil {
		delete(set, l)
		if len(set) == 0 {
			delete(r.byViewer, l.key)
		}
	}
}

// endLocked ends the session l with err and forgets it. r.mu must be held.
func (r *wsRegistry) endLocked(l *wsLink, err *apperr.Error) {
	r.forgetLocked(l)
	l.end(err)
}

// recordChanged is the part of db.DB.OnRecordChange that keeps sessions in
// step with their auth records (see the top of this file). It returns at
// once for other collections.
func (r *wsRegistry) recordChanged(ev db.RecordEvent) {
	if ev.Collection == nil || !ev.Collection.IsAuth() {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.authSeq++
	set := r.byViewer[viewerKey(ev.Collection.ID, ev.Record.ID())]
	for l := range set {
		cur := l.viewer.Load()
		now := ev.Record
		if ev.Action == db.ActionDelete {
			now = nil
		}
		if auth.TokenRevoked(cur.Record, now) {
			msg := "the token was revoked (the password or tokenKey changed): connect again with a new token"
			if now == nil {
				msg = "the signed-in record was deleted"
			}
			r.endLocked(l, apperr.New(apperr.Unauthenticated, "%s", msg))
			continue
		}
		l.viewer.Store(&auth.Viewer{Collection: ev.Collection, Record: now, Superuser: cur.Superuser})
	}
}

// collectionsChanged ends the sessions whose auth collection is not among
// colls any more (it was deleted, and its records with it), and gives the
// others their collection as it is now (@request.auth.* reads its fields).
func (r *wsRegistry) collectionsChanged(colls []*db.Collection) {
	byID := make(map[string]*db.Collection, len(colls))
	for _, c := range colls {
		byID[c.ID] = c
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, set := range r.byViewer {
		for l := range set {
			v := l.viewer.Load()
			switch c := byID[v.Collection.ID]; {
			case c == nil:
				r.endLocked(l, apperr.New(apperr.Unauthenticated, "the signed-in record's collection was deleted"))
			case c != v.Collection:
				l.viewer.Store(&auth.Viewer{Collection: c, Record: v.Record, Superuser: v.Superuser})
			}
		}
	}
}
