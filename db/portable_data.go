package db

// Portable data: ExportData writes every row of a database (collections,
// records and the system tables) in a format that does not depend on the
// engine, and ImportData loads it into an empty database of either engine
// (`monobase export-data` / `import-data` move a data folder between
// SQLite and PostgreSQL with it). Values keep their stored form: dates as
// their sortable text, JSON as its text, booleans as 0/1 (BOOLEAN on
// PostgreSQL's system columns), bytes as base64.
//
// The stream is JSON lines:
//
//	{"format":"monobase-data","version":1,"engine":"sqlite","collections":[...stored rows...]}
//	{"table":"posts","columns":["id","created",...]}
//	["r1","2025-01-02T03:04:05.000Z",...]          one line per row, in insertion order
//	{"rows":2}                                     the end of the table, with its count
//	... the next table ...
//	{"end":true,"tables":9}

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/monobase/monobase/apperr"
)

// DataFormat and DataVersion name the stream of ExportData.
const (
	DataFormat  = "monobase-data"
	DataVersion = 1
)

// portableSystemTables are the system tables whose rows move with the data
// (besides "_collections", which the header carries): settings and the
// token signing secret (_params), OAuth2 links, sign-in state and the
// app's migrations. The engines' own migration bookkeeping stays behind.
var portableSystemTables = []string{"_params", "_externalAuths", "_otps", "_mfas", "_authOrigins", "_appMigrations"}

// ExportHeader is the first line of an export.
type ExportHeader struct {
	Format      string             `json:"format"`
	Version     int                `json:"version"`
	Engine      Engine             `json:"engine"`
	Collections []StoredCollection `json:"collections"`
}

// StoredCollection is a row of "_collections" as stored: Data is the
// definition's JSON (client secrets sealed as on disk).
type StoredCollection struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Type    string `json:"type"`
	System  bool   `json:"system"`
	Data    string `json:"data"`
	Created string `json:"created"`
	Updated string `json:"updated"`
}

// DataStats counts what an export or import moved: rows per table.
type DataStats struct {
	Collections int
	Tables      []string       // in the order of the stream
	Rows        map[string]int // by table
}

// tableLine starts a table, endLine ends it, trailer ends the stream.
type tableLine struct {
	Table   string   `json:"table"`
	Columns []string `json:"columns"`
}

type endLine struct {
	Rows *int `json:"rows"`
}

type trailer struct {
	End    bool `json:"end"`
	Tables int  `json:"tables"`
}

// portableTables returns the tables whose rows an export holds, in the
// order an import inserts them: the system tables, then the table of each
// base and auth collection in creation order (views have none).
func portableTables(cols []*Collection) []string {
	tables := slices.Clone(portableSystemTables)
	for _, c := range cols {
		if c.Type != TypeView {
			tables = append(tables, c.Name)
		}
	}
	return tables
}

// ExportData writes all data of d to w as of one moment (a read
// transaction): the stored collection rows, then every row of every
// portable table. Files stay where they are (the data folder's storage or
// the S3 bucket); the request logs (auxiliary database) stay on the node.
func (d *DB) ExportData(ctx context.Context, w io.Writer) (*DataStats, error) {
	opts := &sql.TxOptions{ReadOnly: true}
	if d.Engine() == EnginePostgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := d.readers.DB.BeginTx(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("export data: begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()

	h := ExportHeader{Format: DataFormat, Version: DataVersion, Engine: d.Engine()}
	if h.Collections, err = storedCollections(ctx, tx); err != nil {
		return nil, err
	}
	cols := make([]*Collection, 0, len(h.Collections))
	for _, sc := range h.Collections {
		c, err := decodeCollection([]byte(sc.Data))
		if err != nil {
			return nil, fmt.Errorf("export data: decode collection %s: %w", sc.Name, err)
		}
		cols = append(cols, c)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(h); err != nil {
		return nil, fmt.Errorf("export data: %w", err)
	}
	stats := &DataStats{Collections: len(cols), Rows: map[string]int{}}
	for _, table := range portableTables(cols) {
		n, err := d.exportTable(ctx, tx, enc, table)
		if err != nil {
			return nil, err
		}
		stats.Tables = append(stats.Tables, table)
		stats.Rows[table] = n
	}
	if err := enc.Encode(trailer{End: true, Tables: len(stats.Tables)}); err != nil {
		return nil, fmt.Errorf("export data: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return nil, fmt.Errorf("export data: %w", err)
	}
	return stats, nil
}

// storedCollections reads the "_collections" rows in creation order.
func storedCollections(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}) ([]StoredCollection, error) {
	rows, err := q.QueryContext(ctx, `SELECT "id", "name", "type", "system", "data", "created", "updated" FROM "_collections" ORDER BY "rowid"`)
	if err != nil {
		return nil, fmt.Errorf("export data: read collections: %w", err)
	}
	defer rows.Close()
	var out []StoredCollection
	for rows.Next() {
		var sc StoredCollection
		var data []byte
		if err := rows.Scan(&sc.ID, &sc.Name, &sc.Type, &sc.System, &data, &sc.Created, &sc.Updated); err != nil {
			return nil, fmt.Errorf("export data: read collections: %w", err)
		}
		sc.Data = string(data)
		out = append(out, sc)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("export data: read collections: %w", err)
	}
	return out, nil
}

// exportTable writes one table: its columns (the physical "rowid" of
// PostgreSQL left out: an import numbers rows anew, in the same order),
// its rows in insertion order and their count.
func (d *DB) exportTable(ctx context.Context, tx *sql.Tx, enc *json.Encoder, table string) (int, error) {
	rows, err := tx.QueryContext(ctx, `SELECT * FROM `+quoteIdent(table)+` ORDER BY `+d.exportOrder(table))
	if err != nil {
		return 0, fmt.Errorf("export data: read %s: %w", table, err)
	}
	defer rows.Close()
	all, err := rows.Columns()
	if err != nil {
		return 0, fmt.Errorf("export data: read %s: %w", table, err)
	}
	var keep []int
	var cols []string
	for i, c := range all {
		if c != "rowid" {
			keep = append(keep, i)
			cols = append(cols, c)
		}
	}
	if err := enc.Encode(tableLine{Table: table, Columns: cols}); err != nil {
		return 0, fmt.Errorf("export data: %w", err)
	}
	vals := make([]any, len(all))
	ptrs := make([]any, len(all))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	out := make([]any, len(keep))
	n := 0
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return 0, fmt.Errorf("export data: read %s: %w", table, err)
		}
		for j, i := range keep {
			out[j] = portableValue(vals[i])
		}
		if err := enc.Encode(out); err != nil {
			return 0, fmt.Errorf("export data: %w", err)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("export data: read %s: %w", table, err)
	}
	if err := enc.Encode(endLine{Rows: &n}); err != nil {
		return 0, fmt.Errorf("export data: %w", err)
	}
	return n, nil
}

// exportOrder is the ORDER BY of a table's rows: insertion order (the
// rowid on both engines; "_appMigrations" by its sequence number).
func (d *DB) exportOrder(table string) string {
	if table == "_appMigrations" {
		return `"seq"`
	}
	if table == "_params" || table == "_otps" || table == "_mfas" || table == "_externalAuths" {
		// No physical row key on PostgreSQL: their primary key orders them.
		if table == "_params" {
			return `"key"`
		}
		return `"id"`
	}
	if d.Engine() == EnginePostgres {
		return `"rowid"`
	}
	return "rowid"
}

// bytesValue is how an export writes bytes (a BLOB or BYTEA value).
type bytesValue struct {
	B64 string `json:"b64"`
}

// portableValue turns a scanned value into its JSON form.
func portableValue(v any) any {
	switch x := v.(type) {
	case []byte:
		return bytesValue{B64: base64.StdEncoding.EncodeToString(x)}
	default:
		return x
	}
}

// ---- import ------------------------------------------------------------

// ErrNotEmpty is wrapped by ImportData's error when the target database
// already holds data.
var ErrNotEmpty = errors.New("the target database is not empty")

// ImportData loads an export (ExportData, from either engine) into d, which
// must be empty (what Open creates: the system collections without
// records, no other collection, no sign-in state, no app migration). All
// in one transaction: the collections with their ids and stored
// definitions, their tables and indexes, then every row; the row counts
// are checked against the export before the commit. On any error nothing
// changes. Settings and the token signing secret come with _params, so
// tokens issued before the move stay valid.
func (d *DB) ImportData(ctx context.Context, r io.Reader) (*DataStats, error) {
	return d.importData(ctx, r, false)
}

// ReplaceData is ImportData into a database that may hold data: in the
// same transaction, everything in it is dropped first (collections with
// their tables and views, the rows of the system tables). A backup
// restore on PostgreSQL uses it; on any error nothing changes.
func (d *DB) ReplaceData(ctx context.Context, r io.Reader) (*DataStats, error) {
	return d.importData(ctx, r, true)
}

// OpenAgain opens a second handle on d's database (same folder, engine
// and secrets; no hooks), which stays usable while d is closed: a backup
// restore on PostgreSQL replaces the data through it while the server's
// own handle is stopped.
func (d *DB) OpenAgain(ctx context.Context) (*DB, error) {
	opts := []Option{WithSecrets(d.secrets)}
	if d.pgDSN != "" {
		opts = append(opts, WithPostgres(d.pgDSN))
	}
	return Open(ctx, d.Dir, opts...)
}

// ReadExportHeader reads and checks the first line of an export.
func ReadExportHeader(r io.Reader) (*ExportHeader, error) {
	line, err := bufio.NewReaderSize(r, 64<<10).ReadBytes('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read the export header: %w", err)
	}
	var h ExportHeader
	if err := json.Unmarshal(line, &h); err != nil {
		return nil, fmt.Errorf("not a Monobase data export: %w", err)
	}
	if h.Format != DataFormat {
		return nil, fmt.Errorf("not a Monobase data export (format %q)", h.Format)
	}
	if h.Version != DataVersion {
		return nil, fmt.Errorf("export format version %d, this build reads %d", h.Version, DataVersion)
	}
	return &h, nil
}

func (d *DB) importData(ctx context.Context, r io.Reader, replace bool) (*DataStats, error) {
	dec := json.NewDecoder(bufio.NewReaderSize(r, 64<<10))
	dec.UseNumber()
	var h ExportHeader
	if err := dec.Decode(&h); err != nil {
		return nil, fmt.Errorf("import data: read the header: %w", err)
	}
	if h.Format != DataFormat {
		return nil, fmt.Errorf("import data: not a Monobase data export (format %q)", h.Format)
	}
	if h.Version != DataVersion {
		return nil, fmt.Errorf("import data: export format version %d, this build reads %d", h.Version, DataVersion)
	}
	defs := make([]*Collection, 0, len(h.Collections))
	for _, sc := range h.Collections {
		c, err := decodeCollection([]byte(sc.Data))
		if err != nil {
			return nil, fmt.Errorf("import data: decode collection %s: %w", sc.Name, err)
		}
		defs = append(defs, c)
	}
	if err := d.openCollectionSecrets(defs); err != nil {
		return nil, fmt.Errorf("import data: %w", err)
	}
	stats := &DataStats{Collections: len(defs), Rows: map[string]int{}}
	err := d.changeSchema(ctx, func(s *schemaTx) error {
		if replace {
			if err := s.clearSystemTables(); err != nil {
				return err
			}
		} else if err := s.checkEmpty(); err != nil {
			return err
		}
		if err := s.replaceCollections(defs); err != nil {
			return err
		}
		if err := s.storeCollectionRows(h.Collections); err != nil {
			return err
		}
		return s.importRows(dec, portableTables(defs), stats)
	})
	if err != nil {
		return nil, err
	}
	// The snapshot from the definitions as stored (timestamps included).
	if err := d.load(ctx); err != nil {
		return nil, fmt.Errorf("import data: %w", err)
	}
	return stats, nil
}

// checkEmpty refuses a database with anything more than Open creates.
func (s *schemaTx) checkEmpty() error {
	var what []string
	for _, c := range s.cols {
		if c.Name != SuperusersCollection && c.Name != "users" {
			what = append(what, "the collection "+c.Name)
		}
	}
	for _, t := range append(slices.Clone(portableSystemTables[1:]), s.tablesOf()...) {
		var n int
		if err := s.q.QueryRowContext(s.ctx, `SELECT count(*) FROM `+quoteIdent(t)).Scan(&n); err != nil {
			return fmt.Errorf("import data: count %s: %w", t, err)
		}
		if n > 0 {
			what = append(what, fmt.Sprintf("%d rows in %s", n, t))
		}
	}
	if len(what) > 0 {
		return fmt.Errorf("import data: %w (%s): import into a new data folder or database (schema)", ErrNotEmpty, strings.Join(what, ", "))
	}
	return nil
}

// clearSystemTables deletes the rows of the portable system tables.
func (s *schemaTx) clearSystemTables() error {
	for _, t := range portableSystemTables {
		if _, err := s.q.ExecContext(s.ctx, `DELETE FROM `+quoteIdent(t)); err != nil {
			return fmt.Errorf("replace data: clear %s: %w", t, err)
		}
	}
	return nil
}

// tablesOf returns the tables of the working list's collections.
func (s *schemaTx) tablesOf() []string {
	var out []string
	for _, c := range s.cols {
		if c.Type != TypeView {
			out = append(out, c.Name)
		}
	}
	return out
}

// replaceCollections drops what Open created and creates defs with their
// ids, tables, views and indexes, then writes their rows (finish) so that
// the caller's later finish has nothing left to do.
func (s *schemaTx) replaceCollections(defs []*Collection) error {
	// Views first (they read the tables), then tables, newest first.
	old := slices.Clone(s.cols)
	slices.Reverse(old)
	slices.SortStableFunc(old, func(a, b *Collection) int {
		return boolRank(b.Type == TypeView) - boolRank(a.Type == TypeView)
	})
	for _, c := range old {
		if err := s.dropDDL(c); err != nil {
			return fmt.Errorf("import data: drop %s: %w", c.Name, err)
		}
		s.deleted = append(s.deleted, c.ID)
	}
	s.cols = nil
	s.pending = defs
	var fe apperr.FieldErrors
	for i, c := range defs {
		s.create(c, fmt.Sprintf("collections.%d.", i), true, &fe)
	}
	if err := fe.Err(invalidCollection); err != nil {
		return err
	}
	s.altered = true
	if err := s.finish(); err != nil {
		return err
	}
	s.dirty = map[string]bool{}
	s.deleted = nil
	s.altered = false
	return nil
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// storeCollectionRows replaces the "_collections" rows with the export's,
// as stored, in the export's order.
func (s *schemaTx) storeCollectionRows(list []StoredCollection) error {
	if _, err := s.q.ExecContext(s.ctx, `DELETE FROM "_collections"`); err != nil {
		return fmt.Errorf("import data: %w", err)
	}
	for _, sc := range list {
		if _, err := s.q.ExecContext(s.ctx, `INSERT INTO "_collections" ("id", "name", "type", "system", "data", "created", "updated") VALUES (?, ?, ?, ?, ?, ?, ?)`,
			sc.ID, sc.Name, sc.Type, sc.System, sc.Data, sc.Created, sc.Updated); err != nil {
			return fmt.Errorf("import data: store collection %s: %w", sc.Name, err)
		}
	}
	return nil
}

// importRows reads the tables of the stream and inserts their rows; every
// table of want must come, each with the count it announces.
func (s *schemaTx) importRows(dec *json.Decoder, want []string, stats *DataStats) error {
	if _, err := s.q.ExecContext(s.ctx, `DELETE FROM "_params"`); err != nil {
		return fmt.Errorf("import data: clear _params: %w", err)
	}
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return fmt.Errorf("import data: the export ends early (truncated?): %w", err)
		}
		var tl tableLine
		var tr trailer
		if err := json.Unmarshal(raw, &tl); err == nil && tl.Table != "" {
			if !slices.Contains(want, tl.Table) {
				return fmt.Errorf("import data: the export has a table %q that its collections do not explain", tl.Table)
			}
			if _, done := stats.Rows[tl.Table]; done {
				return fmt.Errorf("import data: the table %q comes twice", tl.Table)
			}
			n, err := s.importTable(dec, tl)
			if err != nil {
				return err
			}
			stats.Tables = append(stats.Tables, tl.Table)
			stats.Rows[tl.Table] = n
			continue
		}
		if err := json.Unmarshal(raw, &tr); err != nil || !tr.End {
			return fmt.Errorf("import data: unexpected line %.80s", raw)
		}
		if tr.Tables != len(stats.Tables) {
			return fmt.Errorf("import data: the export announces %d tables, %d came", tr.Tables, len(stats.Tables))
		}
		break
	}
	for _, t := range want {
		if _, ok := stats.Rows[t]; !ok {
			return fmt.Errorf("import data: the export has no rows section for %q", t)
		}
	}
	return s.resetSequences()
}

// importTable inserts the rows of one table (up to its end line) and
// checks its count, in the stream and in the table.
func (s *schemaTx) importTable(dec *json.Decoder, tl tableLine) (int, error) {
	kinds, err := s.columnKinds(tl.Table)
	if err != nil {
		return 0, err
	}
	names := make([]string, len(tl.Columns))
	for i, c := range tl.Columns {
		if _, ok := kinds[c]; !ok {
			return 0, fmt.Errorf("import data: %s has no column %q here", tl.Table, c)
		}
		names[i] = quoteIdent(c)
	}
	// Rows go in batches of one multi-row INSERT (a round trip per row
	// made PostgreSQL 8x slower), within both engines' parameter limits.
	per := max(1, min(200, 30000/max(1, len(tl.Columns))))
	tuple := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(tl.Columns)), ", ") + ")"
	insert := func(rows int) string {
		return `INSERT INTO ` + quoteIdent(tl.Table) + ` (` + strings.Join(names, ", ") + `) VALUES ` +
			strings.TrimSuffix(strings.Repeat(tuple+", ", rows), ", ")
	}
	full, err := s.q.PrepareContext(s.ctx, insert(per))
	if err != nil {
		return 0, fmt.Errorf("import data: prepare %s: %w", tl.Table, err)
	}
	defer full.Close()
	args := make([]any, 0, per*len(tl.Columns))
	flush := func(n int) error {
		rows := len(args) / max(1, len(tl.Columns))
		if rows == 0 {
			return nil
		}
		var err error
		if rows == per {
			_, err = full.ExecContext(s.ctx, args...)
		} else {
			_, err = s.q.ExecContext(s.ctx, insert(rows), args...)
		}
		if err != nil {
			return fmt.Errorf("import data: %s rows %d-%d: %w", tl.Table, n-rows+1, n, err)
		}
		args = args[:0]
		return nil
	}
	n := 0
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return 0, fmt.Errorf("import data: %s ends early (truncated?): %w", tl.Table, err)
		}
		if len(raw) > 0 && raw[0] == '{' {
			var end endLine
			if err := json.Unmarshal(raw, &end); err != nil || end.Rows == nil {
				return 0, fmt.Errorf("import data: %s: unexpected line %.80s", tl.Table, raw)
			}
			if *end.Rows != n {
				return 0, fmt.Errorf("import data: %s: the export announces %d rows, %d came", tl.Table, *end.Rows, n)
			}
			break
		}
		var row []any
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if err := d.Decode(&row); err != nil || len(row) != len(tl.Columns) {
			return 0, fmt.Errorf("import data: %s row %d: want %d values: %.80s", tl.Table, n+1, len(tl.Columns), raw)
		}
		for i, v := range row {
			a, err := targetValue(v, kinds[tl.Columns[i]])
			if err != nil {
				return 0, fmt.Errorf("import data: %s row %d, %s: %w", tl.Table, n+1, tl.Columns[i], err)
			}
			args = append(args, a)
		}
		n++
		if len(args) == per*len(tl.Columns) {
			if err := flush(n); err != nil {
				return 0, err
			}
		}
	}
	if err := flush(n); err != nil {
		return 0, err
	}
	var got int
	if err := s.q.QueryRowContext(s.ctx, `SELECT count(*) FROM `+quoteIdent(tl.Table)).Scan(&got); err != nil {
		return 0, fmt.Errorf("import data: count %s: %w", tl.Table, err)
	}
	if got != n {
		return 0, fmt.Errorf("import data: %s holds %d rows after the import, want %d", tl.Table, got, n)
	}
	return n, nil
}

// Column kinds: what a value is converted to before it is bound.
const (
	kindAny = iota
	kindText
	kindInt
	kindFloat
	kindBool
	kindBytes
)

// columnKinds returns the kind of each column of table on d's engine.
func (s *schemaTx) columnKinds(table string) (map[string]int, error) {
	var rows *sql.Rows
	var err error
	if s.d.Engine() == EnginePostgres {
		rows, err = s.q.QueryContext(s.ctx, `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ?`, table)
	} else {
		rows, err = s.q.QueryContext(s.ctx, `SELECT name, type FROM pragma_table_info(?)`, table)
	}
	if err != nil {
		return nil, fmt.Errorf("import data: columns of %s: %w", table, err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			return nil, fmt.Errorf("import data: columns of %s: %w", table, err)
		}
		out[name] = kindOf(strings.ToUpper(typ))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("import data: columns of %s: %w", table, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("import data: no table %s here", table)
	}
	return out, nil
}

// kindOf maps a declared column type (SQLite affinity rules, PostgreSQL
// type names) to a kind.
func kindOf(typ string) int {
	switch {
	case typ == "BOOLEAN":
		return kindBool
	case typ == "BYTEA" || typ == "BLOB":
		return kindBytes
	case strings.Contains(typ, "INT"):
		return kindInt
	case strings.Contains(typ, "CHAR"), strings.Contains(typ, "TEXT"), strings.Contains(typ, "CLOB"):
		return kindText
	case strings.Contains(typ, "REAL"), strings.Contains(typ, "FLOA"), strings.Contains(typ, "DOUB"), strings.Contains(typ, "NUMERIC"):
		return kindFloat
	}
	return kindAny
}

// targetValue converts a value of the stream to the column's kind.
func targetValue(v any, kind int) (any, error) {
	if m, ok := v.(map[string]any); ok {
		s, ok := m["b64"].(string)
		if !ok || len(m) != 1 {
			return nil, fmt.Errorf("unknown value %v", m)
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("bytes: %w", err)
		}
		if kind == kindText {
			return string(b), nil
		}
		return b, nil
	}
	switch x := v.(type) {
	case nil:
		return nil, nil
	case json.Number:
		switch kind {
		case kindFloat:
			return x.Float64()
		case kindBool:
			f, err := x.Float64()
			return f != 0, err
		case kindText:
			return x.String(), nil
		}
		if i, err := x.Int64(); err == nil {
			return i, nil
		}
		f, err := x.Float64()
		if err != nil {
			return nil, err
		}
		if kind == kindInt && f == float64(int64(f)) {
			return int64(f), nil
		}
		return f, nil
	case bool:
		switch kind {
		case kindBool, kindAny:
			return x, nil
		case kindText:
			return strconv.FormatBool(x), nil
		case kindFloat:
			if x {
				return 1.0, nil
			}
			return 0.0, nil
		}
		if x {
			return int64(1), nil
		}
		return int64(0), nil
	case string:
		if kind == kindBytes {
			return []byte(x), nil
		}
		return x, nil
	}
	return nil, fmt.Errorf("unexpected value %T", v)
}

// resetSequences moves PostgreSQL's identity sequences past the imported
// values (explicit values do not advance them); SQLite needs nothing.
func (s *schemaTx) resetSequences() error {
	if s.d.Engine() != EnginePostgres {
		return nil
	}
	rows, err := s.q.QueryContext(s.ctx, `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() AND is_identity = 'YES'`)
	if err != nil {
		return fmt.Errorf("import data: identity columns: %w", err)
	}
	var pairs [][2]string
	for rows.Next() {
		var t, c string
		if err := rows.Scan(&t, &c); err != nil {
			rows.Close()
			return fmt.Errorf("import data: identity columns: %w", err)
		}
		pairs = append(pairs, [2]string{t, c})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("import data: identity columns: %w", err)
	}
	for _, p := range pairs {
		t, c := quoteIdent(p[0]), quoteIdent(p[1])
		q := `SELECT setval(pg_get_serial_sequence(?, ?), COALESCE((SELECT max(` + c + `) FROM ` + t + `), 0) + 1, false)`
		if _, err := s.q.ExecContext(s.ctx, q, t, p[1]); err != nil {
			return fmt.Errorf("import data: sequence of %s.%s: %w", p[0], p[1], err)
		}
	}
	return nil
}
