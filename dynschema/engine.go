// Package dynschema compiles the runtime-defined collections into the
// application GraphQL schema (SDL loaded with gqlparser), executes it with a
// hand-written graphql.ExecutableSchema on gqlgen's executor, transports and
// extensions, and swaps the schema atomically when the collections change.
// It also checks and stores a mutation's file uploads (through a FileStore)
// and fans the subscription hub's events out to the subscriptions of the
// current schema.
package dynschema

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/executor"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/monobase/monobase/access"
	"github.com/monobase/monobase/auth/oauth"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/files"
	"github.com/monobase/monobase/hook"
	"github.com/monobase/monobase/internal/boundedcache"
	"github.com/monobase/monobase/logs"
	"github.com/monobase/monobase/querycost"
	"github.com/monobase/monobase/subscriptions"
	"github.com/monobase/monobase/transport"
)

// Authenticator is what the engine needs from the auth service.
type Authenticator interface {
	// IssueToken returns a new auth token for rec of the auth collection c.
	IssueToken(c *db.Collection, rec db.Record) (string, error)
	// CheckPassword reports whether password matches rec's password hash.
	CheckPassword(rec db.Record, password string) bool
	// SignInAllowed returns nil when a password sign-in to c as identity may
	// check a password now, else a RATE_LIMITED error (checked before any
	// hash is compared).
	SignInAllowed(ctx context.Context, c *db.Collection, identity string) error
	// SignInFailed counts a failed password sign-in to c as identity.
	SignInFailed(ctx context.Context, c *db.Collection, identity string)
	// IssueFileToken returns a short-lived token for ?token= on protected
	// file URLs.
	IssueFileToken(c *db.Collection, rec db.Record) (string, error)
	// Authenticate validates token and returns ctx carrying the viewer
	// (auth.WithViewer), or an UNAUTHENTICATED error.
	Authenticate(ctx context.Context, token string) (context.Context, error)
}

// FileStore is what the engine needs from the file storage.
type FileStore interface {
	// Save stores the upload for the record and returns the stored file name.
	Save(ctx context.Context, collectionID, recordID string, up files.Upload) (name string, err error)
	// Delete removes a stored file; a missing file is not an error.
	Delete(ctx context.Context, collectionID, recordID, name string) error
	// URL returns the public URL of a stored file.
	URL(c *db.Collection, recordID, name string, thumb string, download bool) string
}

// Limits bound what one request may cost; zero values take the defaults.
type Limits struct {
	// Query bounds the document: bytes, tokens, fields, aliases, repeats,
	// depth, complexity, validation errors (querycost.Limits' defaults).
	Query    querycost.Limits
	MaxLimit int           // largest limit/first/last (default 1000)
	Timeout  time.Duration // one query or mutation, WebSocket ones too (default 30 s)

	// MaxSubscriptionsPerSocket bounds the subscriptions running on one
	// WebSocket (default 100); one more is refused with RATE_LIMITED, the
	// socket and its other subscriptions go on.
	MaxSubscriptionsPerSocket int

	// Transport bounds bodies and sockets: the JSON, multipart and upload
	// sizes, sockets per client IP, the connection_init timeout
	// (transport.Limits' defaults).
	Transport transport.Limits
}

func (l Limits) withDefaults() Limits {
	l.Query = l.Query.WithDefaults()
	if l.Timeout <= 0 {
		l.Timeout = 30 * time.Second
	}
	if l.MaxLimit <= 0 {
		l.MaxLimit = 1000
	}
	if l.MaxSubscriptionsPerSocket <= 0 {
		l.MaxSubscriptionsPerSocket = 100
	}
	return l
}

// Config wires the engine.
type Config struct {
	DB     *db.DB
	Auth   Authenticator
	Files  FileStore
	Hub    *subscriptions.Hub // may be nil: subscriptions then never receive events
	Limits Limits
	Dev    bool // development mode: any WebSocket origin is accepted, unless AllowOrigin is set
	// AllowOrigin and ClientIP are the WebSocket origin check and the
	// client address of the per-IP socket cap (transport.Config's; nil:
	// its defaults).
	AllowOrigin func(origin string) bool
	ClientIP    func(*http.Request) string
	// Mail sends the emails of the auth flows (exec_flows.go); nil: the
	// request mutations still answer true and log that nothing was sent.
	Mail Mailer
	// OAuth2 resolves the OAuth2 providers of auth collections
	// (exec_oauth2.go); nil: OAuth2 sign-in is off everywhere.
	OAuth2 *oauth.Providers
	// RateLimits applies the operation rules of settings.rateLimits before
	// each root field runs (ratelimit.go); nil: no operation is limited.
	RateLimits RateLimiter
	// Extensions are gqlgen handler extensions added to every schema
	// version from the first one on, after the engine's own (Use adds one
	// later, at the cost of a rebuild).
	Extensions []func() graphql.HandlerExtension
	// Schema are the app's custom root fields resolved in Go (extend.go),
	// part of every schema version: a collection change that clashes with
	// them is refused.
	Schema []Extension
	// Hooks are the app's hooks (monobase as a Go framework): the record
	// hooks run around the mutations' writes, the auth hooks around
	// sign-ins (hooks.go). nil: none.
	Hooks *hook.Registry
}

// queryCacheEntries bounds the parsed documents of a schema version (keyed
// by query text) and the persisted queries (hash to text). Their bytes are
// bounded too: about 16 MiB of parsed trees (boundedcache.ParsedSize: 512
// KiB of query text, room for 1,000 queries of 500 bytes), and 8 MiB of
// persisted text. Without the byte bound, the 400 seeding mutations of
// bench/load (50 aliased creates each, values as literals) held 37 MB of
// syntax trees after the seeding (heap profile).
const (
	queryCacheEntries = 1000
	parsedCacheBytes  = 16 << 20
	queryCacheBytes   = 8 << 20
)

// Engine serves the application schema at /graphql.
type Engine struct {
	cfg     Config
	limits  Limits
	cur     atomic.Pointer[version]
	apq     graphql.Cache[string]
	handler http.Handler

	mu      sync.Mutex // serializes builds and extension changes
	exts    []func() graphql.HandlerExtension
	fieldMW bool // a field interceptor is installed: run every field through it
	seq     uint64
	frags   fragmentCache // parsed SDL of the last build
	custom  *extSet       // cfg.Schema, checked (nil: none)

	batches subBatches // running subscriptions (sub_batch.go)

	sockets wsRegistry // the viewers of open WebSockets (ws_session.go)

	guard *querycost.Guard // one for every version: it does not read the schema

	// The limits that settings.limits changes while the server runs
	// (limits.go): qlimits for the guard and the complexity limit of every
	// version, tr's body size, and live (maxLimit, introspection).
	qlimits *querycost.Current
	// limitsGen counts the changes of qlimits: a prepared query measured
	// under another generation goes through the Guard again.
	limitsGen atomic.Uint64
	tr        *transport.Handler
	live      atomic.Pointer[querycost.LimitSettings]
}

// New builds the schema from cfg.DB.Collections(). It changes nothing it
// is given: the wiring code hooks the engine into the database, setting
// cfg.DB.OnSchemaChange to PrepareSchema (collection changes then rebuild
// the schema) and cfg.DB.OnRecordChange to a func that calls RecordChanged
// and then cfg.Hub.Publish (sessions, then subscriptions, receive record
// changes). It fails when the current collections do not compile.
func New(ctx context.Context, cfg Config) (*Engine, error) {
	if cfg.DB == nil {
		return nil, fmt.Errorf("dynschema: Config.DB is required")
	}
	e := newEngine(cfg)
	custom, err := checkExtensions(cfg.Schema)
	if err != nil {
		return nil, err
	}
	e.custom = custom
	v, err := e.build(cfg.DB.Collections())
	if err != nil {
		return nil, fmt.Errorf("dynschema: build the application schema: %w", err)
	}
	e.cur.Store(v)
	e.handler = e.newHandler()
	e.live.Store(new(limitSettingsOf(e.limits, e.tr.Limits())))
	return e, nil
}

func newEngine(cfg Config) *Engine {
	l := cfg.Limits.withDefaults()
	q := querycost.NewCurrent(l.Query)
	e := &Engine{cfg: cfg, limits: l, apq: boundedcache.New(queryCacheEntries, queryCacheBytes, boundedcache.StringSize), guard: querycost.NewGuardOn(q), qlimits: q}
	e.live.Store(new(limitSettingsOf(l, l.Transport)))
	for _, ext := range cfg.Extensions {
		e.exts = append(e.exts, ext)
		if _, ok := ext().(graphql.FieldInterceptor); ok {
			e.fieldMW = true
		}
	}
	return e
}

// Handler returns the /graphql handler: POST, GET, multipart uploads and
// WebSocket (graphql-transport-ws and graphql-ws).
func (e *Engine) Handler() http.Handler { return e.handler }

// SDL returns the current application schema as SDL.
func (e *Engine) SDL() string { return e.cur.Load().m.sdl }

// Use adds a gqlgen handler extension (for example a field interceptor) to
// the current and every future schema version. Call it before serving.
func (e *Engine) Use(ext func() graphql.HandlerExtension) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.exts = append(e.exts, ext)
	if _, ok := ext().(graphql.FieldInterceptor); ok {
		e.fieldMW = true
	}
	v, err := e.buildLocked(e.cur.Load().colls)
	if err != nil {
		return err
	}
	e.cur.Store(v)
	return nil
}

// AroundFields installs a field middleware that runs around every field of
// every operation. Call it before serving.
func (e *Engine) AroundFields(f graphql.FieldMiddleware) error {
	return e.Use(func() graphql.HandlerExtension { return fieldFunc(f) })
}

type fieldFunc graphql.FieldMiddleware

func (f fieldFunc) ExtensionName() string                   { return "FieldFunc" }
func (f fieldFunc) Validate(graphql.ExecutableSchema) error { return nil }
func (f fieldFunc) InterceptField(ctx context.Context, next graphql.Resolver) (any, error) {
	return f(ctx, next)
}

// PrepareSchema is the engine's db.DB.OnSchemaChange: it validates the
// rules of all and builds the next schema version inside the collection
// transaction, and returns the swap to run after the commit. A bad rule or
// a schema that does not compile returns the error, which refuses the
// change.
func (e *Engine) PrepareSchema(ctx context.Context, all []*db.Collection) (func(), error) {
	if err := access.ValidateRules(all); err != nil {
		return nil, err
	}
	v, err := e.build(all)
	if err != nil {
		return nil, err
	}
	return func() { e.swap(v) }, nil
}

// Validate reports whether the collections all (as they will be after a
// change) make a valid application: every rule compiles
// (access.ValidateRules) and they compile into a valid GraphQL schema.
// It builds no engine and touches no database; a refusal is
// BAD_USER_INPUT naming the rule or the clash (with exts too, when given).
func Validate(all []*db.Collection, exts ...Extension) error {
	if err := access.ValidateRules(all); err != nil {
		return err
	}
	set, err := checkExtensions(exts)
	if err != nil {
		return err
	}
	_, _, _, err = loadSchemaCached(all, fragmentCache{}, set)
	return err
}

// swap makes v current and ends the subscriptions of deleted collections
// and the WebSocket sessions of records of deleted auth collections.
func (e *Engine) swap(v *version) {
	old := e.cur.Swap(v)
	e.sockets.collectionsChanged(v.colls)
	if old == nil || e.cfg.Hub == nil {
		return
	}
	for id := range old.m.byColl {
		if _, ok := v.m.byColl[id]; !ok {
			e.cfg.Hub.EndCollection(id, subscriptions.ErrCollectionDeleted)
		}
	}
}

func (e *Engine) build(colls []*db.Collection) (*version, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.buildLocked(colls)
}

// buildLocked compiles the collections into a new version with its own
// executor and query cache.
func (e *Engine) buildLocked(colls []*db.Collection) (*version, error) {
	m, s, cache, err := loadSchemaCached(colls, e.frags, e.custom)
	if err != nil {
		return nil, err
	}
	e.frags = cache
	e.seq++
	v := &version{eng: e, m: m, schema: s, colls: colls, seq: e.seq, fieldMW: e.fieldMW}
	ex := executor.New(v)
	v.docs = boundedcache.New(queryCacheEntries, parsedCacheBytes, boundedcache.ParsedSize[*ast.QueryDocument])
	ex.SetQueryCache(v.docs)
	ex.SetErrorPresenter(present)
	ex.SetRecoverFunc(recoverFunc)
	ex.SetParserTokenLimit(e.limits.Query.MaxTokens)
	ex.SetDefaultRulesFn(querycost.CappedRules(e.limits.Query.MaxErrors))
	apq := extension.AutomaticPersistedQuery{Cache: e.apq}
	complexity := querycost.NewComplexityLimitOn(e.qlimits)
	exts := []graphql.HandlerExtension{
		extension.Introspection{},
		apq,
		e.guard, // after the persisted-query lookup, before parsing
		complexity,
	}
	for _, x := range e.exts {
		exts = append(exts, x())
	}
	exts = append(exts, querycost.SignInOnce(m.isPasswordSignIn)) // one password check per operation (signin.go)
	for _, x := range exts {
		ex.Use(x)
	}
	v.exec = ex
	v.prepared = newPreparedQueries(exts, complexity, apq, e.guard) // prepared.go
	return v, nil
}

// versionKey stores, in the operation's stats, the version that validated it.
const versionKey = "monobase.schemaVersion"

// CreateOperationContext implements graphql.GraphExecutor on the current
// version and remembers the version in the operation, and for an
// operation read from a WebSocket, the socket's session (ws_session.go).
// The transport adds a subscription's route (transport.RouteOf).
func (e *Engine) CreateOperationContext(ctx context.Context, params *graphql.RawParams) (*graphql.OperationContext, gqlerror.List) {
	link, _ := ctx.Value(wsLinkKey{}).(*wsLink)
	v := e.cur.Load()
	if link != nil {
		if err := link.endedErr(); err != nil {
			// The socket's token was revoked or expired: nothing more runs
			// on it (ws_session.go).
			return &graphql.OperationContext{RawQuery: params.Query}, gqlerror.List{present(ctx, err)}
		}
	}
	gen := e.limitsGen.Load() // before the Guard reads the limits
	oc, errs := v.exec.CreateOperationContext(ctx, params)
	if errs == nil && link == nil {
		v.prepared.remember(params, oc, gen) // the next run of the same query skips the executor (prepared.go)
	}
	if oc != nil {
		oc.Stats.SetExtension(versionKey, v)
		if link != nil {
			oc.Stats.SetExtension(wsLinkExt, link)
		}
	}
	return oc, errs
}

// RecordChanged is the part of db's OnRecordChange that belongs to the
// engine: WebSocket sessions hear of changes to auth records (revoked or
// refreshed viewers, ws_session.go). The wiring calls it for every
// committed change, before the hub publishes it.
func (e *Engine) RecordChanged(ev db.RecordEvent) { e.sockets.recordChanged(ev) }

// Subscribers returns how many subscriptions of the collection with that
// id are running (for tests and metrics).
func (e *Engine) Subscribers(collectionID string) int { return e.batches.count(collectionID) }

// DispatchOperation implements graphql.GraphExecutor: the operation runs on
// the version that created it, even after a swap.
func (e *Engine) DispatchOperation(ctx context.Context, oc *graphql.OperationContext) (graphql.ResponseHandler, context.Context) {
	v, _ := oc.Stats.GetExtension(versionKey).(*version)
	if v == nil {
		v = e.cur.Load()
	}
	if oc.Operation != nil {
		logs.SetOperation(ctx, string(oc.Operation.Operation), oc.Operation.Name) // for the request's log entry
	}
	responses, ctx := v.exec.DispatchOperation(ctx, oc)
	if oc.Operation == nil || oc.Operation.Operation == ast.Subscription {
		return responses, ctx
	}
	return withTimeout(responses, e.limits.Timeout), ctx
}

// withTimeout runs a query's or mutation's one response under a deadline:
// resolvers and SQL statements then stop at it, and the fields they had
// not finished answer TIMEOUT.
func withTimeout(responses graphql.ResponseHandler, d time.Duration) graphql.ResponseHandler {
	return func(ctx context.Context) *graphql.Response {
		tctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		resp := responses(tctx)
		if resp == nil && ctx.Err() == nil && errors.Is(tctx.Err(), context.DeadlineExceeded) {
			// gqlgen answers nothing when the deadline passed before it began.
			resp = &graphql.Response{Errors: gqlerror.List{present(ctx, tctx.Err())}}
		}
		return resp
	}
}

// DispatchError implements graphql.GraphExecutor.
func (e *Engine) DispatchError(ctx context.Context, list gqlerror.List) *graphql.Response {
	return e.cur.Load().exec.DispatchError(ctx, list)
}
