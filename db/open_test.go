package db

import (
	"context"
	"testing"
)

func TestOpen(t *testing.T) {
	t.Run("first start creates the system collections", func(t *testing.T) {
		d := openTest(t)
		su, err := d.Collection(SuperusersCollection)
		if err != nil {
			t.Fatal(err)
		}
		if !su.System || su.Type != TypeAuth {
			t.Fatalf("_superusers = %+v", su)
		}
		users, err := d.Collection("users")
		if err != nil {
			t.Fatal(err)
		}
		if users.System || users.Type != TypeAuth || users.FieldByName("avatar") == nil || users.FieldByName("name") == nil {
			t.Fatalf("users = %+v", users)
		}
		for _, n := range []string{"id", "email", "emailVisibility", "verified", "password", "tokenKey", "created", "updated"} {
			f := users.FieldByName(n)
			if f == nil || !f.System {
				t.Errorf("users lacks the system field %s", n)
			}
		}
		if *users.ListRule != "id = @request.auth.id" || *users.CreateRule != "" {
			t.Errorf("users rules = %v %v", *users.ListRule, *users.CreateRule)
		}
	})

	t.Run("pragmas are set on the writer (PostgreSQL: the pools' settings)", func(t *testing.T) {
		d := openTest(t)
		if d.Engine() == EnginePostgres {
			// PostgreSQL: one writer connection (writes serialize per
			// node), which may write; the readers may not.
			var w, r string
			_ = d.writer.DB.QueryRow("SHOW default_transaction_read_only").Scan(&w)
			_ = d.readers.DB.QueryRow("SHOW default_transaction_read_only").Scan(&r)
			if n := d.writer.DB.Stats().MaxOpenConnections; n != 1 || w != "off" || r != "on" {
				t.Fatalf("writer connections %d, writer read-only %q, readers read-only %q", n, w, r)
			}
			return
		}
		var mode string
		var fk, busy, sync int
		w := d.writer.DB
		ctx := context.Background()
		_ = w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode)
		_ = w.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk)
		_ = w.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy)
		_ = w.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync)
		if mode != "wal" || fk != 1 || busy != 5000 || sync != 1 {
			t.Fatalf("journal_mode=%s foreign_keys=%d busy_timeout=%d synchronous=%d", mode, fk, busy, sync)
		}
	})

	t.Run("readers can't write", func(t *testing.T) {
		d := openTest(t)
		if _, err := d.readers.DB.Exec(`INSERT INTO "_params" ("key", "value", "updated") VALUES ('x', 'y', 'z')`); err == nil {
			t.Fatal("a reader connection wrote")
		}
	})
}
