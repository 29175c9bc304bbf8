package db

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// openSQLite opens a fresh SQLite database (group commit is SQLite's,
// whatever engine the test run uses) with a "notes" collection.
func openSQLite(t *testing.T) (*DB, *Collection) {
	t.Helper()
	d, err := Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d, mustCreate(t, d, &Collection{Name: "notes", Fields: []*Field{{Name: "text", Type: FieldText}}})
}

// waitQueued waits until n Begin calls wait for the writer.
func waitQueued(t *testing.T, d *DB, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		d.gate.mu.Lock()
		q := len(d.gate.queue)
		d.gate.mu.Unlock()
		if q == n {
			return
		}
	}
	t.Fatalf("%d transactions never queued for the writer", n)
}

// committed reports whether a record with text exists for the readers.
func committed(t *testing.T, d *DB, c *Collection, text string) bool {
	t.Helper()
	var n int
	if err := d.readers.DB.QueryRow(`SELECT count(*) FROM "notes" WHERE "text" = ?`, text).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

func insertNote(t *testing.T, tx *Tx, c *Collection, text string) {
	t.Helper()
	if _, err := tx.Insert(c, RecordInput{"text": text}); err != nil {
		t.Fatal(err)
	}
}

// beginLater begins a transaction in a goroutine; the result arrives on
// the channel once it has the writer.
func beginLater(ctx context.Context, d *DB) <-chan *Tx {
	ch := make(chan *Tx, 1)
	go func() {
		tx, err := d.Begin(ctx)
		if err != nil {
			tx = nil
		}
		ch <- tx
	}()
	return ch
}

// commitLater commits in a goroutine; the error arrives on the channel.
func commitLater(tx *Tx) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- tx.Commit() }()
	return ch
}

// openGroup begins A, which writes text "a", queues B for the writer and
// commits A, which hands B the writer: A's Commit returns on aDone once
// the group commits.
func openGroup(t *testing.T, d *DB, c *Collection) (b *Tx, aDone <-chan error) {
	t.Helper()
	a, err := d.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	insertNote(t, a, c, "a")
	bc := beginLater(context.Background(), d)
	waitQueued(t, d, 1)
	aDone = commitLater(a)
	return <-bc, aDone
}

func TestGroupCommitSharesOneCommit(t *testing.T) {
	d, c := openSQLite(t)
	var mu sync.Mutex
	var events []string
	d.OnRecordChange = func(ev RecordEvent) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, fmt.Sprint(ev.Record["text"]))
	}

	b, aDone := openGroup(t, d, c)
	select {
	case err := <-aDone:
		t.Fatalf("A's Commit returned (%v) before the group committed", err)
	case <-time.After(20 * time.Millisecond):
	}
	if committed(t, d, c, "a") {
		t.Fatal("A's record is visible before the group committed")
	}
	insertNote(t, b, c, "b")
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-aDone; err != nil {
		t.Fatal(err)
	}
	if !committed(t, d, c, "a") || !committed(t, d, c, "b") {
		t.Fatal("the group's records are not both committed")
	}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(events) != "[a b]" {
		t.Fatalf("events %v, want [a b]", events)
	}
}

func TestGroupCommitRollbackUndoesOnlyItsPart(t *testing.T) {
	ctx := context.Background()
	d, c := openSQLite(t)
	b, aDone := openGroup(t, d, c)
	insertNote(t, b, c, "b")
	cc := beginLater(ctx, d)
	waitQueued(t, d, 1)
	if err := b.Rollback(); err != nil { // back to B's savepoint; C joins
		t.Fatal(err)
	}
	third := <-cc
	insertNote(t, third, c, "c")
	if err := third.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-aDone; err != nil {
		t.Fatal(err)
	}
	if !committed(t, d, c, "a") || committed(t, d, c, "b") || !committed(t, d, c, "c") {
		t.Fatal("want a and c committed, b rolled back")
	}
}

func TestGroupCommitFailureFailsTheGroup(t *testing.T) {
	ctx := context.Background()
	d, c := openSQLite(t)
	b, aDone := openGroup(t, d, c)
	insertNote(t, b, c, "b")
	// The outer transaction ends under B (as SQLite ends it on an
	// interrupt or an I/O error): B's savepoint is gone.
	if err := b.Exec(b.Context(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(); err == nil {
		t.Fatal("B committed after its transaction was rolled back")
	}
	if err := <-aDone; !errors.Is(err, errGroupFailed) {
		t.Fatalf("A's Commit: %v, want the group's failure", err)
	}
	if committed(t, d, c, "a") || committed(t, d, c, "b") {
		t.Fatal("a record of the failed group is stored")
	}
	// The writer is free again and the next transaction commits alone.
	tx, err := d.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	insertNote(t, tx, c, "after")
	if err := tx.Commit(); err != nil || !committed(t, d, c, "after") {
		t.Fatalf("commit after a failed group: %v", err)
	}
}

func TestGroupCommitFirstRollbackWithWaiters(t *testing.T) {
	ctx := context.Background()
	d, c := openSQLite(t)
	a, _ := d.Begin(ctx)
	insertNote(t, a, c, "a")
	bc := beginLater(ctx, d)
	waitQueued(t, d, 1)
	if err := a.Rollback(); err != nil {
		t.Fatal(err)
	}
	b := <-bc
	insertNote(t, b, c, "b")
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if committed(t, d, c, "a") || !committed(t, d, c, "b") {
		t.Fatal("want b committed and a rolled back")
	}
}

func TestGroupCommitCanceledWaiter(t *testing.T) {
	d, c := openSQLite(t)
	a, _ := d.Begin(context.Background())
	insertNote(t, a, c, "a")
	ctx, cancel := context.WithCancel(context.Background())
	bc := beginLater(ctx, d)
	waitQueued(t, d, 1)
	cancel()
	if b := <-bc; b != nil {
		t.Fatal("Begin returned a transaction after its context ended")
	}
	done := commitLater(a)
	select {
	case err := <-done:
		if err != nil || !committed(t, d, c, "a") {
			t.Fatalf("commit: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the commit waited for a transaction that gave up")
	}
}

// TestGroupCommitUnderLoad runs many concurrent transactions, a third of
// them rolled back, and checks that exactly the committed ones are stored
// and announced.
func TestGroupCommitUnderLoad(t *testing.T) {
	ctx := context.Background()
	d, c := openSQLite(t)
	var mu sync.Mutex
	announced := map[string]bool{}
	d.OnRecordChange = func(ev RecordEvent) {
		mu.Lock()
		defer mu.Unlock()
		announced[fmt.Sprint(ev.Record["text"])] = true
	}
	const n = 200
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			tx, err := d.Begin(ctx)
			if err != nil {
				errs <- err
				return
			}
			if _, err := tx.Insert(c, RecordInput{"text": fmt.Sprint(i)}); err != nil {
				errs <- err
				_ = tx.Rollback()
				return
			}
			if i%3 == 0 {
				errs <- tx.Rollback()
				return
			}
			errs <- tx.Commit()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		want := i%3 != 0
		if got := committed(t, d, c, fmt.Sprint(i)); got != want || announced[fmt.Sprint(i)] != want {
			t.Fatalf("record %d: stored %v, announced %v, want %v", i, got, announced[fmt.Sprint(i)], want)
		}
	}
}
