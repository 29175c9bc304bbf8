package cluster

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/internal/testdb"
)

// TestSyncReadsSettingsAgain: a settings change committed while the node
// reloads the settings (so the reload may apply older values after this
// node applied the new ones) makes sync reload them again.
func TestSyncReadsSettingsAgain(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d, err := db.Open(ctx, dir, db.WithPostgres(testdb.PostgresURL(t, dir)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	bump := func(v string) {
		tx, err := d.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := tx.Exec(ctx, `INSERT INTO "_cluster" ("key", "value") VALUES (?, ?) ON CONFLICT ("key") DO UPDATE SET "value" = excluded."value"`,
			settingsVersionKey, v); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	bump("v1")
	var reloads int
	n := &Node{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	n.cfg = Config{DB: d, SettingsChanged: func(context.Context) {
		reloads++
		if reloads == 1 {
			bump("v2") // committed during the first reload
		}
	}}
	n.sync(ctx)
	if reloads != 2 || n.settingV != "v2" {
		t.Fatalf("%d reloads, version %q; want 2 and v2", reloads, n.settingV)
	}
	n.sync(ctx)
	if reloads != 2 {
		t.Fatalf("a sync with nothing new reloaded (%d reloads)", reloads)
	}
}
