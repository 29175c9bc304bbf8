package db

// The request logs in auxiliary.db: batched inserts, the admin API's
// listing and hourly counts (filtered and sorted in the PocketBase syntax,
// compiled by the one filter compiler against a description of the table)
// and the retention deletes.

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/db/filter"
)

// LogEntry is one row of the logs: Data is a JSON object (as text).
type LogEntry struct {
	ID      int64
	Created time.Time
	Level   int
	Message string
	Data    string
}

// LogQuery selects log entries: Filter and Sort in the PocketBase syntax
// over id, created, level, message and data.<path> (empty Sort: newest
// first, by id, which reads no more rows than it returns when the filter
// matches recent entries; other sorts read every matching row), Limit > 0
// entries from Offset.
type LogQuery struct {
	Filter string
	Sort   string
	Limit  int
	Offset int
}

// LogStat is the number of entries of one hour.
type LogStat struct {
	Date  time.Time // the start of the hour, UTC
	Total int64
}

// logsTable describes the _logs table to the filter compiler: filters and
// sorts name these fields, and data.<path> reads into the JSON of data.
var logsTable = &Collection{ID: "_logs", Name: "_logs", Type: TypeBase, System: true, Fields: []*Field{
	{Name: "id", Type: FieldNumber, OnlyInt: true, System: true},
	{Name: "created", Type: FieldDate, System: true},
	{Name: "level", Type: FieldNumber, OnlyInt: true, System: true},
	{Name: "message", Type: FieldText, System: true},
	{Name: "data", Type: FieldJSON, System: true},
}}

// logInsertSizes are the row counts of the prepared INSERT statements; a
// batch is written as a sum of them, largest first (100 rows: 64 + 4*8 +
// 4*1), so that no statement is parsed per batch.
var logInsertSizes = [...]int{64, 8, 1}

// prepareInserts prepares the INSERT statements of logInsertSizes on the
// writer (before any transaction holds its one connection).
func (a *Aux) prepareInserts(ctx context.Context) error {
	a.inserts = map[int]*sql.Stmt{}
	for _, n := range logInsertSizes {
		var b strings.Builder
		b.WriteString(`INSERT INTO "_logs" ("created", "level", "message", "data") VALUES `)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("(?,?,?,?)")
		}
		st, err := a.writer.PrepareContext(ctx, b.String())
		if err != nil {
			return fmt.Errorf("prepare the log inserts: %w", err)
		}
		a.inserts[n] = st
	}
	return nil
}

// InsertLogs writes entries in one transaction (their ID is ignored: the
// table numbers them). It fails with a wrapped error, having written
// nothing.
func (a *Aux) InsertLogs(ctx context.Context, entries []LogEntry) error {
	if len(entries) == 0 {
		return nil
	}
	tx, err := a.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("insert logs: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	// The dates of all the rows in one string (one allocation), cut up.
	buf := make([]byte, 0, len(DateLayout)*len(entries))
	for _, e := range entries {
		buf = appendDate(buf, e.Created)
	}
	dates := string(buf)
	args := make([]any, 0, 4*logInsertSizes[0])
	for _, size := range logInsertSizes {
		for len(entries) >= size {
			chunk := entries[:size]
			entries = entries[size:]
			st := a.inserts[size]
			args = args[:0]
			for _, e := range chunk {
				data := e.Data
				if data == "" {
					data = "{}"
				}
				date := dates[:len(DateLayout)]
				dates = dates[len(DateLayout):]
				args = append(args, date, int64(e.Level), e.Message, data)
			}
			if _, err := tx.StmtContext(ctx, st).ExecContext(ctx, args...); err != nil {
				return fmt.Errorf("insert logs: %w", err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("insert logs: %w", err)
	}
	return nil
}

// Logs returns the entries q selects. A filter or sort that does not
// parse or names an unknown field is BAD_USER_INPUT with its position;
// other failures are wrapped errors.
func (a *Aux) Logs(ctx context.Context, q LogQuery) ([]LogEntry, error) {
	where, err := compileLogFilter(q.Filter)
	if err != nil {
		return nil, err
	}
	var order []Cond
	tie := `"r"."id" DESC` // the newest first, and after the sort's terms in the order of the first
	if strings.TrimSpace(q.Sort) != "" {
		items, err := filter.ParseSort(q.Sort)
		if err == nil {
			order, err = newFilterCompiler(noCollections, nil, false).compileSort(logsTable, "r", items)
		}
		if err != nil {
			return nil, logArgErr("sort", err)
		}
		if len(items) > 0 && !items[0].Desc {
			tie = `"r"."id" ASC`
		}
	}
	var b strings.Builder
	args := append([]any{}, where.Args...)
	b.WriteString(`SELECT "r"."id", "r"."created", "r"."level", "r"."message", "r"."data" FROM "_logs" "r" WHERE `)
	b.WriteString(where.SQL)
	b.WriteString(" ORDER BY ")
	for _, o := range order {
		b.WriteString(o.SQL)
		b.WriteString(", ")
		args = append(args, o.Args...)
	}
	b.WriteString(tie + " LIMIT ? OFFSET ?")
	args = append(args, q.Limit, max(q.Offset, 0))
	rows, err := a.readers.QueryContext(ctx, b.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("list logs: %w", err)
	}
	defer rows.Close()
	var out []LogEntry
	for rows.Next() {
		var e LogEntry
		var created string
		if err := rows.Scan(&e.ID, &created, &e.Level, &e.Message, &e.Data); err != nil {
			return nil, fmt.Errorf("list logs: %w", err)
		}
		if e.Created, err = ParseDate(created); err != nil {
			return nil, fmt.Errorf("list logs: entry %d: %w", e.ID, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list logs: %w", err)
	}
	return out, nil
}

// LogStats returns how many entries the filter selects in each hour that
// has any, oldest first. Filter errors are as in Logs.
func (a *Aux) LogStats(ctx context.Context, filterText string) ([]LogStat, error) {
	where, err := compileLogFilter(filterText)
	if err != nil {
		return nil, err
	}
	// created is DateLayout text: its first 13 bytes name the hour.
	rows, err := a.readers.QueryContext(ctx, `SELECT substr("r"."created", 1, 13) AS "hour", COUNT(*) FROM "_logs" "r" WHERE `+
		where.SQL+` GROUP BY "hour" ORDER BY "hour"`, where.Args...)
	if err != nil {
		return nil, fmt.Errorf("log stats: %w", err)
	}
	defer rows.Close()
	var out []LogStat
	for rows.Next() {
		var hour string
		var s LogStat
		if err := rows.Scan(&hour, &s.Total); err != nil {
			return nil, fmt.Errorf("log stats: %w", err)
		}
		if s.Date, err = time.Parse("2006-01-02T15", hour); err != nil {
			return nil, fmt.Errorf("log stats: hour %q: %w", hour, err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("log stats: %w", err)
	}
	return out, nil
}

// logDeleteWindow is how many ids one statement of DeleteLogsBefore
// covers: the writer of new entries waits for one window at most.
const logDeleteWindow = 10_000

// DeleteLogsBefore deletes the entries created before t and returns how
// many there were. It walks the ids from the oldest in windows, one
// statement each, and stops at the first window whose entries are all
// newer (created grows with the id; an entry written out of that order, after
// the clock went back, goes at a later cleanup).
func (a *Aux) DeleteLogsBefore(ctx context.Context, t time.Time) (int64, error) {
	before := FormatDate(t)
	var lo, hi int64
	err := a.writer.QueryRowContext(ctx, `SELECT COALESCE(MIN("id"), 0), COALESCE(MAX("id"), -1) FROM "_logs"`).Scan(&lo, &hi)
	if err != nil {
		return 0, fmt.Errorf("delete logs before %s: %w", before, err)
	}
	var total int64
	for ; lo <= hi; lo += logDeleteWindow {
		res, err := a.writer.ExecContext(ctx, `DELETE FROM "_logs" WHERE "id" >= ? AND "id" < ? AND "created" < ?`, lo, lo+logDeleteWindow, before)
		if err != nil {
			return total, fmt.Errorf("delete logs before %s: %w", before, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("delete logs: %w", err)
		}
		if n == 0 {
			var rows bool // a window of deleted ids has none, and the walk goes on
			err := a.writer.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM "_logs" WHERE "id" >= ? AND "id" < ?)`, lo, lo+logDeleteWindow).Scan(&rows)
			if err != nil {
				return total, fmt.Errorf("delete logs before %s: %w", before, err)
			}
			if rows {
				break
			}
		}
		total += n
	}
	return total, nil
}

// noCollections is the lookup of log filters: they name no collection.
func noCollections(idOrName string) (*Collection, error) {
	return nil, apperr.New(apperr.NotFound, "collection %q not found", idOrName)
}

// compileLogFilter compiles a log filter ("" matches everything) to a
// condition on the _logs table aliased "r".
func compileLogFilter(src string) (Cond, error) {
	if strings.TrimSpace(src) == "" {
		return Cond{SQL: "1"}, nil
	}
	e, err := filter.ParseCached(src)
	if err == nil {
		err = logIdents(e)
	}
	var c Cond
	if err == nil {
		c, err = newFilterCompiler(noCollections, nil, false).compile(logsTable, "r", e)
	}
	if err != nil {
		return Cond{}, logArgErr("filter", err)
	}
	return c, nil
}

// logArgErr names the argument (filter, sort) of a BAD_USER_INPUT error
// in its fields; other errors are returned as they are.
func logArgErr(name string, err error) error {
	e := apperr.As(err)
	if e == nil || e.Code != apperr.Invalid || len(e.Fields) > 0 {
		return err
	}
	out := apperr.InvalidFields("invalid "+name+": "+e.Message, map[string]apperr.FieldError{name: {Code: "invalid", Message: e.Message}})
	out.Pos = e.Pos
	return out
}

// logIdents refuses what a log filter cannot name: @request.* and
// @collection.* (the date macros such as @now are fine).
func logIdents(e filter.Expr) error {
	var operand func(o filter.Operand) error
	operand = func(o filter.Operand) error {
		switch o := o.(type) {
		case *filter.Ident:
			if len(o.Parts) > 0 && strings.HasPrefix(o.Parts[0], "@") && !filter.Macros[o.Parts[0]] {
				return filterErr(o.Pos, "unknown identifier %q: logs have id, created, level, message and data.<path>", strings.Join(o.Parts, "."))
			}
		case *filter.Call:
			for _, a := range o.Args {
				if err := operand(a); err != nil {
					return err
				}
			}
		}
		return nil
	}
	switch e := e.(type) {
	case *filter.Group:
		for _, it := range e.Items {
			if err := logIdents(it); err != nil {
				return err
			}
		}
	case *filter.Not:
		return logIdents(e.X)
	case *filter.Compare:
		if err := operand(e.Left); err != nil {
			return err
		}
		return operand(e.Right)
	}
	return nil
}

// appendDate appends t as FormatDate does (DateLayout, UTC), without
// the general formatter; years outside 0-9999 are clamped to its ends.
func appendDate(b []byte, t time.Time) []byte {
	t = t.UTC()
	y, mo, d := t.Date()
	h, mi, sec := t.Clock()
	y = min(max(y, 0), 9999)
	n := func(b []byte, v, width int) []byte {
		var tmp [4]byte
		for i := width - 1; i >= 0; i-- {
			tmp[i] = byte('0' + v%10)
			v /= 10
		}
		return append(b, tmp[:width]...)
	}
	b = n(b, y, 4)
	b = append(b, '-')
	b = n(b, int(mo), 2)
	b = append(b, '-')
	b = n(b, d, 2)
	b = append(b, 'T')
	b = n(b, h, 2)
	b = append(b, ':')
	b = n(b, mi, 2)
	b = append(b, ':')
	b = n(b, sec, 2)
	b = append(b, '.')
	b = n(b, t.Nanosecond()/1e6, 3)
	return append(b, 'Z')
}
