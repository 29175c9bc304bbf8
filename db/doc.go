// Package db is Monobase's store and the only place with SQL. It opens the
// SQLite database (modernc, through bun: WAL, one writer connection for all
// writes, a pool of readers, prepared statements cached) and runs the
// system migrations; it owns the collection definitions (the system
// tables, an in-memory snapshot swapped after each change, the DDL of each
// collection's table and indexes, and the one field-type registry that
// DDL, validation and the GraphQL compiler read); it reads records (Find,
// FindJoined, FindByIDs, Count, Aggregate, MatchValues) and validates and
// writes them in write transactions (Tx: Insert, Update, Delete); it
// compiles the filter AST of package db/filter (filters, sorts, access
// rules) to SQL conditions with bound parameters; and it stores superusers
// and parameters (_params). Changes leave through two hooks that the
// wiring code sets: OnSchemaChange inside a collection change,
// OnRecordChange after each commit.
//
// It knows no GraphQL and imports no Monobase package but apperr and
// db/filter.
package db
