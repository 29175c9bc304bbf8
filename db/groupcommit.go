package db

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/uptrace/bun"
)

// Group commit (SQLite). SQLite has one writer, so write transactions run
// one after another; each used to pay for its own BEGIN and COMMIT, and the
// COMMIT writes every page the transaction touched to the WAL again. When
// transactions queue for the writer, they now share one outer transaction:
// each runs inside a savepoint of it (the first one without), and the last
// of the group commits for all. A transaction's Commit returns only after
// that commit, with its error, so nothing is answered before it is durable
// (as durable as synchronous=NORMAL makes any commit).
//
// A transaction that rolls back undoes only its savepoint. When the outer
// transaction itself fails (SQLite rolls the whole transaction back on an
// interrupt, a full disk or an I/O error, and a savepoint then no longer
// exists), every transaction of the group gets the error and nothing of
// theirs is kept.
//
// A group stays open only while another transaction waits for the writer,
// and for at most maxGroupSize transactions and maxGroupAge: alone, a
// transaction commits at once, as before.

const (
	maxGroupSize = 32
	maxGroupAge  = 5 * time.Millisecond
	// memberSavepoint names the savepoint of a group's later members; they
	// run one at a time, so one name serves all.
	memberSavepoint = `"_mb_member"`
)

// errGroupFailed wraps the failure of a group's outer transaction for the
// members that had done nothing wrong.
var errGroupFailed = errors.New("the transaction shared its commit with one that failed")

// writerGate hands the SQLite writer to one transaction at a time, in
// order of arrival, and keeps the group they share.
type writerGate struct {
	// maxSize bounds a group (0: maxGroupSize; 1 commits every
	// transaction alone, for comparisons).
	maxSize int

	mu    sync.Mutex
	held  bool            // a transaction, or a group's commit, holds the writer
	queue []chan struct{} // Begin calls waiting; closed to hand one the writer
	open  *commitGroup    // the group new transactions join; nil between groups
}

// commitGroup is one outer transaction and what its members left in it.
type commitGroup struct {
	tx      bun.Tx
	started time.Time
	members int           // transactions that committed into it
	events  []RecordEvent // theirs, in order
	// closed stops the group from taking more members: its first member
	// rolled back (without a savepoint), or a savepoint failed (failed is
	// then set and the whole group fails).
	closed bool
	failed error
	done   chan struct{} // closed after the commit; err is then set
	err    error
}

// acquire waits for the writer, in order of arrival.
func (g *writerGate) acquire(ctx context.Context, d *DB) error {
	g.mu.Lock()
	if !g.held {
		g.held = true
		g.mu.Unlock()
		return nil
	}
	ready := make(chan struct{})
	g.queue = append(g.queue, ready)
	g.mu.Unlock()
	select {
	case <-ready:
		return nil
	case <-ctx.Done():
	}
	g.mu.Lock()
	if i := slices.Index(g.queue, ready); i >= 0 {
		g.queue = slices.Delete(g.queue, i, i+1)
		g.mu.Unlock()
		return fmt.Errorf("wait for the writer: %w", ctx.Err())
	}
	g.mu.Unlock()
	// Handed the writer as the context ended: pass it on.
	<-ready
	g.pass(d)
	return fmt.Errorf("wait for the writer: %w", ctx.Err())
}

// handOn gives the writer to the next waiting transaction, or frees it.
// The caller holds the writer and g.mu.
func (g *writerGate) handOn() {
	if len(g.queue) > 0 {
		next := g.queue[0]
		g.queue = slices.Delete(g.queue, 0, 1)
		close(next)
		return
	}
	g.held = false
}

// pass is called by the holder of the writer when its transaction ended
// (or never began): the next waiting transaction joins the open group, or
// the group commits and the writer goes to the next one.
func (g *writerGate) pass(d *DB) {
	g.mu.Lock()
	grp := g.open
	if grp == nil {
		g.handOn()
		g.mu.Unlock()
		return
	}
	if !grp.closed && len(g.queue) > 0 && grp.members < cmp.Or(g.maxSize, maxGroupSize) && time.Since(grp.started) < maxGroupAge {
		g.handOn()
		g.mu.Unlock()
		return
	}
	g.open = nil
	g.mu.Unlock()
	d.finishGroup(grp)
}

// finishGroup commits grp (or rolls it back when it failed or has no
// members), frees the writer for the next transaction, delivers the
// members' events in commit order and wakes the members.
func (d *DB) finishGroup(grp *commitGroup) {
	d.commitMu.Lock()
	var err error
	switch {
	case grp.failed != nil:
		_ = grp.tx.Rollback()
		err = fmt.Errorf("%w: %w", errGroupFailed, grp.failed)
	case grp.members == 0:
		_ = grp.tx.Rollback()
	default:
		if cerr := grp.tx.Commit(); cerr != nil {
			err = fmt.Errorf("commit: %w", cerr)
		}
	}
	g := &d.gate
	g.mu.Lock()
	g.handOn()
	g.mu.Unlock()
	if err == nil && d.OnRecordChange != nil {
		for _, ev := range grp.events {
			d.OnRecordChange(ev)
		}
	}
	d.commitMu.Unlock()
	grp.events = nil
	grp.err = err
	close(grp.done)
}

// beginGrouped is Begin on SQLite: it waits for the writer and joins the
// open group, or begins one.
func (d *DB) beginGrouped(ctx context.Context) (*Tx, error) {
	if err := d.gate.acquire(ctx, d); err != nil {
		return nil, err
	}
	d.gate.mu.Lock()
	grp := d.gate.open
	d.gate.mu.Unlock()
	if grp == nil {
		// The writer's connection is free between groups: prepare the
		// statements transactions ran unprepared (records.go).
		d.prepareTxReads(ctx)
		btx, err := d.writer.BeginTx(context.WithoutCancel(ctx), nil)
		if err != nil {
			d.gate.pass(d)
			return nil, fmt.Errorf("begin: %w", err)
		}
		grp = &commitGroup{tx: btx, started: time.Now(), done: make(chan struct{})}
		d.gate.mu.Lock()
		d.gate.open = grp
		d.gate.mu.Unlock()
	}
	tx := &Tx{Tx: grp.tx, db: d, group: grp}
	tx.ctx = context.WithValue(ctx, txKey{}, tx)
	if grp.members > 0 {
		if _, err := grp.tx.Tx.ExecContext(ctx, "SAVEPOINT "+memberSavepoint); err != nil {
			d.failGroup(grp, err)
			d.gate.pass(d)
			return nil, fmt.Errorf("begin: %w", err)
		}
		tx.savepoint = true
	}
	return tx, nil
}

// failGroup marks grp failed: it takes no more members, and its members
// get err from their Commit.
func (d *DB) failGroup(grp *commitGroup, err error) {
	d.gate.mu.Lock()
	defer d.gate.mu.Unlock()
	grp.closed = true
	if grp.failed == nil {
		grp.failed = err
	}
}

// commitMember ends tx's part of its group: its events join the group's,
// the writer passes on, and it returns once the group committed.
func (tx *Tx) commitMember() error {
	d, grp := tx.db, tx.group
	if tx.ended {
		return errors.New("commit: the transaction has already ended")
	}
	tx.ended = true
	events := tx.events
	tx.events = nil
	if err := d.beforeCommit(tx, events); err != nil {
		tx.undoMember()
		d.gate.pass(d)
		return fmt.Errorf("commit: %w", err)
	}
	if tx.savepoint {
		if _, err := grp.tx.Tx.ExecContext(context.WithoutCancel(tx.ctx), "RELEASE "+memberSavepoint); err != nil {
			d.failGroup(grp, err)
		}
	}
	d.gate.mu.Lock()
	grp.members++
	grp.events = append(grp.events, events...)
	d.gate.mu.Unlock()
	d.gate.pass(d)
	<-grp.done
	return grp.err
}

// rollbackMember undoes tx's part of its group and passes the writer on.
func (tx *Tx) rollbackMember() {
	if tx.ended {
		return
	}
	tx.ended = true
	tx.events = nil
	tx.undoMember()
	tx.db.gate.pass(tx.db)
}

// undoMember undoes what tx wrote: back to its savepoint, or, for the
// group's first transaction, the whole (so far its own) outer transaction.
func (tx *Tx) undoMember() {
	d, grp := tx.db, tx.group
	if !tx.savepoint {
		d.gate.mu.Lock()
		grp.closed = true // finishGroup rolls back: no members
		d.gate.mu.Unlock()
		return
	}
	ctx := context.WithoutCancel(tx.ctx)
	if _, err := grp.tx.Tx.ExecContext(ctx, "ROLLBACK TO "+memberSavepoint); err != nil {
		d.failGroup(grp, err)
		return
	}
	if _, err := grp.tx.Tx.ExecContext(ctx, "RELEASE "+memberSavepoint); err != nil {
		d.failGroup(grp, err)
	}
}
