// Package monobase is Monobase as a Go framework: New builds the same
// server that the monobase command runs, and the app adds hooks on record
// writes, sign-ins, requests and the server's life, its own routes, GraphQL
// fields resolved in Go, migrations and commands, then calls Start, which
// runs the usual command line (serve, superuser, schema, files, migrate)
// from os.Args.
//
//	app := monobase.New(monobase.Config{DataDir: "./mb_data"})
//	app.OnRecordCreate("posts").BindFunc(func(e *monobase.RecordEvent) error {
//		e.Record.Set("slug", slugify(e.Record.GetString("title")))
//		return e.Next()
//	})
//	if err := app.Start(); err != nil {
//		os.Exit(monobase.ExitCode(err))
//	}
package monobase

import (
	"context"

	"github.com/monobase/monobase/hook"
	"github.com/monobase/monobase/internal/server"
)

// Config configures an app.
type Config struct {
	// DataDir is the data folder when neither --dir nor MONOBASE_DIR is
	// given (default ./mb_data).
	DataDir string
}

// App is a Monobase server with the app's extensions.
type App struct {
	ext   server.Extensions
	hooks hook.Registry
}

// New returns an app; bind its hooks and extensions, then call Start.
func New(cfg Config) *App {
	a := &App{}
	a.ext = server.Extensions{Hooks: &a.hooks, DataDir: cfg.DataDir, Commands: map[string]server.Command{}}
	return a
}

// Start runs the command line of os.Args (serve, superuser, schema,
// files, migrate, version, and the app's own commands) until it ends, a
// server until SIGINT or SIGTERM. It returns nil or the error it printed.
func (a *App) Start() error {
	m := server.NewMain()
	m.Ext = &a.ext
	return server.RunProcess(m)
}

// ExitCode is the exit status for Start's error: 0 for nil, 2 for a
// command line that cannot be run, 1 otherwise.
func ExitCode(err error) int {
	switch {
	case err == nil:
		return 0
	case server.IsUsage(err):
		return 2
	}
	return 1
}

// AddCommand adds a command to the app's command line: `<binary> name
// args...` calls run. usage is its line in the help.
func (a *App) AddCommand(name, usage string, run func(ctx context.Context, args []string) error) {
	a.ext.Commands[name] = server.Command{Usage: usage, Run: run}
}

// Events and hooks, as the hook package defines them.
type (
	// RecordEvent is the event of a record create, update or delete.
	RecordEvent = hook.RecordEvent
	// AuthEvent is the event of a sign-in.
	AuthEvent = hook.AuthEvent
	// RequestEvent is the event of an HTTP request, before routing.
	RequestEvent = hook.RequestEvent
	// ServeEvent is the event of the server starting: add routes to Router.
	ServeEvent = hook.ServeEvent
	// TerminateEvent is the event of the server shutting down.
	TerminateEvent = hook.TerminateEvent
	// Record is a record as hooks read and change it.
	Record = hook.Record
)

// OnRecordCreate runs before a record of one of the collections (all when
// none is named) is created, in the write transaction: the handler may
// change e.Record or return an error, which rejects the write
// (BAD_USER_INPUT with its message, or the code of an apperr error).
func (a *App) OnRecordCreate(collections ...string) *hook.TaggedHook[*RecordEvent] {
	return hook.NewTagged(&a.hooks.RecordCreate, collections...)
}

// OnRecordAfterCreate runs after the create, in the transaction.
func (a *App) OnRecordAfterCreate(collections ...string) *hook.TaggedHook[*RecordEvent] {
	return hook.NewTagged(&a.hooks.RecordAfterCreate, collections...)
}

// OnRecordAfterCreateCommit runs once the create committed.
func (a *App) OnRecordAfterCreateCommit(collections ...string) *hook.TaggedHook[*RecordEvent] {
	return hook.NewTagged(&a.hooks.RecordAfterCreateCommit, collections...)
}

// OnRecordUpdate runs before an update, in the transaction (see
// OnRecordCreate); e.Original is the record as it was.
func (a *App) OnRecordUpdate(collections ...string) *hook.TaggedHook[*RecordEvent] {
	return hook.NewTagged(&a.hooks.RecordUpdate, collections...)
}

// OnRecordAfterUpdate runs after the update, in the transaction.
func (a *App) OnRecordAfterUpdate(collections ...string) *hook.TaggedHook[*RecordEvent] {
	return hook.NewTagged(&a.hooks.RecordAfterUpdate, collections...)
}

// OnRecordAfterUpdateCommit runs once the update committed.
func (a *App) OnRecordAfterUpdateCommit(collections ...string) *hook.TaggedHook[*RecordEvent] {
	return hook.NewTagged(&a.hooks.RecordAfterUpdateCommit, collections...)
}

// OnRecordDelete runs before a delete, in the transaction (see
// OnRecordCreate).
func (a *App) OnRecordDelete(collections ...string) *hook.TaggedHook[*RecordEvent] {
	return hook.NewTagged(&a.hooks.RecordDelete, collections...)
}

// OnRecordAfterDelete runs after the delete, in the transaction.
func (a *App) OnRecordAfterDelete(collections ...string) *hook.TaggedHook[*RecordEvent] {
	return hook.NewTagged(&a.hooks.RecordAfterDelete, collections...)
}

// OnRecordAfterDeleteCommit runs once the delete committed.
func (a *App) OnRecordAfterDeleteCommit(collections ...string) *hook.TaggedHook[*RecordEvent] {
	return hook.NewTagged(&a.hooks.RecordAfterDeleteCommit, collections...)
}

// OnRecordAuth runs before a sign-in to one of the auth collections is
// granted (the record found and its credentials checked): an error
// refuses it.
func (a *App) OnRecordAuth(collections ...string) *hook.TaggedHook[*AuthEvent] {
	return hook.NewTagged(&a.hooks.RecordAuth, collections...)
}

// OnRecordAfterAuth runs after a sign-in, with the issued token.
func (a *App) OnRecordAfterAuth(collections ...string) *hook.TaggedHook[*AuthEvent] {
	return hook.NewTagged(&a.hooks.RecordAfterAuth, collections...)
}

// OnRequest runs for every HTTP request before it is routed.
func (a *App) OnRequest() *hook.Hook[*RequestEvent] { return &a.hooks.Request }

// OnServe runs when the server starts serving: add routes to e.Router.
func (a *App) OnServe() *hook.Hook[*ServeEvent] { return &a.hooks.Serve }

// OnTerminate runs when the server shuts down.
func (a *App) OnTerminate() *hook.Hook[*TerminateEvent] { return &a.hooks.Terminate }
