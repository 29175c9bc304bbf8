package hook

import (
	"context"
	"fmt"
	"net/http"

	"github.com/monobase/monobase/db"
)

// Record is the record a record event is about, as the hooks see it: read
// with Get and its typed forms, changed with Set (a before-hook's changes
// are what is written).
type Record struct {
	Collection *db.Collection
	Data       db.Record // field name -> value, as db reads and writes them
}

// Id returns the record's id ("" before a create gives it one).
func (r *Record) Id() string { s, _ := r.Data["id"].(string); return s }

// Get returns the value of a field (nil when unset).
func (r *Record) Get(name string) any { return r.Data[name] }

// GetString returns a field as a string ("" when unset; other values are
// formatted).
func (r *Record) GetString(name string) string {
	switch v := r.Data[name].(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		return fmt.Sprint(v)
	}
}

// GetFloat returns a numeric field (0 when unset or not a number).
func (r *Record) GetFloat(name string) float64 {
	switch v := r.Data[name].(type) {
	case float64:
		return v
	case int64:
		return float64(v)
	case int:
		return float64(v)
	}
	return 0
}

// GetInt returns a numeric field truncated to an int.
func (r *Record) GetInt(name string) int { return int(r.GetFloat(name)) }

// GetBool returns a BOOL field (false when unset).
func (r *Record) GetBool(name string) bool { b, _ := r.Data[name].(bool); return b }

// Set sets a field's value (the write validates it as any input).
func (r *Record) Set(name string, v any) {
	if r.Data == nil {
		r.Data = db.Record{}
	}
	r.Data[name] = v
}

// RecordEvent is the event of a record create, update or delete. Before
// hooks (OnRecordCreate, ...) run in the write transaction before the
// write: changes to Record are written, an error rejects the write and
// rolls the mutation back. After hooks (OnRecordAfterCreate, ...) run in
// the transaction after the write; after-commit hooks run once the
// transaction committed, never for a write that rolled back.
type RecordEvent struct {
	Event
	Context    context.Context // the request's, with its viewer
	Collection *db.Collection
	Record     *Record
	// Original is the record before an update (nil otherwise).
	Original *Record
}

// Tags names the collection (id and name) for tagged hooks.
func (e *RecordEvent) Tags() []string { return []string{e.Collection.ID, e.Collection.Name} }

// AuthEvent is the event of a sign-in to an auth collection. Before the
// sign-in (OnRecordAuth) Record is the record found and checked, Token
// empty: an error refuses the sign-in. After it (OnRecordAfterAuth)
// Token is the issued token.
type AuthEvent struct {
	Event
	Context    context.Context
	Collection *db.Collection
	Record     *Record
	Method     string // "password", "otp", "oauth2", "refresh", ...
	Token      string
}

// Tags names the collection (id and name) for tagged hooks.
func (e *AuthEvent) Tags() []string { return []string{e.Collection.ID, e.Collection.Name} }

// RequestEvent is the event of an HTTP request to the server, before it is
// routed: a handler may answer it itself (write to Response and not call
// Next) or go on.
type RequestEvent struct {
	Event
	Request  *http.Request
	Response http.ResponseWriter
}

// ServeEvent is the event of the server starting to serve: Router is the
// server's mux (Go 1.22 patterns), where an app adds its routes, behind
// the same middleware as the built-in ones.
type ServeEvent struct {
	Event
	Router *http.ServeMux
	Server *http.Server
}

// TerminateEvent is the event of the server shutting down (after it
// stopped serving, before its database closes).
type TerminateEvent struct {
	Event
	Context context.Context
}

// Registry holds the hooks of an app; the server triggers them. The zero
// value is ready.
type Registry struct {
	RecordCreate, RecordAfterCreate, RecordAfterCreateCommit Hook[*RecordEvent]
	RecordUpdate, RecordAfterUpdate, RecordAfterUpdateCommit Hook[*RecordEvent]
	RecordDelete, RecordAfterDelete, RecordAfterDeleteCommit Hook[*RecordEvent]
	RecordAuth, RecordAfterAuth                              Hook[*AuthEvent]
	Request                                                  Hook[*RequestEvent]
	Serve                                                    Hook[*ServeEvent]
	Terminate                                                Hook[*TerminateEvent]
}
