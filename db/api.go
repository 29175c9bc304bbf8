package db

// This file holds the types other packages build against; the methods live
// in the files named after what they do (records.go, write.go, tx.go,
// collections.go, filtersql.go, ...).

import (
	"context"

	"github.com/uptrace/bun"
)

// DB is Monobase's database: one writer connection for all writes, a pool of
// readers, and an in-memory snapshot of the collection definitions.
type DB struct {
	Dir string // the data folder (data.db lives in it)

	// The change hooks are set by the wiring code (cmd/monobase), not by
	// the packages they call.

	// OnSchemaChange, when set, is called inside every collection-change
	// transaction with the complete new set of collections (system ones
	// included). An error rolls the change back and is returned to the
	// caller as is. The returned apply func is called after the commit
	// (the application schema is swapped there).
	OnSchemaChange func(ctx context.Context, all []*Collection) (apply func(), err error)

	// Automigrate, when set, is called inside every collection change of
	// CreateCollection, UpdateCollection, DeleteCollection and
	// ImportCollections (not of ApplyMigration and RevertMigration), after
	// OnSchemaChange, with the collections before and after the change
	// (system ones included). A name it returns is recorded as an applied
	// migration in the same transaction; an error rolls the change back
	// and is returned as is; discard, when not nil, is called when the
	// change does not commit.
	Automigrate func(ctx context.Context, before, after []*Collection) (name string, discard func(), err error)

	// OnRecordChange, when set, receives every committed record change, in
	// commit order, after the commit (never for a rolled-back transaction).
	OnRecordChange func(ev RecordEvent)

	// BeforeCommit, when set, receives the record changes of a write
	// transaction inside it, just before the commit (several nodes:
	// PostgreSQL NOTIFY then leaves in commit order). An error rolls the
	// transaction back and is returned by Commit.
	BeforeCommit func(ctx context.Context, tx *Tx, events []RecordEvent) error

	// FieldLimits bound the values of fields that set no max of their own
	// (zero values: the defaults). Set it before serving requests.
	FieldLimits FieldLimits

	secrets Secrets // WithSecrets; nil: secrets stored as they are

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

// Tx is a write transaction on the writer connection. All root fields of
// one GraphQL mutation share one Tx. Record events are queued and delivered
// to OnRecordChange after Commit.
type Tx struct {
	bun.Tx
	db     *DB
	events []RecordEvent
	ctx    context.Context
	// schema, when set, is the collections the transaction writes under
	// (a migration's, changed in the same transaction); nil: the current
	// snapshot.
	schema *snapshot
	// group is the commit group the transaction writes in (SQLite), with
	// savepoint set when it runs in a savepoint of it, and ended once it
	// committed or rolled back.
	group     *commitGroup
	savepoint bool
	ended     bool
}

// Context returns ctx carrying tx, so that Find and friends read through it.
func (tx *Tx) Context() context.Context { return tx.ctx }

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
