package db

// Record reads: Find, FindByIDs, Count, Aggregate and FindAuthRecord. They
// run on the reader pool, or through the transaction carried by ctx.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/monobase/monobase/apperr"
)

// maxIDsPerQuery keeps IN lists under SQLite's bound-parameter limits.
const maxIDsPerQuery = 900

func queryAlias(q *Query) string {
	if q.Alias != "" {
		return q.Alias
	}
	return "r"
}

func checkQuery(q *Query) error {
	if q == nil || q.Collection == nil {
		return apperr.Wrap(errors.New("query without a collection"), "bad query")
	}
	return nil
}

// writeWhere appends " WHERE (a) AND (b)" for the non-blank conds to b (nothing
// when there are none) and returns args with their arguments appended.
func writeWhere(b *strings.Builder, args []any, conds []Cond) []any {
	first := true
	for _, c := range conds {
		if strings.TrimSpace(c.SQL) == "" {
			continue
		}
		if first {
			b.WriteString(" WHERE (")
			first = false
		} else {
			b.WriteString(" AND (")
		}
		b.WriteString(c.SQL)
		b.WriteString(")")
		args = append(args, c.Args...)
	}
	return args
}

// Find returns the records matching q. Inside a transaction started with
// Begin (ctx from Tx.Context) it reads through that transaction, so a
// mutation sees its own writes.
func (d *DB) Find(ctx context.Context, q *Query) ([]Record, error) {
	recs, _, err := d.FindJoined(ctx, q)
	return recs, err
}

// FindJoined is Find that also reads q.Joins: joined[i*len(q.Joins)+j] is
// the record that join j found for records[i], nil when the relation is
// unset, points nowhere or the related record does not meet the join's On.
func (d *DB) FindJoined(ctx context.Context, q *Query) (records, joined []Record, err error) {
	query, args, joinCols, err := d.selectSQL(q)
	if err != nil {
		return nil, nil, err
	}
	rows, err := d.readQuery(ctx, query, args)
	if err != nil {
		return nil, nil, fmt.Errorf("query %s: %w", q.Collection.Name, err)
	}
	return scanJoined(q, joinCols, rows)
}

// selectSQL writes the SELECT of q: the statement, its arguments and how
// many columns each join reads. A bad query is apperr.Invalid.
func (d *DB) selectSQL(q *Query) (string, []any, []int, error) {
	if err := checkQuery(q); err != nil {
		return "", nil, nil, err
	}
	alias := quoteIdent(queryAlias(q))
	var b strings.Builder
	b.Grow(256)
	b.WriteString("SELECT ")
	if err := writeColumns(&b, q.Collection, q.Columns, alias); err != nil {
		return "", nil, nil, err
	}
	joinCols := make([]int, len(q.Joins))
	for i, j := range q.Joins {
		if err := checkJoin(q, j); err != nil {
			return "", nil, nil, err
		}
		cols := j.Columns
		if len(cols) == 0 {
			cols = fieldNames(j.Collection)
		}
		b.WriteString(", ")
		n, err := writeJoinColumns(&b, j.Collection, cols, quoteIdent(j.Alias))
		if err != nil {
			return "", nil, nil, err
		}
		joinCols[i] = n
	}
	b.WriteString(" FROM " + quoteIdent(q.Collection.Name) + " AS " + alias)
	var args []any
	for _, j := range q.Joins {
		ja := quoteIdent(j.Alias)
		b.WriteString(" LEFT JOIN " + quoteIdent(j.Collection.Name) + " AS " + ja + " ON " + ja + `."id" = ` + alias + "." + quoteIdent(j.Field))
		for _, c := range j.On {
			if strings.TrimSpace(c.SQL) == "" {
				continue
			}
			b.WriteString(" AND (" + c.SQL + ")")
			args = append(args, c.Args...)
		}
	}
	args = writeWhere(&b, args, q.Where)
	b.WriteString(" ORDER BY ")
	terms := 0
	for _, o := range q.OrderBy {
		if strings.TrimSpace(o.SQL) == "" {
			continue
		}
		if terms > 0 {
			b.WriteString(", ")
		}
		b.WriteString(o.SQL)
		args = append(args, o.Args...)
		terms++
	}
	// The row key is unique: alone it has no tie to break, and PostgreSQL
	// then reads its index in order instead of sorting again by id.
	if terms != 1 || q.OrderBy[0].SQL != d.sql().rowKey(q.Collection, queryAlias(q)) {
		if terms > 0 {
			b.WriteString(", ")
		}
		b.WriteString(alias + `."id"`)
	}
	if q.Limit > 0 || q.Offset > 0 {
		var limit any = q.Limit
		if q.Limit <= 0 {
			limit = d.sql().noLimit()
		}
		b.WriteString(" LIMIT ? OFFSET ?")
		args = append(args, limit, max(q.Offset, 0))
	}
	return b.String(), args, joinCols, nil
}

func checkJoin(q *Query, j Join) error {
	f := q.Collection.FieldByName(j.Field)
	switch {
	case f == nil || f.Type != FieldRelation || f.Multiple():
		return apperr.New(apperr.Invalid, "join: %q is not a single relation field of %s", j.Field, q.Collection.Name)
	case j.Collection == nil:
		return apperr.New(apperr.Invalid, "join of %s.%s without a collection", q.Collection.Name, j.Field)
	case j.Alias == "" || j.Alias == queryAlias(q):
		return apperr.New(apperr.Invalid, "join of %s.%s: the alias %q is not unique", q.Collection.Name, j.Field, j.Alias)
	}
	return nil
}

func fieldNames(c *Collection) []string {
	out := make([]string, len(c.Fields))
	for i, f := range c.Fields {
		out[i] = f.Name
	}
	return out
}

// writeJoinColumns writes alias."id" and the columns cols of a joined
// collection; it returns how many it wrote.
func writeJoinColumns(b *strings.Builder, c *Collection, cols []string, alias string) (int, error) {
	b.WriteString(alias + `."id"`)
	n := 1
	for i, name := range cols {
		if name == "id" || slices.Contains(cols[:i], name) {
			continue
		}
		if c.FieldByName(name) == nil {
			return 0, apperr.New(apperr.Invalid, "%s has no field %q", c.Name, name)
		}
		b.WriteString(", " + alias + "." + quoteIdent(name))
		n++
	}
	return n, nil
}

// writeColumns writes the select list of a query's collection c: alias.*,
// or the id and the columns cols.
func writeColumns(b *strings.Builder, c *Collection, cols []string, alias string) error {
	if len(cols) == 0 {
		b.WriteString(alias + ".*")
		return nil
	}
	_, err := writeJoinColumns(b, c, cols, alias)
	return err
}

// FindByIDs returns the records of c with those ids (any order), with extra
// conditions ANDed. One SQL statement whatever the number of ids.
func (d *DB) FindByIDs(ctx context.Context, c *Collection, ids []string, where ...Cond) ([]Record, error) {
	if c == nil {
		return nil, apperr.Wrap(errors.New("findByIDs without a collection"), "bad query")
	}
	var out []Record
	for start := 0; start < len(ids); start += maxIDsPerQuery {
		chunk := ids[start:min(start+maxIDsPerQuery, len(ids))]
		var b strings.Builder
		// One bound parameter whatever the number of ids keeps the SQL
		// text (and so the cached statement) the same.
		b.WriteString(`SELECT "r".* FROM ` + quoteIdent(c.Name) + ` AS "r" WHERE `)
		args := make([]any, 1, 1+len(where))
		if len(chunk) == 1 {
			b.WriteString(`"r"."id" = ?`)
			args[0] = chunk[0]
		} else {
			b.WriteString(d.sql().inList(`"r"."id"`))
			args[0] = encodeList(chunk)
		}
		for _, w := range where {
			if strings.TrimSpace(w.SQL) == "" {
				continue
			}
			b.WriteString(" AND (" + w.SQL + ")")
			args = append(args, w.Args...)
		}
		recs, err := d.queryRecords(ctx, c, b.String(), args...)
		if err != nil {
			return nil, err
		}
		out = append(out, recs...)
	}
	if out == nil {
		out = []Record{}
	}
	return out, nil
}

// Count returns how many records match q (Limit and Offset ignored).
func (d *DB) Count(ctx context.Context, q *Query) (int64, error) {
	if err := checkQuery(q); err != nil {
		return 0, err
	}
	alias := quoteIdent(queryAlias(q))
	var b strings.Builder
	b.WriteString("SELECT COUNT(*) FROM " + quoteIdent(q.Collection.Name) + " AS " + alias)
	args := writeWhere(&b, nil, q.Where)
	var n int64
	if err := d.readRow(ctx, b.String(), args, &n); err != nil {
		return 0, fmt.Errorf("count %s: %w", q.Collection.Name, err)
	}
	return n, nil
}

// Aggregate returns, for each NUMBER field named in fields, sum, avg, min
// and max over the records matching q (keys "sum","avg","min","max"), and the
// count under the key "" -> {"count": n}.
func (d *DB) Aggregate(ctx context.Context, q *Query, fields []string) (map[string]map[string]any, error) {
	if err := checkQuery(q); err != nil {
		return nil, err
	}
	alias := quoteIdent(queryAlias(q))
	var b strings.Builder
	b.WriteString("SELECT COUNT(*)")
	for _, name := range fields {
		f := q.Collection.FieldByName(name)
		if f == nil || f.Type != FieldNumber {
			return nil, apperr.New(apperr.Invalid, "%q is not a number field of %s", name, q.Collection.Name)
		}
		col := alias + "." + quoteIdent(name)
		b.WriteString(", " + d.qsql().total(col) + ", AVG(" + col + "), MIN(" + col + "), MAX(" + col + ")")
	}
	b.WriteString(" FROM " + quoteIdent(q.Collection.Name) + " AS " + alias)
	args := writeWhere(&b, nil, q.Where)
	vals := make([]any, 1+4*len(fields))
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := d.readRow(ctx, b.String(), args, ptrs...); err != nil {
		return nil, fmt.Errorf("aggregate %s: %w", q.Collection.Name, err)
	}
	count, _ := vals[0].(int64)
	out := map[string]map[string]any{"": {"count": count}}
	for i, name := range fields {
		m := map[string]any{}
		for j, k := range []string{"sum", "avg", "min", "max"} {
			v := vals[1+4*i+j]
			if n, ok := ToFloat(v); ok {
				m[k] = n
			} else {
				m[k] = nil
			}
		}
		out[name] = m
	}
	return out, nil
}

// FindAuthRecord returns the record of the auth collection c whose email is
// email (case-insensitive), or apperr.NotFound.
func (d *DB) FindAuthRecord(ctx context.Context, c *Collection, email string) (Record, error) {
	if c == nil || !c.IsAuth() {
		return nil, apperr.New(apperr.Invalid, "not an auth collection")
	}
	recs, err := d.queryRecords(ctx, c, `SELECT "r".* FROM `+quoteIdent(c.Name)+` AS "r" WHERE `+d.sql().foldEq(`"r"."email"`)+` LIMIT 1`, strings.TrimSpace(email))
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, apperr.New(apperr.NotFound, "no %s record with that email", c.Name)
	}
	return recs[0], nil
}

func (d *DB) queryRecords(ctx context.Context, c *Collection, query string, args ...any) ([]Record, error) {
	rows, err := d.readQuery(ctx, query, args)
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", c.Name, err)
	}
	return scanRecords(c, rows)
}

// readState is the read side of a DB: prepared statements of the reader
// pool and of the writer (for reads inside transactions), and the read
// observer.
type readState struct {
	stmts    stmtCache
	txStmts  txStmtCache
	observer atomic.Pointer[func(query string)]
}

// ObserveReads sets fn to be called with the SQL text of every statement
// that Find, FindByIDs, Count, Aggregate and FindAuthRecord run (on the
// reader pool or in a transaction), before it runs; nil removes it. Tests
// use it to count statements.
func (d *DB) ObserveReads(fn func(query string)) {
	if fn == nil {
		d.reads.observer.Store(nil)
		return
	}
	d.reads.observer.Store(&fn)
}

func (d *DB) observeRead(query string) {
	if fn := d.reads.observer.Load(); fn != nil {
		(*fn)(query)
	}
}

// readQuery runs a read: in the transaction of ctx when there is one, else
// on the reader pool through a prepared statement cached by SQL text.
func (d *DB) readQuery(ctx context.Context, query string, args []any) (*sql.Rows, error) {
	d.observeRead(query)
	if tx := d.txFrom(ctx); tx != nil {
		return tx.query(ctx, query, args...)
	}
	return d.reads.stmts.query(ctx, d.readers.DB, query, args)
}

// prepareTxReads prepares on the writer the reads that transactions ran
// unprepared since the last call. Begin calls it before it takes the
// writer: a statement cannot be prepared on the single writer connection
// while a transaction holds it.
func (d *DB) prepareTxReads(ctx context.Context) {
	d.reads.txStmts.prepareWanted(ctx, d.writer.DB)
}

// txStmtCache holds the writer's prepared statements of reads run in
// transactions, by SQL text. A text is prepared once it has run twice
// (before the next transaction begins).
type txStmtCache struct {
	mu     sync.Mutex
	m      map[string]*sql.Stmt
	seen   map[string]bool // ran once unprepared
	wanted []string        // ran twice: prepare before the next transaction
}

func (c *txStmtCache) get(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.m[query]; st != nil {
		return st
	}
	if c.seen[query] {
		delete(c.seen, query)
		c.wanted = append(c.wanted, query)
		return nil
	}
	if len(c.seen) >= maxCachedStmts {
		clear(c.seen)
	}
	if c.seen == nil {
		c.seen = map[string]bool{}
	}
	c.seen[query] = true
	return nil
}

func (c *txStmtCache) prepareWanted(ctx context.Context, pool *sql.DB) {
	c.mu.Lock()
	wanted := c.wanted
	c.wanted = nil
	c.mu.Unlock()
	for _, q := range wanted {
		st, err := pool.PrepareContext(ctx, q)
		if err != nil {
			continue // it runs unprepared
		}
		c.mu.Lock()
		if len(c.m) >= maxCachedStmts {
			for _, old := range c.m {
				_ = old.Close()
			}
			clear(c.m)
		}
		if c.m == nil {
			c.m = map[string]*sql.Stmt{}
		}
		if c.m[q] == nil {
			c.m[q] = st
			st = nil
		}
		c.mu.Unlock()
		if st != nil {
			_ = st.Close()
		}
	}
}

// readRow is readQuery for one row.
func (d *DB) readRow(ctx context.Context, query string, args []any, dest ...any) error {
	rows, err := d.readQuery(ctx, query, args)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	if err := rows.Scan(dest...); err != nil {
		return err
	}
	return rows.Close()
}

// maxCachedStmts bounds the statement cache: past it the cache is emptied
// (query shapes are few in practice: values are bound parameters).
const maxCachedStmts = 256

// stmtCache holds prepared statements of one pool by SQL text. database/sql
// prepares each on a connection the first time it runs there and reuses it
// afterwards, so a cached query skips SQLite's parser and planner.
type stmtCache struct {
	mu sync.RWMutex
	m  map[string]*sql.Stmt
}

// query runs query through the cached statement, preparing it on first
// use. A statement that fails to prepare is not cached (the error is
// returned as the query's).
func (sc *stmtCache) query(ctx context.Context, pool *sql.DB, query string, args []any) (*sql.Rows, error) {
	for {
		sc.mu.RLock()
		if st := sc.m[query]; st != nil {
			// The read lock keeps the statement open until the query has
			// started; a statement closed later waits for its rows.
			rows, err := st.QueryContext(ctx, args...)
			sc.mu.RUnlock()
			return rows, err
		}
		sc.mu.RUnlock()
		if err := sc.prepare(ctx, pool, query); err != nil {
			return nil, err
		}
	}
}

// prepare adds the statement of query to the cache.
func (sc *stmtCache) prepare(ctx context.Context, pool *sql.DB, query string) error {
	st, err := pool.PrepareContext(ctx, query)
	if err != nil {
		return err
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.m[query] != nil {
		_ = st.Close() // prepared concurrently
		return nil
	}
	if len(sc.m) >= maxCachedStmts {
		for _, old := range sc.m {
			_ = old.Close()
		}
		clear(sc.m)
	}
	if sc.m == nil {
		sc.m = make(map[string]*sql.Stmt, 64)
	}
	sc.m[query] = st
	return nil
}

// scanRecords reads all rows (and closes them) into records decoded
// through the field registry.
func scanRecords(c *Collection, rows *sql.Rows) ([]Record, error) {
	recs, _, err := scanJoined(&Query{Collection: c}, nil, rows)
	return recs, err
}

// scanJoined reads all rows (and closes them): the columns of q's
// collection, then joinCols[j] columns (id first) of each join j.
func scanJoined(q *Query, joinCols []int, rows *sql.Rows) ([]Record, []Record, error) {
	defer rows.Close()
	c := q.Collection
	cols, err := rows.Columns()
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", c.Name, err)
	}
	// The columns of the main record come first.
	mainCols := len(cols)
	for _, n := range joinCols {
		mainCols -= n
	}
	if mainCols < 1 {
		return nil, nil, fmt.Errorf("read %s: %d columns for %d joined", c.Name, len(cols), len(cols)-mainCols)
	}
	fields := make([]*Field, len(cols))
	known := 0
	for i, name := range cols[:mainCols] {
		if fields[i] = c.FieldByName(name); fields[i] != nil {
			known++
		}
	}
	start := mainCols
	for j, n := range joinCols {
		jc := q.Joins[j].Collection
		for i := start; i < start+n; i++ {
			fields[i] = jc.FieldByName(cols[i])
		}
		start += n
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	out := []Record{}
	var joined []Record
	// A record joined to several rows is decoded once.
	var seen []map[string]Record
	if len(joinCols) > 0 {
		seen = make([]map[string]Record, len(joinCols))
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, nil, fmt.Errorf("read %s: %w", c.Name, err)
		}
		out = append(out, decodeRecord(fields[:mainCols], vals[:mainCols], known))
		start := mainCols
		for j, n := range joinCols {
			var rec Record
			switch id := vals[start].(type) {
			case nil: // nothing joined
			case string:
				if rec = seen[j][id]; rec == nil {
					rec = decodeRecord(fields[start:start+n], vals[start:start+n], n)
					if seen[j] == nil {
						seen[j] = map[string]Record{}
					}
					seen[j][id] = rec
				}
			default:
				rec = decodeRecord(fields[start:start+n], vals[start:start+n], n)
			}
			joined = append(joined, rec)
			start += n
		}
		clear(vals)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", c.Name, err)
	}
	return out, joined, nil
}

// decodeRecord decodes the scanned values of one record; a nil field is a
// column the definition does not know (a stale collection).
func decodeRecord(fields []*Field, vals []any, size int) Record {
	rec := make(Record, size)
	for i, f := range fields {
		if f != nil {
			rec[f.Name] = DecodeValue(f, vals[i])
		}
	}
	return rec
}
