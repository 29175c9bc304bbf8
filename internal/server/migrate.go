package server

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"time"

	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/dynschema"
	"github.com/monobase/monobase/migrate"
	"github.com/monobase/monobase/secrets"
)

// DefaultMigrationsFolder is the name of the migrations folder, which
// lies beside the data folder unless --migrations or MONOBASE_MIGRATIONS
// names another.
const DefaultMigrationsFolder = "mb_migrations"

// DefaultMigrationsDir returns the migrations folder of the data folder
// dataDir: mb_migrations beside it (./mb_migrations for ./mb_data).
func DefaultMigrationsDir(dataDir string) string {
	return filepath.Join(filepath.Dir(filepath.Clean(dataDir)), DefaultMigrationsFolder)
}

// MigrateCommand creates, applies and reverts the app's migrations
// (package migrate):
//
//	monobase migrate create NAME   write an empty JSON migration, print its path
//	monobase migrate up            apply the pending migrations
//	monobase migrate down [N]      revert the last N applied (default 1)
//	monobase migrate status        list the applied and pending migrations
//
// Up and down check the collections as the admin API does (rules, the
// GraphQL schema build) inside each migration's transaction. Run them
// while the server is stopped: a running server does not see changes made
// by another process until it restarts.
type MigrateCommand struct {
	Dir        string // the data folder
	Database   string // --db: a PostgreSQL URL, "" for SQLite in Dir
	Migrations string // the migrations folder ("": DefaultMigrationsDir(Dir))
	Action     string // create, up, down or status
	Name       string // create
	N          int    // down
	Go         []migrate.Migration
	// Secrets opens and seals the stored secrets (MONOBASE_ENCRYPTION_KEY).
	Secrets *secrets.Box

	Stdout io.Writer
	Stderr io.Writer
}

// ParseFlags reads the action, its argument, --migrations (env
// MONOBASE_MIGRATIONS) and --dir. It returns flag.ErrHelp after printing
// help, or a usage error.
func (c *MigrateCommand) ParseFlags(args []string, getenv func(string) string) error {
	if v := getenv("MONOBASE_MIGRATIONS"); v != "" {
		c.Migrations = v
	}
	fs := flag.NewFlagSet("monobase migrate", flag.ContinueOnError)
	fs.SetOutput(c.Stderr)
	fs.StringVar(&c.Dir, "dir", c.Dir, "data folder (env MONOBASE_DIR)")
	fs.StringVar(&c.Migrations, "migrations", c.Migrations, "migrations folder (env MONOBASE_MIGRATIONS, default mb_migrations beside the data folder)")
	fs.Usage = func() {
		fmt.Fprint(c.Stderr, "Usage:\n  monobase migrate create NAME\n  monobase migrate up\n  monobase migrate down [N]\n  monobase migrate status\n")
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	bad := func(msg string) error {
		fmt.Fprintf(c.Stderr, "monobase migrate: %s\n", msg)
		fs.Usage()
		return fmt.Errorf("migrate: %s: %w", msg, errUsage)
	}
	if len(pos) == 0 {
		return bad("missing action (create, up, down or status)")
	}
	c.Action = pos[0]
	switch c.Action {
	case "create":
		if len(pos) != 2 {
			return bad("create needs exactly one NAME")
		}
		c.Name = pos[1]
	case "up", "status":
		if len(pos) != 1 {
			return bad(c.Action + " takes no arguments")
		}
	case "down":
		c.N = 1
		switch len(pos) {
		case 1:
		case 2:
			n, err := strconv.Atoi(pos[1])
			if err != nil || n < 1 {
				return bad(fmt.Sprintf("down N: %q is not a count of at least 1", pos[1]))
			}
			c.N = n
		default:
			return bad("down takes at most one N")
		}
	default:
		return bad(fmt.Sprintf("unknown action %q", c.Action))
	}
	if c.Migrations == "" {
		c.Migrations = DefaultMigrationsDir(c.Dir)
	}
	return nil
}

// Run runs the action. A migration that fails changes nothing; the error
// names it, and those applied before it stay applied.
func (c *MigrateCommand) Run(ctx context.Context) error {
	if c.Action == "create" {
		path, err := migrate.Create(c.Migrations, c.Name, time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintln(c.Stdout, path)
		return nil
	}
	d, err := openData(ctx, c.Dir, c.Database, c.Secrets)
	if err != nil {
		return err
	}
	d.OnSchemaChange = validateSchema
	r := &migrate.Runner{DB: d, Dir: c.Migrations, Go: c.Go}
	switch c.Action {
	case "up":
		var names []string
		names, err = r.Up(ctx)
		for _, n := range names {
			fmt.Fprintf(c.Stdout, "Applied %s\n", n)
		}
		if err == nil && len(names) == 0 {
			fmt.Fprintln(c.Stdout, "No pending migrations.")
		}
	case "down":
		var names []string
		names, err = r.Down(ctx, c.N)
		for _, n := range names {
			fmt.Fprintf(c.Stdout, "Reverted %s\n", n)
		}
		if err == nil && len(names) == 0 {
			fmt.Fprintln(c.Stdout, "No applied migrations.")
		}
	case "status":
		err = c.status(ctx, r)
	default:
		err = fmt.Errorf("migrate: unknown action %q: %w", c.Action, errUsage)
	}
	if cerr := d.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("close database: %w", cerr)
	}
	return err
}

func (c *MigrateCommand) status(ctx context.Context, r *migrate.Runner) error {
	list, err := r.Status(ctx)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		fmt.Fprintf(c.Stdout, "No migrations (folder %s).\n", c.Migrations)
		return nil
	}
	for _, s := range list {
		state := "pending"
		switch {
		case s.Missing:
			state = "applied " + s.Applied.UTC().Format(time.RFC3339) + " (missing)"
		case !s.Applied.IsZero():
			state = "applied " + s.Applied.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(c.Stdout, "%-40s %s\n", s.Name, state)
	}
	return nil
}

// validateSchema checks collections as they will be, as the admin API
// does, without an engine (db.DB.OnSchemaChange).
func validateSchema(_ context.Context, all []*db.Collection) (func(), error) {
	return nil, dynschema.Validate(all)
}

// MigrationOptions are the migrations of `serve`.
type MigrationOptions struct {
	Dir  string              // --migrations ("": DefaultMigrationsDir of the data folder)
	Go   []migrate.Migration // the app's Go migrations
	Auto bool                // --automigrate: a JSON migration for every collection change
}

// migrationFlags adds --migrations and --automigrate to serve's flags,
// with MONOBASE_MIGRATIONS and MONOBASE_AUTOMIGRATE as their defaults.
func (c *ServeCommand) migrationFlags(fs *flag.FlagSet, getenv func(string) string) {
	if v := getenv("MONOBASE_MIGRATIONS"); v != "" {
		c.Migrations.Dir = v
	}
	if v := getenv("MONOBASE_AUTOMIGRATE"); v != "" {
		c.Migrations.Auto = envBool(v)
	}
	fs.StringVar(&c.Migrations.Dir, "migrations", c.Migrations.Dir,
		"migrations folder, applied at start (env MONOBASE_MIGRATIONS, default mb_migrations beside the data folder)")
	fs.BoolVar(&c.Migrations.Auto, "automigrate", c.Migrations.Auto,
		"write a JSON migration into the migrations folder for every collection change made on the admin API (env MONOBASE_AUTOMIGRATE)")
}

// startMigrations applies the pending migrations to d before the server
// is built on it (checked as `migrate up` checks them; an error fails the
// start, with the migrations before the failed one applied), then, with
// --automigrate, makes every collection change write its migration.
func (c *ServeCommand) startMigrations(ctx context.Context, d *db.DB) error {
	dir := c.Migrations.Dir
	if dir == "" {
		dir = DefaultMigrationsDir(c.Dir)
	}
	prev := d.OnSchemaChange
	d.OnSchemaChange = validateSchema
	names, err := (&migrate.Runner{DB: d, Dir: dir, Go: c.Migrations.Go}).Up(ctx)
	d.OnSchemaChange = prev
	for _, n := range names {
		c.logger().Info("applied a migration", "name", n)
	}
	if err != nil {
		return fmt.Errorf("apply the pending migrations of %s: %w", dir, err)
	}
	if c.Migrations.Auto {
		d.Automigrate = (&migrate.Auto{Dir: dir}).Hook
	}
	return nil
}
