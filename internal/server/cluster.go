package server

// Several nodes on one PostgreSQL database (package cluster): the wiring
// of a node's record events, collection reloads and settings reloads.

import (
	"context"
	"errors"
	"fmt"

	"github.com/monobase/monobase/cluster"
	"github.com/monobase/monobase/cors"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/dynschema"
	"github.com/monobase/monobase/files"
	"github.com/monobase/monobase/logs"
	"github.com/monobase/monobase/ratelimit"
)

// liveSettings are the objects of a handler tree that hold settings in
// memory; another node's updateSettings is applied to them.
type liveSettings struct {
	d       *db.DB
	engine  *dynschema.Engine
	store   *files.Store
	rules   *ratelimit.Rules
	origins *cors.Policy
	proxy   *ratelimit.Proxy
	logs    *logs.Service
}

// reloadSettings reads the settings groups again and applies them (the
// mail settings and settings.backups are read where they are used).
//
// This node's own updateSettings may commit and apply new values while a
// reload is reading the old ones. So a group is applied only while no
// setting has been written here since the reload began (db.ParamWrites);
// otherwise the reload starts over. It never puts back values older than
// a local change.
func (c *ServeCommand) reloadSettings(ctx context.Context, s liveSettings) {
	for range 8 {
		if c.applySettings(ctx, s) {
			return
		}
	}
	c.logger().Warn("cluster: settings kept changing on this node during the reload; the next change reloads them")
}

// applySettings is one reload; false means a setting was written on this
// node meanwhile and the reload must start over.
func (c *ServeCommand) applySettings(ctx context.Context, s liveSettings) bool {
	// From the reads to the last apply: a local change applies after us.
	defer s.d.LockSettings()()
	log := c.logger()
	start := s.d.ParamWrites()
	fresh := func() bool { return s.d.ParamWrites() == start }
	def := ratelimit.DefaultSettings()
	if c.RateLimits != nil {
		def = *c.RateLimits
	}
	if rl, err := ratelimit.Load(ctx, s.d, def); err == nil {
		if !fresh() {
			return false
		}
		if err := s.rules.Set(rl); err != nil {
			log.Error("cluster: apply settings.rateLimits", "err", err)
		}
	}
	if c.Origins == nil { // --origins wins over the settings
		if cs, err := cors.Load(ctx, s.d, cors.DefaultSettings(c.Dev)); err == nil {
			if !fresh() {
				return false
			}
			if err := s.origins.Set(cs); err != nil {
				log.Error("cluster: apply settings.cors", "err", err)
			}
		}
	}
	if ps, err := ratelimit.LoadProxy(ctx, s.d); err == nil {
		if !fresh() {
			return false
		}
		if err := s.proxy.Set(ps); err != nil {
			log.Error("cluster: apply settings.trustedProxy", "err", err)
		}
	}
	if !fresh() {
		return false
	}
	if err := c.applyLimits(ctx, s.d, s.engine); err != nil {
		log.Error("cluster: apply settings.limits", "err", err)
	}
	wasLocal := localFiles(s.store)
	if err := applyS3(ctx, s.d, s.store); err != nil {
		log.Error("cluster: apply settings.s3", "err", err)
	}
	if !wasLocal && localFiles(s.store) {
		log.Warn("files are now stored on this node's local disk: with several nodes they must be on S3 (settings.s3)")
	}
	if ls, err := logs.Load(ctx, s.d); err == nil && s.logs != nil {
		if !fresh() {
			return false
		}
		if err := s.logs.SetSettings(ls); err != nil {
			log.Error("cluster: apply settings.logs", "err", err)
		}
	}
	return fresh() // limits and S3 are read and applied in one call: check after them too
}

// localFiles reports whether store keeps files on the local disk.
func localFiles(store *files.Store) bool {
	_, ok := store.Backend().(*files.Disk)
	return ok
}

// startCluster joins the other nodes of d's PostgreSQL database (nil, nil
// on SQLite): record events of other nodes go to deliver, and this node's
// leave inside their transaction (LISTEN/NOTIFY) or after the commit
// (NATS, via the returned node's Committed). With local file storage it
// logs a warning, and fails when another node is live.
func (c *ServeCommand) startCluster(ctx context.Context, s liveSettings, deliver func(db.RecordEvent)) (*cluster.Node, error) {
	if s.d.Engine() != db.EnginePostgres {
		if c.Events != "" {
			return nil, errors.New("--events needs a PostgreSQL database (--db postgres://...)")
		}
		return nil, nil
	}
	local := localFiles(s.store)
	if local {
		c.logger().Warn("files are stored on this node's local disk, not shared with other nodes: run several nodes only with S3 (settings.s3)")
	}
	node, err := cluster.Start(ctx, cluster.Config{
		DB: s.d, DSN: c.Database, Events: c.Events, Deliver: deliver, LocalFiles: local, Logger: c.logger(),
		SettingsChanged: func(ctx context.Context) { c.reloadSettings(ctx, s) },
	})
	if err != nil {
		return nil, fmt.Errorf("join the other nodes: %w", err)
	}
	s.d.BeforeCommit = node.BeforeCommit
	return node, nil
}

// closeNode leaves the other nodes (before the database closes).
func (c *ServeCommand) closeNode() {
	if c.node != nil {
		_ = c.node.Close()
		c.node = nil
	}
}
