package db

import (
	"context"
	"testing"

	"github.com/monobase/monobase/apperr"
)

// inTx runs fn in a committed write transaction.
func inTx(t *testing.T, d *DB, fn func(tx *Tx) error) error {
	t.Helper()
	tx, err := d.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

func TestExternalAuths(t *testing.T) {
	d := openTest(t)
	ctx := context.Background()
	members := mustCreate(t, d, &Collection{Name: "members", Type: TypeAuth})
	rec := func(email string) Record {
		return mustInsert(t, d, members, RecordInput{"email": email, "password": "password123", "passwordConfirm": "password123"})
	}
	ann, bob := rec("ann@example.com"), rec("bob@example.com")
	link := func(r Record, provider, id string) error {
		return inTx(t, d, func(tx *Tx) error { return tx.LinkExternalAuth(members, r.ID(), provider, id) })
	}
	if err := link(ann, "google", "g-1"); err != nil {
		t.Fatal(err)
	}
	if err := link(ann, "github", "h-1"); err != nil {
		t.Fatal(err)
	}
	t.Run("an account links to one record, a record to one account per provider", func(t *testing.T) {
		if err := link(bob, "google", "g-1"); !apperr.Is(err, apperr.Conflict) {
			t.Fatalf("same account, other record: %v", err)
		}
		if err := link(ann, "google", "g-2"); !apperr.Is(err, apperr.Conflict) {
			t.Fatalf("same record, other account: %v", err)
		}
		ea, err := d.FindExternalAuth(ctx, members.ID, "google", "g-1")
		if err != nil || ea.RecordRef != ann.ID() {
			t.Fatalf("find: %+v, %v", ea, err)
		}
	})
	t.Run("unlink", func(t *testing.T) {
		if err := inTx(t, d, func(tx *Tx) error { return tx.UnlinkExternalAuth(members, ann.ID(), "github") }); err != nil {
			t.Fatal(err)
		}
		if err := inTx(t, d, func(tx *Tx) error { return tx.UnlinkExternalAuth(members, ann.ID(), "github") }); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("second unlink: %v", err)
		}
	})
	t.Run("links go with their record and their collection", func(t *testing.T) {
		if err := link(bob, "google", "g-3"); err != nil {
			t.Fatal(err)
		}
		if err := inTx(t, d, func(tx *Tx) error { _, err := tx.Delete(members, ann.ID()); return err }); err != nil {
			t.Fatal(err)
		}
		if _, err := d.FindExternalAuth(ctx, members.ID, "google", "g-1"); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("the deleted record's link: %v", err)
		}
		if links, err := d.ExternalAuths(ctx, members.ID, bob.ID()); err != nil || len(links) != 1 {
			t.Fatalf("bob's links: %v, %v", links, err)
		}
		if err := d.DeleteCollection(ctx, "members"); err != nil {
			t.Fatal(err)
		}
		if links, err := d.ExternalAuths(ctx, members.ID, bob.ID()); err != nil || len(links) != 0 {
			t.Fatalf("links of a deleted collection: %v, %v", links, err)
		}
	})
}
