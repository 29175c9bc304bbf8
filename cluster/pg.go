package cluster

// The PostgreSQL side: the control connection (LISTEN, the node lock),
// the triggers that announce collection and settings changes, the
// _events table of changes too big for a NOTIFY, and the NOTIFY itself.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"sync"
	"time"

	"github.com/lib/pq"

	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/internal/pgdsn"
)

// keys are the names and lock keys of one database+schema.
type keys struct {
	channel string // the NOTIFY channel, e.g. monobase_1f2e3d4c5b6a7988
	lock    int32  // second key of the node lock (the first is lockSpace)
	setup   int32  // second key of the start-up lock
}

// lockSpace is the first key of Monobase's two-key advisory locks.
const lockSpace = 0x4d6f6e6f // "Mono"

func keysOf(database, schema string) keys {
	h := fnv.New64a()
	h.Write([]byte(database + "\x00" + schema))
	sum := h.Sum64()
	return keys{
		channel: fmt.Sprintf("monobase_%016x", sum),
		lock:    int32(sum & 0x7fffffff),
		setup:   int32((sum >> 32) & 0x7fffffff),
	}
}

// eventsTTL is how long a row of _events is kept for the nodes to read.
const eventsTTL = 5 * time.Minute

// control is the dedicated connection of a node: it LISTENs and holds the
// node lock (shared: every live node holds it; released by PostgreSQL when
// the connection ends, a crash included). It runs simple statements only;
// the queries that return rows (the live nodes, the stored events) go
// through a small pool of their own.
type control struct {
	n    *Node
	pool *sql.DB
	mu   sync.Mutex // guards conn and notes between the listener and Close
	conn *pq.ListenerConn
	// notes receives the notifications of conn; lib/pq closes it when the
	// connection ends.
	notes chan *pq.Notification
}

// openControl connects, installs the triggers and tables, takes the node
// lock and listens.
func openControl(ctx context.Context, n *Node) (*control, error) {
	dsn, err := pgdsn.Complete(n.cfg.DSN, nil)
	if err != nil {
		return nil, errors.New("cluster: parse the PostgreSQL URL")
	}
	conn, err := pq.NewConnector(dsn)
	if err != nil {
		return nil, errors.New("cluster: parse the PostgreSQL URL")
	}
	c := &control{n: n, pool: sql.OpenDB(conn)}
	c.pool.SetMaxOpenConns(2)
	if err := c.connect(ctx, true); err != nil {
		_ = c.pool.Close()
		return nil, err
	}
	return c, nil
}

// connect opens the connection, takes the node lock (first: refusing
// when another node is live and files are local) and LISTENs.
func (c *control) connect(ctx context.Context, first bool) error {
	dsn, err := pgdsn.Complete(c.n.cfg.DSN, map[string]string{"application_name": "monobase-node-" + c.n.id}) // seen in pg_stat_activity
	if err != nil {
		return errors.New("cluster: parse the PostgreSQL URL")
	}
	if first {
		var database, schema string
		if err := c.pool.QueryRowContext(ctx, `SELECT current_database(), COALESCE(current_schema(), '')`).Scan(&database, &schema); err != nil {
			return fmt.Errorf("cluster: connect to PostgreSQL: %w", err)
		}
		c.n.keys = keysOf(database, schema)
	}
	notes := make(chan *pq.Notification, 64)
	conn, err := dialListener(ctx, dsn, notes)
	if err != nil {
		return fmt.Errorf("cluster: connect to PostgreSQL: %w", err)
	}
	fail := func(err error) error {
		_ = conn.Close()
		return err
	}
	// lib/pq's simple statements take no context: ctx ends them by
	// closing the connection (a wait for the start-up lock, say).
	defer context.AfterFunc(ctx, func() { _ = conn.Close() })()
	exec := func(q string) error {
		_, err := conn.ExecSimpleQuery(q)
		return err
	}
	k := c.n.keys
	if err := exec("BEGIN"); err != nil {
		return fail(fmt.Errorf("cluster: %w", err))
	}
	// One node at a time installs the triggers and counts the live nodes
	// (the node lock is a session lock: it outlives the transaction).
	if err := exec(fmt.Sprintf(`SELECT pg_advisory_xact_lock(%d, %d)`, lockSpace, k.setup)); err != nil {
		return fail(fmt.Errorf("cluster: lock: %w", err))
	}
	if first {
		if err := install(exec, k.channel); err != nil {
			return fail(err)
		}
	}
	if err := exec(fmt.Sprintf(`SELECT pg_advisory_lock_shared(%d, %d)`, lockSpace, k.lock)); err != nil {
		return fail(fmt.Errorf("cluster: take the node lock: %w", err))
	}
	live, err := countNodes(ctx, c.pool, k)
	if err != nil {
		return fail(err)
	}
	if err := exec("COMMIT"); err != nil {
		return fail(fmt.Errorf("cluster: %w", err))
	}
	if live > 1 && c.n.cfg.LocalFiles {
		if first {
			return fail(ErrOtherNode)
		}
		c.n.log.Error("cluster: several nodes run while files are stored on the local disk; configure S3 (settings.s3)", "nodes", live)
	}
	if err := exec("LISTEN " + pq.QuoteIdentifier(k.channel)); err != nil {
		return fail(fmt.Errorf("cluster: listen: %w", err))
	}
	c.mu.Lock()
	c.conn, c.notes = conn, notes
	c.mu.Unlock()
	return nil
}

// dialListener opens a ListenerConn, giving up when ctx ends (lib/pq's
// dial takes no context).
func dialListener(ctx context.Context, dsn string, notes chan *pq.Notification) (*pq.ListenerConn, error) {
	type dialed struct {
		conn *pq.ListenerConn
		err  error
	}
	done := make(chan dialed, 1)
	go func() {
		conn, err := pq.NewListenerConn(dsn, notes)
		done <- dialed{conn, err}
	}()
	select {
	case d := <-done:
		return d.conn, d.err
	case <-ctx.Done():
		go func() {
			if d := <-done; d.conn != nil {
				_ = d.conn.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

// countNodes returns how many sessions hold the node lock.
func countNodes(ctx context.Context, pool *sql.DB, k keys) (int, error) {
	var live int
	err := pool.QueryRowContext(ctx, `SELECT count(DISTINCT pid) FROM pg_locks
WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND classid = $1::bigint::oid AND objid = $2::bigint::oid AND objsubid = 2`, int64(lockSpace), int64(k.lock)).Scan(&live)
	if err != nil {
		return 0, fmt.Errorf("cluster: count the live nodes: %w", err)
	}
	return live, nil
}

// liveNodes returns how many nodes hold the node lock now.
func (c *control) liveNodes(ctx context.Context) (int, error) {
	return countNodes(ctx, c.pool, c.n.keys)
}

// install creates the _events table and the triggers that bump the
// schema and settings versions in _cluster and NOTIFY the channel.
func install(exec func(string) error, channel string) error {
	ch := strings.ReplaceAll(channel, "'", "''") // [a-z0-9_] only; quoted anyway
	stmts := []string{
		`CREATE TABLE IF NOT EXISTS "_events" (
  "id" BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  "created" TIMESTAMPTZ NOT NULL DEFAULT now(),
  "payload" TEXT NOT NULL)`,
		`CREATE OR REPLACE FUNCTION "_monobase_bump"() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
  IF pg_trigger_depth() > 1 THEN RETURN NULL; END IF;
  INSERT INTO "_cluster" ("key", "value") VALUES (TG_ARGV[0], txid_current()::text)
    ON CONFLICT ("key") DO UPDATE SET "value" = excluded."value";
  PERFORM pg_notify(TG_ARGV[1], TG_ARGV[2]);
  RETURN NULL;
END $f$`,
		`CREATE OR REPLACE TRIGGER "_monobase_schema" AFTER INSERT OR UPDATE OR DELETE ON "_collections"
  FOR EACH STATEMENT EXECUTE FUNCTION "_monobase_bump"('` + schemaVersionKey + `', '` + ch + `', '{"k":"s"}')`,
		`CREATE OR REPLACE TRIGGER "_monobase_settings" AFTER INSERT OR UPDATE OR DELETE ON "_params"
  FOR EACH STATEMENT EXECUTE FUNCTION "_monobase_bump"('` + settingsVersionKey + `', '` + ch + `', '{"k":"p"}')`,
	}
	for _, s := range stmts {
		if err := exec(s); err != nil {
			return fmt.Errorf("cluster: install the triggers: %w", err)
		}
	}
	return nil
}

// drop closes the connection (the listener reconnects).
func (c *control) drop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn != nil {
		_ = c.conn.Close()
		// lib/pq's reader may be blocked handing over a notification:
		// take what is left until it closes the channel.
		go func(notes <-chan *pq.Notification) {
			for range notes {
			}
		}(c.notes)
		c.conn, c.notes = nil, nil
	}
}

// close closes the connection and the pool.
func (c *control) close() {
	c.drop()
	_ = c.pool.Close()
}

// listen receives the notifications of the channel until Close, and
// reconnects (with a growing pause, up to 5 s) when the connection drops.
// After a minute without notifications it deletes the expired events.
func (n *Node) listen() {
	defer n.wg.Done()
	c := n.ctl
	pause := 100 * time.Millisecond
	lastClean := time.Now()
	idle := time.NewTimer(time.Minute)
	defer idle.Stop()
	for n.ctx.Err() == nil {
		c.mu.Lock()
		conn, notes := c.conn, c.notes
		c.mu.Unlock()
		if conn == nil {
			if err := c.connect(n.ctx, false); err != nil {
				if n.ctx.Err() != nil {
					return
				}
				n.log.Warn("cluster: reconnect to PostgreSQL", "err", err, "retry", pause)
				select {
				case <-n.ctx.Done():
				case <-time.After(pause):
				}
				pause = min(2*pause, 5*time.Second)
				continue
			}
			pause = 100 * time.Millisecond
			n.log.Info("cluster: reconnected to PostgreSQL")
			select { // what changed while disconnected
			case n.kick <- struct{}{}:
			default:
			}
			continue
		}
		idle.Reset(time.Minute)
		var note *pq.Notification
		var ok bool
		select {
		case <-n.ctx.Done():
			return
		case <-idle.C:
			if time.Since(lastClean) > eventsTTL {
				lastClean = time.Now()
				n.cleanEvents()
			}
			continue
		case note, ok = <-notes:
		}
		if !ok {
			n.log.Warn("cluster: the PostgreSQL connection dropped; reconnecting", "err", conn.Err())
			c.drop()
			continue
		}
		var m message
		if err := json.Unmarshal([]byte(note.Extra), &m); err != nil {
			n.log.Error("cluster: a notification that does not decode is ignored", "err", err)
			continue
		}
		if m.Kind == kindRef {
			if !n.readRef(&m) {
				continue
			}
		}
		n.handle(n.ctx, &m)
	}
}

// readRef replaces m, a kindRef, by the message stored in _events.
func (n *Node) readRef(m *message) bool {
	var payload string
	err := n.ctl.pool.QueryRowContext(n.ctx, `SELECT "payload" FROM "_events" WHERE "id" = $1`, m.Ref).Scan(&payload)
	if err == nil {
		err = json.Unmarshal([]byte(payload), m)
	}
	if err != nil {
		n.log.Error("cluster: read a stored event", "id", m.Ref, "err", err)
		return false
	}
	return true
}

// cleanEvents deletes the rows of _events older than eventsTTL.
func (n *Node) cleanEvents() {
	_, err := n.ctl.pool.ExecContext(n.ctx, `DELETE FROM "_events" WHERE "created" < now() - $1::interval`, eventsTTL.String())
	if err != nil && n.ctx.Err() == nil {
		n.log.Warn("cluster: clean _events", "err", err)
	}
}

// notifyBatch is how many NOTIFYs one statement sends.
const notifyBatch = 64

// notify NOTIFYs events inside tx: small ones carry the change, bigger
// ones a reference to a row of _events written in the same transaction.
func (n *Node) notify(ctx context.Context, tx *db.Tx, events []db.RecordEvent) error {
	var sql strings.Builder
	var args []any
	flush := func() error {
		if len(args) == 0 {
			return nil
		}
		err := tx.Exec(ctx, sql.String(), args...)
		sql.Reset()
		args = args[:0]
		if err != nil {
			return fmt.Errorf("notify the other nodes: %w", err)
		}
		return nil
	}
	for _, ev := range events {
		payload, err := encodeEvent(n.id, ev)
		if err != nil {
			return err
		}
		if len(payload) > maxNotify {
			var id int64
			if err := tx.QueryRow(ctx, `INSERT INTO "_events" ("payload") VALUES (?) RETURNING "id"`, []any{string(payload)}, &id); err != nil {
				return fmt.Errorf("store a big event for the other nodes: %w", err)
			}
			payload, _ = json.Marshal(message{Node: n.id, Kind: kindRef, Ref: id})
		}
		if sql.Len() == 0 {
			sql.WriteString("SELECT pg_notify(?::text, ?::text)")
		} else {
			sql.WriteString(", pg_notify(?::text, ?::text)")
		}
		args = append(args, n.keys.channel, string(payload))
		if len(args) >= 2*notifyBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}
