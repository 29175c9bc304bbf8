package dynschema

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"reflect"
	"slices"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/auth"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/hook"
)

// This file runs the app's record hooks (Config.Hooks) around the writes
// of the mutations: before hooks in the transaction before the write
// (their changes to e.Record are written), after hooks in the transaction
// after it, after-commit hooks once the operation's transaction
// committed. With no handler bound for an action, none of this runs: the
// write is the plain db call.

// recordHooks are the three hooks of one action (create, update, delete).
type recordHooks struct {
	before, after, commit *hook.Hook[*hook.RecordEvent]
}

func (h recordHooks) bound() bool {
	return h.before.Length() > 0 || h.after.Length() > 0 || h.commit.Length() > 0
}

func (x *operation) createHooks() (recordHooks, bool) {
	r := x.v.eng.cfg.Hooks
	if r == nil {
		return recordHooks{}, false
	}
	h := recordHooks{&r.RecordCreate, &r.RecordAfterCreate, &r.RecordAfterCreateCommit}
	return h, h.bound()
}

func (x *operation) updateHooks() (recordHooks, bool) {
	r := x.v.eng.cfg.Hooks
	if r == nil {
		return recordHooks{}, false
	}
	h := recordHooks{&r.RecordUpdate, &r.RecordAfterUpdate, &r.RecordAfterUpdateCommit}
	return h, h.bound()
}

func (x *operation) deleteHooks() (recordHooks, bool) {
	r := x.v.eng.cfg.Hooks
	if r == nil {
		return recordHooks{}, false
	}
	h := recordHooks{&r.RecordDelete, &r.RecordAfterDelete, &r.RecordAfterDeleteCommit}
	return h, h.bound()
}

// hookCtx is the context hooks get: the transaction's (when one is open),
// carrying the operation's viewer.
func (x *operation) hookCtx() context.Context {
	ctx := x.dbctx
	if auth.ViewerFrom(ctx) != x.viewer {
		ctx = auth.WithViewer(ctx, x.viewer)
	}
	return ctx
}

// errStopped is the error of a write whose before hooks ended the chain
// without calling e.Next() and without an error: nothing is written.
func errStopped(action, coll string) error {
	return apperr.New(apperr.Invalid, "the %s of %s was stopped by a hook", action, coll)
}

// hookErr is how a hook's error reaches the client: the write's own error
// (final) and apperr errors as they are, a panic as it is (present names
// the hook), any other error as BAD_USER_INPUT with its message.
func hookErr(err, final error) error {
	if err == nil || (final != nil && errors.Is(err, final)) || apperr.As(err) != nil {
		return err
	}
	var pe *hook.PanicError
	if errors.As(err, &pe) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return &apperr.Error{Code: apperr.Invalid, Message: err.Error()}
}

// insert creates a record of t from rin in the operation's transaction,
// through the create hooks when some are bound.
func (x *operation) insert(t *objType, rin db.RecordInput) (db.Record, error) {
	h, ok := x.createHooks()
	if !ok {
		return x.mut.tx.Insert(t.coll, rin)
	}
	if id, _ := rin["id"].(string); id == "" {
		rin["id"] = newID()
	}
	ctx := x.hookCtx()
	ev := &hook.RecordEvent{Context: ctx, Collection: t.coll, Record: &hook.Record{Collection: t.coll, Data: db.Record(rin)}}
	var rec db.Record
	var werr error
	err := h.before.Trigger(ev, func(e *hook.RecordEvent) error {
		rec, werr = x.mut.tx.Insert(t.coll, db.RecordInput(e.Record.Data))
		return werr
	})
	if err = hookErr(err, werr); err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, errStopped("create", t.coll.Name)
	}
	return rec, x.afterWrite(h, ctx, t.coll, rec, nil)
}

// afterWrite runs the after hooks of a written record and queues its
// after-commit hooks.
func (x *operation) afterWrite(h recordHooks, ctx context.Context, c *db.Collection, rec, old db.Record) error {
	if h.after.Length() > 0 {
		ev := &hook.RecordEvent{Context: ctx, Collection: c, Record: &hook.Record{Collection: c, Data: rec}}
		if old != nil {
			ev.Original = &hook.Record{Collection: c, Data: old}
		}
		if err := hookErr(h.after.Trigger(ev, nil), nil); err != nil {
			return err
		}
	}
	x.queueCommit(h.commit, c, rec, old)
	return nil
}

// queueCommit queues the after-commit hooks of a write (none bound: nothing).
func (x *operation) queueCommit(hk *hook.Hook[*hook.RecordEvent], c *db.Collection, rec, old db.Record) {
	if hk.Length() == 0 {
		return
	}
	ev := &hook.RecordEvent{Collection: c, Record: &hook.Record{Collection: c, Data: rec}}
	if old != nil {
		ev.Original = &hook.Record{Collection: c, Data: old}
	}
	x.mut.commits = append(x.mut.commits, pendingHook{hk, ev})
}

// pendingHook is an after-commit hook to run once the transaction committed.
type pendingHook struct {
	hook *hook.Hook[*hook.RecordEvent]
	ev   *hook.RecordEvent
}

// committed runs the queued after-commit hooks; their errors (and panics)
// are logged: the write is done.
func (x *operation) committed() {
	if x.mut == nil || len(x.mut.commits) == 0 {
		return
	}
	ctx := auth.WithViewer(x.ctx, x.viewer)
	list := x.mut.commits
	x.mut.commits = nil
	for _, p := range list {
		p.ev.Context = ctx
		if err := p.hook.Trigger(p.ev, nil); err != nil {
			slog.ErrorContext(x.ctx, "after-commit hook failed", "collection", p.ev.Collection.Name, "record", p.ev.Record.Id(), "err", err)
		}
	}
}

// updateRec applies patch to old (a record of t) in the operation's
// transaction, through the update hooks when some are bound: e.Record is
// old merged with the patch, and the fields a before hook changes are
// written as set (replacing the patch's modifiers on them).
func (x *operation) updateRec(t *objType, old db.Record, patch db.RecordPatch) (db.Record, error) {
	h, ok := x.updateHooks()
	if !ok {
		return x.mut.tx.Update(t.coll, old.ID(), patch)
	}
	merged := mergePatch(old, patch)
	seen := maps.Clone(merged)
	ctx := x.hookCtx()
	ev := &hook.RecordEvent{Context: ctx, Collection: t.coll,
		Record: &hook.Record{Collection: t.coll, Data: merged}, Original: &hook.Record{Collection: t.coll, Data: old}}
	var rec db.Record
	var werr error
	err := h.before.Trigger(ev, func(e *hook.RecordEvent) error {
		rec, werr = x.mut.tx.Update(t.coll, old.ID(), hookedPatch(patch, seen, e.Record.Data))
		return werr
	})
	if err = hookErr(err, werr); err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, errStopped("update", t.coll.Name)
	}
	return rec, x.afterWrite(h, ctx, t.coll, rec, old)
}

// mergePatch returns old with patch applied, as the hooks see the updated
// record before it is written.
func mergePatch(old db.Record, p db.RecordPatch) db.Record {
	m := maps.Clone(old)
	if m == nil {
		m = db.Record{}
	}
	maps.Copy(m, db.Record(p.Set))
	for k, d := range p.Increment {
		n, _ := db.ToFloat(m[k])
		m[k] = n + d
	}
	for k, vals := range p.Append {
		m[k] = append(slices.Clone(db.StringList(m[k])), vals...)
	}
	for k, vals := range p.Remove {
		m[k] = slices.DeleteFunc(slices.Clone(db.StringList(m[k])), func(s string) bool { return slices.Contains(vals, s) })
	}
	return m
}

// hookedPatch is patch with the fields whose value the hooks changed
// (from seen to now) set to their new value.
func hookedPatch(p db.RecordPatch, seen, now db.Record) db.RecordPatch {
	out := p
	cloned := false
	set := func(k string, v any) {
		if !cloned {
			out.Set = maps.Clone(p.Set)
			if out.Set == nil {
				out.Set = db.RecordInput{}
			}
			out.Increment, out.Append, out.Remove = maps.Clone(p.Increment), maps.Clone(p.Append), maps.Clone(p.Remove)
			cloned = true
		}
		out.Set[k] = v
		delete(out.Increment, k)
		delete(out.Append, k)
		delete(out.Remove, k)
	}
	for k, v := range now {
		if old, ok := seen[k]; !ok || !reflect.DeepEqual(old, v) {
			set(k, v)
		}
	}
	for k := range seen {
		if _, ok := now[k]; !ok {
			set(k, nil)
		}
	}
	return out
}

// deleteRec deletes old (a record of t) in the operation's transaction,
// through the delete hooks when some are bound. The records its delete
// cascades to get the after-commit delete hooks too (not the before and
// after ones: the database deletes them in the same statement chain).
func (x *operation) deleteRec(t *objType, old db.Record) (db.Record, error) {
	h, ok := x.deleteHooks()
	if !ok {
		return x.mut.tx.Delete(t.coll, old.ID())
	}
	ctx := x.hookCtx()
	ev := &hook.RecordEvent{Context: ctx, Collection: t.coll, Record: &hook.Record{Collection: t.coll, Data: old}}
	var rec db.Record
	var werr error
	var cascade []db.RecordEvent
	err := h.before.Trigger(ev, func(e *hook.RecordEvent) error {
		n := len(x.mut.tx.Deleted())
		rec, werr = x.mut.tx.Delete(t.coll, old.ID())
		if werr == nil {
			cascade = x.mut.tx.Deleted()[n:]
		}
		return werr
	})
	if err = hookErr(err, werr); err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, errStopped("delete", t.coll.Name)
	}
	if err := x.afterWrite(h, ctx, t.coll, rec, nil); err != nil {
		return nil, err
	}
	for _, ev := range cascade {
		if ev.Collection.ID == t.coll.ID && ev.Record.ID() == rec.ID() {
			continue // the record itself, queued by afterWrite
		}
		x.queueCommit(h.commit, ev.Collection, ev.Record, nil)
	}
	return rec, nil
}

// signInHooks runs the auth hooks of a sign-in of rec through rf: the
// before hooks (an error refuses it), then issue (the token), then the
// after hooks with the token (an error refuses it too).
func (x *operation) signInHooks(rf *rootField, rec db.Record, issue func() (string, error)) (string, error) {
	r := x.v.eng.cfg.Hooks
	if r == nil || (r.RecordAuth.Length() == 0 && r.RecordAfterAuth.Length() == 0) {
		return issue()
	}
	c := rf.t.coll
	method := signInMethod(rf.kind)
	if method == "" {
		method = "refresh"
	}
	ev := &hook.AuthEvent{Context: x.hookCtx(), Collection: c, Record: &hook.Record{Collection: c, Data: rec}, Method: method}
	var token string
	var ierr error
	err := r.RecordAuth.Trigger(ev, func(e *hook.AuthEvent) error {
		token, ierr = issue()
		return ierr
	})
	if err = hookErr(err, ierr); err != nil {
		return "", err
	}
	if token == "" {
		return "", apperr.New(apperr.Forbidden, "the sign-in to %s was stopped by a hook", c.Name)
	}
	after := &hook.AuthEvent{Context: ev.Context, Collection: c, Record: ev.Record, Method: method, Token: token}
	if err := hookErr(r.RecordAfterAuth.Trigger(after, nil), nil); err != nil {
		return "", err
	}
	return token, nil
}
