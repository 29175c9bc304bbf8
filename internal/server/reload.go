package server

// This file is the server's side of a backup restore: the gate that holds
// requests while the data is swapped, and the reload that stops everything
// using the data folder and starts it again on the restored files.
//
// Why the whole handler tree is rebuilt rather than the database's pools
// swapped under a lock: the *db.DB is held by the auth service, the engine,
// the file handler, the admin API and the mail settings, and each caches
// what it read from it (the signing secret, the compiled schema, the
// collections). Building them all again from the new files, as at start,
// leaves none of them stale, adds nothing to the hot path of a query (a
// lock per statement would), and keeps package db unchanged.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/monobase/monobase/backup"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/files"
)

// gateWait is how long a request waits at a closed gate before it is
// answered 503.
const gateWait = time.Minute

// gate lets requests through while the data is in place; while a restore
// swaps it (close .. open) new requests wait, and drain waits for those
// inside to finish. Letting a request through costs two atomic adds and a
// load. WebSocket upgrades pass the gate without staying inside: their
// sockets are ended by the reload, not waited for.
type gate struct {
	inside atomic.Int64
	closed atomic.Bool
	mu     sync.Mutex
	opened chan struct{} // closed by open; nil while the gate is open
}

// wrap lets requests through the gate to the handler next returns.
func (g *gate) wrap(next func() http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !g.enter(r.Context()) {
			w.Header().Set("Retry-After", "5")
			writeJSONError(w, http.StatusServiceUnavailable, "the server is restoring a backup; try again shortly")
			return
		}
		if r.Header.Get("Upgrade") != "" {
			g.inside.Add(-1)
			next().ServeHTTP(w, r)
			return
		}
		defer g.inside.Add(-1)
		next().ServeHTTP(w, r)
	})
}

// enter counts the request in, waiting while the gate is closed; false
// when ctx ended or gateWait passed first.
func (g *gate) enter(ctx context.Context) bool {
	for {
		g.inside.Add(1)
		if !g.closed.Load() {
			return true
		}
		g.inside.Add(-1)
		g.mu.Lock()
		ch := g.opened
		g.mu.Unlock()
		if ch == nil {
			continue // opened meanwhile
		}
		t := time.NewTimer(gateWait)
		select {
		case <-ch:
			t.Stop()
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
			return false
		}
	}
}

// close makes new requests wait.
func (g *gate) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.opened == nil {
		g.opened = make(chan struct{})
	}
	g.closed.Store(true)
}

// open lets the waiting requests and new ones through.
func (g *gate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed.Store(false)
	if g.opened != nil {
		close(g.opened)
		g.opened = nil
	}
}

// drain waits until at most keep requests are inside, or timeout passed;
// it reports whether they left in time.
func (g *gate) drain(keep int64, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for g.inside.Load() > keep {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
	return true
}

// newBackups returns the backup service of the data folder, reading the
// current data and reloading through c; it lives as long as the server so
// that its one-operation lock spans restores.
func (c *ServeCommand) newBackups() (*backup.Service, error) {
	s := backup.New(c.Dir)
	s.Source = func() (*db.DB, *files.Store) {
		c.genMu.Lock()
		defer c.genMu.Unlock()
		return c.db, c.store
	}
	s.Reload = c.reload
	if err := s.CleanTemp(); err != nil {
		return nil, err
	}
	return s, nil
}

// startData opens the data folder and builds the handler tree on it, which
// the server then serves. It fails with the database closed again.
func (c *ServeCommand) startData(ctx context.Context) error {
	t0 := time.Now()
	d, err := openData(ctx, c.Dir, c.Database, c.Secrets)
	if err != nil {
		return err
	}
	c.Startup.DB = time.Since(t0)
	if err := c.startMigrations(ctx, d); err != nil { // migrate.go
		_ = d.Close()
		return err
	}
	c.genCtx, c.genCancel = context.WithCancel(c.shutdown)
	h, err := c.buildHandler(ctx, d)
	if err != nil {
		c.genCancel()
		_ = d.Close()
		return err
	}
	c.db = d
	c.root.Store(&h)
	return nil
}

// stopData ends everything that uses the data folder: subscriptions end
// and WebSockets get a 1001 close frame (waited for up to timeout), the
// mail queue stops (queued emails are dropped), the request logs write
// their queue and close auxiliary.db, and the database closes. Whatever
// else keeps a file of the data folder open must be built in buildHandler
// and stopped here, or a restore would swap the file under it.
func (c *ServeCommand) stopData(timeout time.Duration) {
	c.hub.Close()
	c.genCancel()
	deadline := time.Now().Add(timeout)
	for c.websockets.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c.mail.Close(ctx)
	c.closeLogs(ctx)
	c.closeNode()
	if err := c.db.Close(); err != nil {
		c.logger().Error("restore: close the database", "err", err)
	}
}

// reload is the server's side of a restore (backup.ReloadFunc). New
// requests wait at the gate while it runs; those in flight get up to the
// shutdown timeout to finish, apart from the restoring request itself
// (which is inside the gate and waits for reload). Then the data stops, the
// files are swapped and the data starts again on them; when it cannot, the
// old files are put back and started. When even that fails, the server
// answers 503 until it is restarted.
func (c *ServeCommand) reload(ctx context.Context, swap backup.SwapFunc) error {
	c.genMu.Lock()
	defer c.genMu.Unlock()
	if c.shutdown.Err() != nil {
		return errors.New("the server is shutting down")
	}
	log := c.logger()
	timeout := cmp0(c.ShutdownTimeout, DefaultShutdownTimeout)
	c.gate.close()
	defer c.gate.open()
	if !c.gate.drain(1, timeout) {
		log.Warn("restore: requests still running are cut off", "waited", timeout)
	}
	c.stopData(timeout)

	ctx = context.WithoutCancel(ctx)
	undo, err := swap()
	if err != nil {
		if rerr := c.startData(ctx); rerr != nil {
			c.unavailable()
			return errors.Join(err, fmt.Errorf("start again on the previous data: %w", rerr))
		}
		return err
	}
	if err := c.startData(ctx); err != nil {
		log.Error("restore: the restored data does not start; putting the previous data back", "err", err)
		if uerr := undo(); uerr != nil {
			c.unavailable()
			return errors.Join(err, uerr)
		}
		if rerr := c.startData(ctx); rerr != nil {
			c.unavailable()
			return errors.Join(err, fmt.Errorf("start again on the previous data: %w", rerr))
		}
		return fmt.Errorf("start on the restored data: %w", err)
	}
	c.applyBackupSchedule(ctx, c.db) // the restored settings.backups
	log.Info("restored a backup: the data and the application schema were reloaded")
	return nil
}

// unavailable makes the server answer 503 to everything (after a restore
// that could start on neither the restored nor the previous data).
func (c *ServeCommand) unavailable() {
	c.logger().Error("restore: the data folder cannot be opened; the server answers 503 until it is restarted")
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSONError(w, http.StatusServiceUnavailable, "the data folder cannot be opened; see the server log")
	})
	c.root.Store(&h)
}

// cmp0 returns d, or def when d is not positive.
func cmp0(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
