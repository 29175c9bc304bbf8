package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/monobase/monobase/auth"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/logs"
	"github.com/monobase/monobase/ratelimit"
)

// openLogs opens the request logs of the data folder (auxiliary.db) with
// the saved settings.logs (the defaults when none are saved, or when
// what is saved is not valid, which is logged) and makes the server's
// logger feed them. It fails when auxiliary.db cannot be opened.
func (c *ServeCommand) openLogs(ctx context.Context, d *db.DB) (*logs.Service, error) {
	log := c.logger()
	set, err := logs.Load(ctx, d)
	if errors.Is(err, logs.ErrInvalidStored) {
		log.Error("the defaults apply until settings.logs are saved again", "err", err)
		err = nil // set is the defaults
	}
	if err != nil {
		return nil, fmt.Errorf("load the log settings: %w", err)
	}
	// The service's own warnings (a full queue) go to stderr only: through
	// the handler that feeds it they would queue entries of their own.
	own := log
	if c.logHandler != nil {
		own = slog.New(c.logHandler.Base())
	}
	svc, err := logs.Open(ctx, c.Dir, set, logs.Config{Log: own, UserIP: func(r *http.Request) string { return ratelimit.ClientAddr(r.Context()) }})
	if err != nil {
		return nil, fmt.Errorf("open the request logs: %w", err)
	}
	c.logs = svc
	if c.logHandler != nil {
		c.logHandler.SetService(svc)
	}
	return svc, nil
}

// closeLogs stops feeding the request logs and closes them once the
// queued entries are written (or ctx ends).
func (c *ServeCommand) closeLogs(ctx context.Context) {
	if c.logHandler != nil {
		c.logHandler.SetService(nil)
	}
	if c.logs == nil {
		return
	}
	if err := c.logs.Close(ctx); err != nil {
		c.logger().Error("close the request logs", "err", err)
	}
	c.logs = nil
}

// CleanupLogs deletes the request log entries older than
// settings.logs.maxDays (all of them with maxDays 0) and returns how many
// it deleted: the body of the log cleanup job. The server also runs it
// once each time it opens the data (at start and after a restore).
func (c *ServeCommand) CleanupLogs(ctx context.Context) (int64, error) {
	c.genMu.Lock()
	svc := c.logs
	c.genMu.Unlock()
	if svc == nil {
		return 0, nil
	}
	return svc.Cleanup(ctx)
}

// logViewer tells the request log who made the request: the viewer the
// auth middleware found (a WebSocket's is known only after the upgrade).
func logViewer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v := auth.ViewerFrom(r.Context()); v != nil && v.Collection != nil {
			logs.SetAuth(r.Context(), v.Collection.Name, v.ID())
		}
		next.ServeHTTP(w, r)
	})
}
