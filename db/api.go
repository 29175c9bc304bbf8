package db

// This file is the contract other packages build against. The bodies are
// filled in by the files named in each comment.

import (
	"context"
	"errors"

	"github.com/monobase/monobase/db/filter"
	"github.com/uptrace/bun"
)

var errTODO = errors.New("not implemented yet")

// DB is Monobase's database: one writer connection for all writes, a pool of
// readers, and an in-memory snapshot of the collection definitions.
type DB struct {
	Dir string // the data folder (data.db lives in it)

	// OnSchemaChange, when set, is called inside every collection-change
	// transaction with the complete new set of collections (system ones
	// included). An error rolls the change back and is returned to the
	// caller as is. The returned apply func is called after the commit
	// (the application schema is swapped there).
	OnSchemaChange func(ctx context.Context, all []*Collection) (apply func(), err error)

	// OnRecordChange, when set, receives every committed record change, in
	// commit order, after the commit (never for a rolled-back transaction).
	OnRecordChange func(ev RecordEvent)

	// FieldLimits bound the values of fields that set no max of their own
	// (zero values: the defaults). Set it before serving requests.
	FieldLimits FieldLimits

	writer  *bun.DB // the single writer connection
	readers *bun.DB // the reader pool

	impl // unexported state, see open.go
}

// Action is what happened to a record.
type Action string

// The change actions.
const (
	ActionCreate Action = "CREATE"
	ActionUpdate Action = "UPDATE"
	ActionDelete Action = "DELETE"
)

// RecordEvent is one committed change. For deletes, Record is the record as
// it was.
type RecordEvent struct {
	Action     Action
	Collection *Collection
	Record     Record
	Old        Record // the previous state for updates and deletes
}

// Record is one row, keyed by field name, values in their canonical Go form
// (see fieldtypes.go): nil for NULL; string for text, editor, email, url,
// date and autodate (RFC 3339 UTC, "2006-01-02T15:04:05.000Z"), single
// select, single relation (an id), single file (a file name); float64 for
// numbers (also when OnlyInt); bool; []string for multi select, relation,
// file (never nil: empty list when unset); any (decoded JSON) for JSON;
// GeoPoint for geo points. PASSWORD values are the bcrypt hash; tokenKey is
// present. Callers that expose records must drop hidden fields, password and
// tokenKey.
type Record map[string]any

// ID returns the record's id.
func (r Record) ID() string { s, _ := r["id"].(string); return s }

// GeoPoint is the value of a GEOPOINT field.
type GeoPoint struct {
	Lon float64 `json:"lon"`
	Lat float64 `json:"lat"`
}

// Cond is a SQL boolean fragment with bound parameters (? placeholders).
type Cond struct {
	SQL  string
	Args []any
}

// Query selects records of one collection. The collection's table is
// aliased as Alias (default "r") so that conditions can reference it.
type Query struct {
	Collection *Collection
	Alias      string
	Where      []Cond // ANDed
	OrderBy    []Cond // SQL order terms such as `r."title" DESC`, in order; "r"."id" is appended as a tie-breaker
	Limit      int    // 0: no limit
	Offset     int
	// Columns, when set, reads only these fields (and always id): the
	// records then hold only those keys. Unknown names are apperr.Invalid.
	Columns []string
	// Joins reads, with each record, the records its single relation
	// fields point at, in the same statement (see FindJoined).
	Joins []Join
}

// Join is a LEFT JOIN of a Query's records to the record that one of their
// single relation fields points at.
type Join struct {
	Field      string      // a single RELATION field of the query's collection
	Collection *Collection // the collection that Field relates to
	Alias      string      // the related table's alias, unique in the query
	On         []Cond      // conditions (on Alias) the related record must meet, ANDed; else it reads as nil
	Columns    []string    // as Query.Columns, for the related record
}

// Find returns the records matching q. Inside a transaction started with
// Begin (ctx from Tx.Context) it reads through that transaction, so a
// mutation sees its own writes.
func (d *DB) Find(ctx context.Context, q *Query) ([]Record, error) { return d.find(ctx, q) }

// FindJoined is Find that also reads q.Joins: joined[i*len(q.Joins)+j] is
// the record that join j found for records[i], nil when the relation is
// unset, points nowhere or the related record does not meet the join's On.
func (d *DB) FindJoined(ctx context.Context, q *Query) (records, joined []Record, err error) {
	return d.findJoined(ctx, q)
}

// FindByIDs returns the records of c with those ids (any order), with extra
// conditions ANDed. One SQL statement whatever the number of ids.
func (d *DB) FindByIDs(ctx context.Context, c *Collection, ids []string, where ...Cond) ([]Record, error) {
	return d.findByIDs(ctx, c, ids, where...)
}

// MatchValues reports whether the values rec of a record of c meet conds
// (SQL conditions on the alias "r", such as a compiled rule or filter),
// evaluated on rec bound as a one-row table instead of the stored row:
// realtime events check the state a change committed, also after a delete.
// One statement, cached and observed like the other reads.
func (d *DB) MatchValues(ctx context.Context, c *Collection, rec Record, conds []Cond) (bool, error) {
	return d.matchValues(ctx, c, rec, conds)
}

// Count returns how many records match q (Limit and Offset ignored).
func (d *DB) Count(ctx context.Context, q *Query) (int64, error) { return d.count(ctx, q) }

// Aggregate returns, for each NUMBER field named in fields, sum, avg, min
// and max over the records matching q (keys "sum","avg","min","max"), and the
// count under the key "" -> {"count": n}.
func (d *DB) Aggregate(ctx context.Context, q *Query, fields []string) (map[string]map[string]any, error) {
	return d.aggregate(ctx, q, fields)
}

// Tx is a write transaction on the writer connection. All root fields of
// one GraphQL mutation share one Tx. Record events are queued and delivered
// to OnRecordChange after Commit.
type Tx struct {
	bun.Tx
	db     *DB
	events []RecordEvent
	ctx    context.Context
}

// Begin starts a write transaction. Writes are serialized: one at a time.
func (d *DB) Begin(ctx context.Context) (*Tx, error) { return d.begin(ctx) }

// Context returns ctx carrying tx, so that Find and friends read through it.
func (tx *Tx) Context() context.Context { return tx.ctx }

// Commit commits and then delivers the queued record events.
func (tx *Tx) Commit() error { return tx.commit() }

// Rollback rolls back; queued events are dropped. Safe after Commit.
func (tx *Tx) Rollback() error { return tx.rollback() }

// RecordInput is the client's input for a create or update, keyed by field
// name. A key present with nil clears the field (update) or leaves it unset
// (create). Values arrive as decoded from GraphQL: string, float64/int64/
// json.Number, bool, []any/[]string, map[string]any (JSON, GEOPOINT).
// FILE fields carry file names already stored by the caller. For AUTH
// collections, "password" and "passwordConfirm" are plain text.
type RecordInput map[string]any

// RecordPatch is an update: Set as RecordInput plus the modifiers.
type RecordPatch struct {
	Set       RecordInput
	Increment map[string]float64  // NUMBER field -> delta
	Append    map[string][]string // multi relation/file/select -> values to add
	Remove    map[string][]string // multi relation/file/select -> values to remove
}

// Insert validates input against c's fields (required, min/max, pattern,
// select values, relation ids exist, email/url format, ...), fills id (or
// checks the client's), created/updated and autodates, hashes passwords, and
// inserts. Bad input returns apperr.Invalid with per-field messages; a
// duplicate id or unique-index clash returns apperr.Invalid on that field.
func (tx *Tx) Insert(c *Collection, input RecordInput) (Record, error) { return tx.insert(c, input) }

// Update applies patch to the record id of c with the same validation as
// Insert; a missing record is apperr.NotFound.
func (tx *Tx) Update(c *Collection, id string, patch RecordPatch) (Record, error) {
	return tx.update(c, id, patch)
}

// Delete deletes the record and returns it as it was. Relations to it are
// handled per their field: cascadeDelete deletes the referencing records,
// otherwise a required single relation refuses the delete (apperr.Invalid)
// and other references are cleared. Missing record: apperr.NotFound.
func (tx *Tx) Delete(c *Collection, id string) (Record, error) { return tx.delete(c, id) }

// Open opens (creating if needed) dir/data.db with WAL, busy_timeout,
// foreign_keys=ON and synchronous=NORMAL, runs the system migrations, and on
// first start creates the system auth collection "_superusers" and the
// default "users" auth collection. It fails with a wrapped error when the
// folder or database cannot be opened.
func Open(ctx context.Context, dir string) (*DB, error) { return open(ctx, dir) }

// Close closes both pools; the database file is left consistent.
func (d *DB) Close() error { return d.close() }

// Collections returns the current collections (system ones included), in
// creation order. The slice and its elements must not be modified.
func (d *DB) Collections() []*Collection { return d.collections() }

// Collection returns the collection with that id or name, or apperr.NotFound.
func (d *DB) Collection(idOrName string) (*Collection, error) { return d.collection(idOrName) }

// CreateCollection validates c (names, field options, rules' syntax is
// checked by the caller, relation targets, index SQL), fills ids and the
// system fields, creates its table and indexes and stores the definition,
// all in one transaction. Bad definitions are apperr.Invalid with
// per-field messages (keys like "name", "fields.2.name"); nothing changes.
func (d *DB) CreateCollection(ctx context.Context, c *Collection) (*Collection, error) {
	return d.createCollection(ctx, c)
}

// UpdateCollection replaces the definition of idOrName with c: a field with
// an id keeps its data (a changed name renames the column), a field without
// id is added, a missing field is dropped; a changed collection name renames
// the table. One transaction; on any error nothing changes.
func (d *DB) UpdateCollection(ctx context.Context, idOrName string, c *Collection) (*Collection, error) {
	return d.updateCollection(ctx, idOrName, c)
}

// DeleteCollection drops the collection and its table. System collections
// and collections that others relate to are refused (apperr.Invalid).
func (d *DB) DeleteCollection(ctx context.Context, idOrName string) error {
	return d.deleteCollection(ctx, idOrName)
}

// ImportCollections creates or updates (matched by id, then name) each of cs
// and, with deleteMissing, deletes the non-system collections not in cs,
// all in one transaction.
func (d *DB) ImportCollections(ctx context.Context, cs []*Collection, deleteMissing bool) ([]*Collection, error) {
	return d.importCollections(ctx, cs, deleteMissing)
}

// FindAuthRecord returns the record of the auth collection c whose email is
// email (case-insensitive), or apperr.NotFound.
func (d *DB) FindAuthRecord(ctx context.Context, c *Collection, email string) (Record, error) {
	return d.findAuthRecord(ctx, c, email)
}

// UpsertSuperuser creates the superuser or sets its password.
func (d *DB) UpsertSuperuser(ctx context.Context, email, password string) error {
	return d.upsertSuperuser(ctx, email, password, true)
}

// CreateSuperuser creates a superuser; an existing email is apperr.Invalid.
func (d *DB) CreateSuperuser(ctx context.Context, email, password string) error {
	return d.upsertSuperuser(ctx, email, password, false)
}

// DeleteSuperuser deletes the superuser, or returns apperr.NotFound.
func (d *DB) DeleteSuperuser(ctx context.Context, email string) error {
	return d.deleteSuperuser(ctx, email)
}

// SuperusersCollection is the name of the system auth collection of superusers.
const SuperusersCollection = "_superusers"

// RequestInfo is what filters and rules may reference as @request.*.
type RequestInfo struct {
	AuthCollection *Collection // nil when anonymous
	Auth           Record      // the signed-in record, nil when anonymous
	Superuser      bool
	Body           map[string]any    // @request.body.* (the mutation input)
	Query          map[string]string // @request.query.*
	Headers        map[string]string // @request.headers.* (lower-case, "-" as "_")
	Method         string            // "GET", "POST", ...
	Context        string            // "default", "realtime", "protectedFile", "oauth2", ...
}

// CompileFilter compiles e against the collection c, whose table is aliased
// as alias in the enclosing query, into a SQL condition with bound
// parameters. Unknown fields, type mismatches and unsupported operators are
// apperr.Invalid naming the position. Relation paths become EXISTS
// subqueries, so the result never multiplies rows.
func (d *DB) CompileFilter(c *Collection, alias string, e filter.Expr, req *RequestInfo) (Cond, error) {
	return d.compileFilter(c, alias, e, req)
}

// CompileRule compiles an access rule (a collection's list/view/create/
// update/delete/auth/manage rule, written by a superuser) like CompileFilter
// but trusted: hidden fields, @request.*, @collection.* and relations to any
// collection may be used whoever the viewer is. Client-supplied filters and
// sorts go through CompileFilter and CompileSort, which refuse those to
// non-superusers and apply related collections' list rules.
func (d *DB) CompileRule(c *Collection, alias string, e filter.Expr, req *RequestInfo) (Cond, error) {
	return d.compileRule(c, alias, e, req)
}

// ValidateRule parses rule and compiles it as a trusted rule of c, resolving
// relation targets, back-relations and @collection names among all (the
// collections as they are or will be after a change), so that a rule that
// names a missing field or collection is refused when it is saved. An
// empty rule is valid. A bad rule is apperr.Invalid naming the position.
func ValidateRule(all []*Collection, c *Collection, rule string) error {
	return validateRule(all, c, rule)
}

// CompileSort compiles sort items into ORDER BY terms for c aliased as alias.
func (d *DB) CompileSort(c *Collection, alias string, items []filter.SortItem, req *RequestInfo) ([]Cond, error) {
	return d.compileSort(c, alias, items, req)
}

// Param returns the value stored under key in _params, or nil, false.
func (d *DB) Param(ctx context.Context, key string) ([]byte, bool, error) { return d.param(ctx, key) }

// SetParam stores value under key in _params.
func (d *DB) SetParam(ctx context.Context, key string, value []byte) error {
	return d.setParam(ctx, key, value)
}
