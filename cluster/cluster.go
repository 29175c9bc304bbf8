// Package cluster lets several `monobase serve` processes (nodes) share
// one PostgreSQL database: a committed record change on any node reaches
// the subscribers of every node, a collection or settings change reaches
// every node's schema and settings, and a node with local file storage
// refuses to start beside another live node.
//
// Transports. Record changes travel over PostgreSQL LISTEN/NOTIFY by
// default: the NOTIFY is sent inside the write transaction
// (db.DB.BeforeCommit), so PostgreSQL delivers the changes of all nodes
// in one global commit order, and only for committed transactions. With
// an events URL (nats://...) they travel over NATS instead, published
// right after the commit: each node's changes arrive in its commit order,
// changes of different nodes in the order the NATS server received them,
// and a node that dies between its commit and the publish loses that
// event (NATS core is at most once). Collection and settings changes
// always travel over PostgreSQL: triggers on _collections and _params
// bump a version in _cluster and NOTIFY; each node also polls those
// versions (PollInterval), so a lost notification delays a change by at
// most one poll.
//
// With LISTEN/NOTIFY a node delivers its own changes when they come back
// from PostgreSQL (EchoesOwn), so that every node's subscribers get all
// changes in the same commit order; with NATS it delivers them locally
// and ignores its own echoes. The control connection (a dedicated lib/pq
// connection: LISTEN, the node lock) reconnects after a drop; events sent
// while it was down are lost, schema and settings are read again.
package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/monobase/monobase/db"
)

// DefaultPollInterval is how often a node reads the schema and settings
// versions besides listening for their notifications.
const DefaultPollInterval = 300 * time.Millisecond

// ErrOtherNode is returned by Start when LocalFiles is set and another
// node is live on the same database.
var ErrOtherNode = errors.New("another monobase node is running on this database while files are stored on the local disk: " +
	"files must be on S3 (settings.s3) to run several nodes; stop the other node or configure S3 first")

// Config is what Start needs.
type Config struct {
	DB  *db.DB
	DSN string // the PostgreSQL URL of DB (with its search_path)
	// Events is where record changes travel: "" or "postgres" for
	// LISTEN/NOTIFY, a nats:// URL for NATS.
	Events string
	// Deliver receives the record changes of the other nodes, one at a
	// time, in the order they arrived.
	Deliver func(db.RecordEvent)
	// SettingsChanged is called when _params changed (on any node); it
	// reads the settings again.
	SettingsChanged func(ctx context.Context)
	// LocalFiles makes Start fail with ErrOtherNode when another node is
	// live (files on the local disk cannot be shared).
	LocalFiles   bool
	PollInterval time.Duration // 0: DefaultPollInterval
	Logger       *slog.Logger
}

// Node is this process's membership of the cluster.
type Node struct {
	cfg  Config
	id   string
	log  *slog.Logger
	keys keys

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	ctl  *control    // the PostgreSQL control connection
	nats *natsEvents // nil: events over PostgreSQL

	syncMu   sync.Mutex // one schema/settings sync at a time
	schemaV  string     // the schema version last applied
	settingV string     // the settings version last applied
	kick     chan struct{}
}

// Start joins the cluster of cfg.DB: it opens the control connection,
// installs the triggers, takes the node lock (refusing with ErrOtherNode
// when cfg.LocalFiles and another node is live), listens, and starts the
// poll. Close leaves.
func Start(ctx context.Context, cfg Config) (*Node, error) {
	if cfg.DB == nil || cfg.DB.Engine() != db.EnginePostgres {
		return nil, errors.New("cluster: several nodes need a PostgreSQL database")
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	n := &Node{cfg: cfg, id: newID(), log: log, kick: make(chan struct{}, 1)}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	ctl, err := openControl(ctx, n)
	if err != nil {
		n.cancel()
		return nil, err
	}
	n.ctl = ctl
	if ev := cfg.Events; ev != "" && ev != "postgres" {
		if !strings.HasPrefix(ev, "nats://") && !strings.HasPrefix(ev, "tls://") {
			ctl.close()
			n.cancel()
			return nil, fmt.Errorf("--events %q: want postgres or a nats:// URL", ev)
		}
		if n.nats, err = openNATS(n, ev); err != nil {
			ctl.close()
			n.cancel()
			return nil, err
		}
	}
	// The versions in force now: what this node loaded at start.
	n.schemaV, n.settingV, _ = n.versions(ctx)
	n.wg.Add(2)
	go n.listen()
	go n.poll()
	return n, nil
}

// ID returns the node's random id (its messages carry it).
func (n *Node) ID() string { return n.id }

// Channel returns the name of the NOTIFY channel (and NATS subject part)
// of the database and schema: unique per database+schema.
func (n *Node) Channel() string { return n.keys.channel }

// Close leaves the cluster: the listener, the poll and the connections
// stop.
func (n *Node) Close() error {
	n.cancel()
	n.wg.Wait()
	if n.nats != nil {
		n.nats.close()
	}
	n.ctl.close()
	return nil
}

// BeforeCommit is the node's db.DB.BeforeCommit: with events over
// PostgreSQL it NOTIFYs the changes inside the transaction.
func (n *Node) BeforeCommit(ctx context.Context, tx *db.Tx, events []db.RecordEvent) error {
	if n.nats != nil {
		return nil
	}
	return n.notify(ctx, tx, events)
}

// EchoesOwn reports whether this node's own record changes come back
// through the cluster to be delivered (LISTEN/NOTIFY): they then reach
// its subscribers in the one global commit order, interleaved with the
// other nodes' changes. With NATS the wiring delivers them locally.
func (n *Node) EchoesOwn() bool { return n.nats == nil }

// Committed is called with each committed local change (from the
// wiring's OnRecordChange, in commit order): with NATS it publishes it.
func (n *Node) Committed(ev db.RecordEvent) {
	if n.nats != nil {
		n.nats.publish(ev)
	}
}

// LiveNodes returns how many nodes hold the node lock of the database
// (this one included).
func (n *Node) LiveNodes(ctx context.Context) (int, error) { return n.ctl.liveNodes(ctx) }

// handle processes one message from another node (or an own echo).
func (n *Node) handle(ctx context.Context, m *message) {
	switch m.Kind {
	case kindSchema, kindSettings:
		n.sync(ctx)
	case kindRecord:
		if m.Node == n.id && !n.EchoesOwn() {
			return
		}
		n.deliver(ctx, m)
	}
}

// deliver turns m into a db.RecordEvent and hands it to cfg.Deliver.
func (n *Node) deliver(ctx context.Context, m *message) {
	c, err := n.cfg.DB.Collection(m.Coll)
	if err != nil {
		// A collection created on another node whose schema
		// notification has not been applied yet (NATS): read it now.
		n.sync(ctx)
		if c, err = n.cfg.DB.Collection(m.Coll); err != nil {
			n.log.Warn("cluster: an event of an unknown collection is dropped", "collection", m.Coll)
			return
		}
	}
	ev := db.RecordEvent{Action: m.Action, Collection: c}
	if ev.Record, err = decodeRecord(c, m.Record); err == nil {
		ev.Old, err = decodeRecord(c, m.Old)
	}
	if err != nil {
		n.log.Error("cluster: an event that does not decode is dropped", "err", err)
		return
	}
	// Auth records travel without their secrets, and big records of NATS
	// without anything: read the record as it is now.
	if m.ID != "" || (c.IsAuth() && ev.Action != db.ActionDelete) {
		id := m.ID
		if id == "" {
			id = ev.Record.ID()
		}
		recs, err := n.cfg.DB.FindByIDs(ctx, c, []string{id})
		switch {
		case err != nil:
			n.log.Error("cluster: read the record of an event", "collection", c.Name, "err", err)
			return
		case len(recs) == 1:
			ev.Record = recs[0]
		case ev.Action != db.ActionDelete:
			return // deleted meanwhile: its delete event follows
		default:
			ev.Record = db.Record{"id": id}
		}
	}
	n.cfg.Deliver(ev)
}

// sync reads the schema and settings versions and applies what changed.
func (n *Node) sync(ctx context.Context) {
	n.syncMu.Lock()
	defer n.syncMu.Unlock()
	sv, pv, err := n.versions(ctx)
	if err != nil {
		if ctx.Err() == nil {
			n.log.Error("cluster: read the schema version", "err", err)
		}
		return
	}
	if sv != n.schemaV {
		if err := n.cfg.DB.Reload(ctx); err != nil {
			n.log.Error("cluster: reload the collections changed by another node", "err", err)
		} else {
			n.schemaV = sv
		}
	}
	// A settings change committed while SettingsChanged reads the settings
	// may be applied on this node (by its own updateSettings) before the
	// reload applies the older values it read: read the version again and
	// reload until it holds still (a bounded number of times).
	for range 8 {
		if pv == n.settingV {
			break
		}
		n.settingV = pv
		if n.cfg.SettingsChanged != nil {
			n.cfg.SettingsChanged(ctx)
		}
		if _, pv, err = n.versions(ctx); err != nil {
			return
		}
	}
}

// The _cluster keys the triggers bump (to the writing transaction's id).
const (
	schemaVersionKey   = "schema"
	settingsVersionKey = "settings"
)

// versions returns the schema and settings versions stored in _cluster.
func (n *Node) versions(ctx context.Context) (schema, settings string, err error) {
	if schema, err = n.cfg.DB.ClusterVersion(ctx, schemaVersionKey); err != nil {
		return "", "", err
	}
	if settings, err = n.cfg.DB.ClusterVersion(ctx, settingsVersionKey); err != nil {
		return "", "", err
	}
	return schema, settings, nil
}

// poll syncs every PollInterval, and when kicked (after a reconnect).
func (n *Node) poll() {
	defer n.wg.Done()
	t := time.NewTicker(n.cfg.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
		case <-n.kick:
		}
		n.sync(n.ctx)
	}
}

// newID returns a random node id.
func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
