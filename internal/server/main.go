// Package server is the Monobase server and its administration commands,
// which the root package monobase runs (cmd/monobase is a thin main over it):
//
//	monobase serve               start the HTTP server
//	monobase superuser ...       create, update or delete superusers
//	monobase schema ...          export or import the collections as JSON
//	monobase files migrate ...   move the stored files between the disk and S3
//	monobase export-data FILE    write all data in an engine-neutral format
//	monobase import-data FILE    load it into an empty database (SQLite or PostgreSQL)
//	monobase migrate ...         create, apply and revert the app's migrations
//	monobase version             print the version
//
// --dir (env MONOBASE_DIR, default ./mb_data) is accepted by every command.
//
// It is also the one place where the packages are wired together
// (serve.go): it opens db, makes the auth service, the subscription hub,
// the file store and the GraphQL engine, sets db's change hooks
// (OnSchemaChange, OnRecordChange) and builds the HTTP handler tree.
package server

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/monobase/monobase/dynschema"
	"github.com/monobase/monobase/hook"
	"github.com/monobase/monobase/migrate"
	"github.com/monobase/monobase/secrets"
)

// DefaultDir is the data folder used when neither --dir nor MONOBASE_DIR is given.
const DefaultDir = "./mb_data"

// errUsage marks a command line that cannot be run; main exits with 2.
var errUsage = errors.New("usage")

// RunProcess runs m on the process's command line (os.Args) until SIGINT
// or SIGTERM starts a graceful shutdown (a second signal ends the process
// at once). It returns nil, or the command's error after printing it (a
// usage error is printed by the command itself and matches IsUsage).
func RunProcess(m *Main) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// After the first signal starts the graceful shutdown, restore the
	// default handling so that a second Ctrl-C ends the process at once.
	go func() {
		<-ctx.Done()
		stop()
	}()

	tuneGC(os.Getenv)
	err := m.Run(ctx, os.Args[1:])
	switch {
	case err == nil || errors.Is(err, flag.ErrHelp):
		return nil
	case !errors.Is(err, errUsage):
		fmt.Fprintln(m.Stderr, "error:", err)
	}
	return err
}

// IsUsage reports whether err is a command line that cannot be run (the
// process exits with 2 then, 1 for other errors).
func IsUsage(err error) bool { return errors.Is(err, errUsage) }

// defaultGCPercent is the garbage collector target the binary runs with
// unless GOGC is set: a request allocates many short-lived values, and
// collecting half as often gave 8-15% more reads per second on 2 cores
// (bench/wrk/run.sh) for a heap that is small to begin with. GOMEMLIMIT
// still caps memory where it is set.
const defaultGCPercent = 200

// tuneGC applies defaultGCPercent when the GOGC variable is unset.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
}

// Main runs one command line. Tests build their own Main with buffers in
// place of the standard streams.
type Main struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Getenv reads the MONOBASE_* variables (os.Getenv by default).
	Getenv func(string) string
	// Started, when set, is called with the running server once `serve`
	// listens (tests use it to learn the address).
	Started func(*ServeCommand)
	// Ext is what an app built on the root package adds (nil: nothing).
	Ext *Extensions
}

// Extensions are what an app built on the root package monobase adds to
// the server: hooks, commands, a default data folder.
type Extensions struct {
	Hooks *hook.Registry // nil: none
	// DataDir is the data folder when neither --dir nor MONOBASE_DIR is
	// given ("": DefaultDir).
	DataDir string
	// Commands are the app's own commands, by name.
	Commands map[string]Command
	// Migrations are the app's Go migrations (`migrate`, and `serve` at start).
	Migrations []migrate.Migration
	// Schema are the app's custom GraphQL root fields (extensions.go).
	Schema []dynschema.Extension
	// Engine is the GraphQL engine `serve` runs now (nil before it starts).
	Engine atomic.Pointer[dynschema.Engine]
}

// Command is a command an app adds to the command line.
type Command struct {
	Usage string // one line for the help, such as "seed [N]   add N sample posts"
	Run   func(ctx context.Context, args []string) error
}

// hooks returns the app's hook registry, an empty one when it has none.
func (m *Main) hooks() *hook.Registry {
	if m.Ext == nil || m.Ext.Hooks == nil {
		return &hook.Registry{}
	}
	return m.Ext.Hooks
}

// NewMain returns a Main on the process's standard streams and environment.
func NewMain() *Main {
	return &Main{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
}

// Run runs the command named by args[0] (after the global flags). For
// `serve` it returns once ctx is cancelled and the server has shut down.
// It returns flag.ErrHelp after printing help, an error wrapping errUsage
// for a bad command line (the reason is printed to Stderr), or the
// command's error.
func (m *Main) Run(ctx context.Context, args []string) error {
	if m.Getenv == nil {
		m.Getenv = os.Getenv
	}
	global := flag.NewFlagSet("monobase", flag.ContinueOnError)
	global.SetOutput(m.Stderr)
	dir := global.String("dir", m.defaultDir(), "data folder (env MONOBASE_DIR)")
	dbURL := global.String("db", m.Getenv("MONOBASE_DB"), "the database: a postgres:// URL, or empty for SQLite in the data folder (env MONOBASE_DB)")
	global.Usage = func() { fmt.Fprint(m.Stderr, m.usage()) }
	if err := global.Parse(args); err != nil {
		return usageErr(err)
	}
	args = global.Args()
	if len(args) == 0 {
		fmt.Fprint(m.Stderr, m.usage())
		return fmt.Errorf("no command: %w", errUsage)
	}
	name, args := args[0], args[1:]
	switch name {
	case "serve":
		c := NewServeCommand(m.Stdout, m.Stderr)
		c.Dir, c.Database = *dir, *dbURL
		c.Migrations.Go = m.goMigrations()
		c.Schema = m.schema()
		if m.Ext != nil {
			c.Engine = &m.Ext.Engine
		}
		c.Hooks = m.hooks()
		if err := c.ParseFlags(args, m.Getenv); err != nil {
			return err
		}
		// Every package logs through slog's default logger: give it the
		// server's handler (text or JSON on stderr, debug level in --dev),
		// which also feeds the request logs (errors logged with a
		// request's context land in its entry).
		slog.SetDefault(c.logger())
		return c.RunUntil(ctx, m.Started)
	case "superuser":
		c := &SuperuserCommand{Dir: *dir, Database: *dbURL, Stdout: m.Stdout, Stderr: m.Stderr}
		return m.runData(ctx, name, func() error { return c.ParseFlags(args) }, &c.Secrets, c.Run)
	case "schema":
		c := &SchemaCommand{Dir: *dir, Database: *dbURL, Stdout: m.Stdout, Stderr: m.Stderr}
		return m.runData(ctx, name, func() error { return c.ParseFlags(args) }, &c.Secrets, c.Run)
	case "files":
		c := &FilesCommand{Dir: *dir, Database: *dbURL, Stdout: m.Stdout, Stderr: m.Stderr}
		return m.runData(ctx, name, func() error { return c.ParseFlags(args) }, &c.Secrets, c.Run)
	case "migrate":
		c := &MigrateCommand{Dir: *dir, Database: *dbURL, Go: m.goMigrations(), Stdout: m.Stdout, Stderr: m.Stderr}
		return m.runData(ctx, name, func() error { return c.ParseFlags(args, m.Getenv) }, &c.Secrets, c.Run)
	case "export-data", "import-data":
		c := &DataCommand{Dir: *dir, Database: *dbURL, Action: name, Stdin: m.Stdin, Stdout: m.Stdout, Stderr: m.Stderr}
		return m.runData(ctx, name, func() error { return c.ParseFlags(args) }, &c.Secrets, c.Run)
	case "version", "--version":
		return (&VersionCommand{Stdout: m.Stdout}).Run()
	case "help", "-h", "--help":
		fmt.Fprint(m.Stdout, m.usage())
		return nil
	default:
		if m.Ext != nil {
			if c, ok := m.Ext.Commands[name]; ok {
				return c.Run(ctx, args)
			}
		}
		fmt.Fprintf(m.Stderr, "monobase: unknown command %q\n\n%s", name, m.usage())
		return fmt.Errorf("unknown command %q: %w", name, errUsage)
	}
}

// goMigrations returns the app's Go migrations (nil: none).
func (m *Main) goMigrations() []migrate.Migration {
	if m.Ext == nil {
		return nil
	}
	return m.Ext.Migrations
}

// runData runs a command on the data folder: parse its flags, give it the
// secrets box of MONOBASE_ENCRYPTION_KEY (into box), then run.
func (m *Main) runData(ctx context.Context, name string, parse func() error, box **secrets.Box, run func(context.Context) error) error {
	if err := parse(); err != nil {
		return err
	}
	b, err := m.secrets(name)
	if err != nil {
		return err
	}
	*box = b
	return run(ctx)
}

// secrets returns the Box of MONOBASE_ENCRYPTION_KEY for the command
// name, or a usage error (printed) when the key is not 32 characters.
func (m *Main) secrets(name string) (*secrets.Box, error) {
	box, err := secrets.FromEnv(m.Getenv)
	if err != nil {
		fmt.Fprintf(m.Stderr, "monobase %s: %v\n", name, err)
		return nil, fmt.Errorf("%s: %w", secrets.EnvKey, errUsage)
	}
	return box, nil
}

// usage is the help text with the app's own commands.
func (m *Main) usage() string {
	if m.Ext == nil || len(m.Ext.Commands) == 0 {
		return usage
	}
	var b strings.Builder
	b.WriteString(usage)
	b.WriteString("\nCommands of this app:\n")
	for _, name := range slices.Sorted(maps.Keys(m.Ext.Commands)) {
		fmt.Fprintf(&b, "  %s\n", cmp.Or(m.Ext.Commands[name].Usage, name))
	}
	return b.String()
}

func (m *Main) defaultDir() string {
	if v := m.Getenv("MONOBASE_DIR"); v != "" {
		return v
	}
	if m.Ext != nil && m.Ext.DataDir != "" {
		return m.Ext.DataDir
	}
	return DefaultDir
}

// parseInterspersed parses fs's flags wherever they stand among args (the
// standard flag package stops at the first positional argument) and returns
// the positional arguments in order. Everything after "--" is positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usageErr(err)
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// usageErr passes flag.ErrHelp through and marks other flag errors (already
// printed by the flag package) as usage errors.
func usageErr(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	return fmt.Errorf("%w: %w", errUsage, err)
}

// envBool reads a boolean environment value ("1", "true", "yes", "on").
func envBool(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "t", "true", "yes", "y", "on":
		return true
	}
	return false
}

const usage = `Monobase: a GraphQL-first backend in one binary.

Usage:
  monobase [--dir DIR] [--db URL] <command> [arguments]

Commands:
  serve                                  start the server (flags: --http, --dev)
  superuser upsert EMAIL PASSWORD        create a superuser or set its password
  superuser create EMAIL PASSWORD        create a superuser (fails if it exists)
  superuser delete EMAIL                 delete a superuser
  schema export [FILE]                   write the collections as JSON (stdout without FILE)
  schema import FILE [--delete-missing]  create or update collections from JSON
  export-data FILE                       write all data (collections, records, settings, users) in
                                         the engine-neutral format (FILE - for stdout, .gz compressed)
  import-data FILE                       load an export-data FILE into an empty database
                                         (moves SQLite <-> PostgreSQL: docs/postgres.md)
  files migrate --to s3|local            move the stored files to the bucket of settings.s3 or
                                         back to the disk, then switch settings.s3.enabled
                                         (--delete-source: remove each verified original)
  migrate create NAME                    write an empty JSON migration into the migrations folder
  migrate up                             apply the pending migrations (JSON files and the app's Go ones)
  migrate down [N]                       revert the last N applied migrations (default 1)
  migrate status                         list the applied and pending migrations
                                         (--migrations DIR: the folder, env MONOBASE_MIGRATIONS,
                                         default mb_migrations beside the data folder)
  version                                print the version
  help                                   print this help

Global flags (every command):
  --dir DIR    data folder (env MONOBASE_DIR, default ./mb_data)
  --db URL     a postgres:// database instead of SQLite in the data folder (env MONOBASE_DB)

Serve flags:
  --http ADDR  listen address (env MONOBASE_HTTP, default 127.0.0.1:8090)
  --dev        development mode: access log, debug logging (env MONOBASE_DEV=1)
  --log-format text|json  the log on stderr (env MONOBASE_LOG_FORMAT, default text)
  --max-sockets-per-ip N  open WebSockets per client IP (env MONOBASE_MAX_SOCKETS_PER_IP, default 1000)
  --migrations DIR        the migrations folder; pending migrations are applied at start (env MONOBASE_MIGRATIONS)
  --automigrate           write a migration for every collection change on the admin API (env MONOBASE_AUTOMIGRATE=1)

Environment (every command):
  MONOBASE_ENCRYPTION_KEY  32 characters: encrypt the stored secrets at rest (AES-256-GCM)

Run "monobase <command> -h" for a command's flags.
`
