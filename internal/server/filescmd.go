package server

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/monobase/monobase/backup"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/files"
	"github.com/monobase/monobase/secrets"
)

// FilesCommand moves the stored record files between the local disk and
// the S3-compatible bucket of settings.s3:
//
//	monobase files migrate --to s3|local [--delete-source] [--workers N]
//
// It copies every object of the other backend (the files and their
// thumbnails) with files.Migrate, then sets settings.s3.enabled (true for
// s3, false for local) when nothing failed. The source is left intact
// unless --delete-source, which removes each object once its copy is
// verified. Run it again after an interruption or a failure: objects
// already copied whole are skipped. A running server keeps its backend
// until it restarts, and files it stores meanwhile may be missed: stop it
// first, or run the command again after the restart.
type FilesCommand struct {
	Dir          string
	Database     string // --db: a PostgreSQL URL, "" for SQLite in Dir
	Action       string // migrate
	To           string // s3 or local
	DeleteSource bool
	Workers      int
	// Secrets opens settings.s3's secret (MONOBASE_ENCRYPTION_KEY).
	Secrets *secrets.Box
	// ProgressEvery is the time between two progress lines (default 1 s).
	ProgressEvery time.Duration

	Stdout io.Writer
	Stderr io.Writer
}

// ParseFlags reads the action, --to, --delete-source, --workers and --dir.
// It returns flag.ErrHelp after printing help, or a usage error.
func (c *FilesCommand) ParseFlags(args []string) error {
	fs := flag.NewFlagSet("monobase files", flag.ContinueOnError)
	fs.SetOutput(c.Stderr)
	fs.StringVar(&c.Dir, "dir", c.Dir, "data folder (env MONOBASE_DIR)")
	fs.StringVar(&c.To, "to", "", "the backend to move the files to: s3 or local")
	fs.BoolVar(&c.DeleteSource, "delete-source", false, "remove each file from the other backend once its copy is verified")
	fs.IntVar(&c.Workers, "workers", files.DefaultMigrateWorkers, "files copied at once (1 to 64)")
	fs.Usage = func() {
		fmt.Fprint(c.Stderr, "Usage:\n  monobase files migrate --to s3|local [--delete-source] [--workers N]\n")
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	bad := func(msg string) error {
		fmt.Fprintf(c.Stderr, "monobase files: %s\n", msg)
		fs.Usage()
		return fmt.Errorf("files: %s: %w", msg, errUsage)
	}
	switch {
	case len(pos) == 0:
		return bad("missing action (migrate)")
	case pos[0] != "migrate":
		return bad(fmt.Sprintf("unknown action %q", pos[0]))
	case len(pos) > 1:
		return bad("migrate takes no argument")
	case c.To != "s3" && c.To != "local":
		return bad("--to must be s3 or local")
	case c.Workers < 1 || c.Workers > 64:
		return bad("--workers must be 1 to 64")
	}
	c.Action = pos[0]
	return nil
}

// Run migrates the files, then switches settings.s3.enabled. It fails
// before copying anything when settings.s3 is incomplete (the error names
// each missing or invalid field).
func (c *FilesCommand) Run(ctx context.Context) error {
	d, err := openData(ctx, c.Dir, c.Database, c.Secrets)
	if err != nil {
		return err
	}
	err = c.migrate(ctx, d)
	if cerr := d.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("close database: %w", cerr)
	}
	return err
}

func (c *FilesCommand) migrate(ctx context.Context, d *db.DB) error {
	set, err := files.LoadS3Settings(ctx, d)
	if err != nil {
		return fmt.Errorf("files migrate: %w", err)
	}
	bucket, err := files.NewS3(set) // validated as if enabled
	if err != nil {
		return fmt.Errorf("files migrate: settings.s3 must name a complete bucket first (set it in the dashboard or with updateSettings, enabled false): %w", err)
	}
	if err := bucket.Test(ctx); err != nil {
		return fmt.Errorf("files migrate: the bucket of settings.s3 does not work: %w", err)
	}
	local := files.NewDisk(filepath.Join(c.Dir, backup.StorageDir))
	var from, to files.Backend = local, bucket
	if c.To == "local" {
		from, to = bucket, local
	}
	fmt.Fprintf(c.Stdout, "moving the files from %s to %s (source %s)\n", describe(from), describe(to),
		map[bool]string{true: "deleted after each verified copy", false: "kept"}[c.DeleteSource])

	every := c.ProgressEvery
	if every <= 0 {
		every = time.Second
	}
	last := time.Now()
	res, err := files.Migrate(ctx, from, to, files.MigrateOptions{
		Workers:      c.Workers,
		DeleteSource: c.DeleteSource,
		Progress: func(ev files.MigrateEvent) {
			if ev.Outcome == files.Failed {
				fmt.Fprintf(c.Stderr, "failed: %s: %v\n", ev.Key, ev.Err)
			}
			if time.Since(last) >= every {
				last = time.Now()
				fmt.Fprintf(c.Stdout, "%s\n", summary(ev.Totals))
			}
		},
	})
	fmt.Fprintf(c.Stdout, "done: %s\n", summary(res))
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("files migrate interrupted (run it again to resume; settings.s3 unchanged): %w", err)
		}
		return fmt.Errorf("files migrate (run it again to retry the rest; settings.s3 unchanged): %w", err)
	}
	if set.Enabled != (c.To == "s3") {
		set.Enabled = c.To == "s3"
		if err := files.SaveS3Settings(ctx, d, set); err != nil {
			return fmt.Errorf("files migrate: the files are copied but settings.s3.enabled could not be saved: %w", err)
		}
	}
	fmt.Fprintf(c.Stdout, "settings.s3.enabled is %v: restart a running server to store and serve the files on %s\n", set.Enabled, c.To)
	return nil
}

// describe names a backend for the output (never its keys).
func describe(b files.Backend) string {
	switch b := b.(type) {
	case *files.Disk:
		return "local " + b.Root()
	case *files.S3:
		return "s3 bucket " + b.Bucket()
	}
	return b.Kind()
}

// summary formats the totals of a migration.
func summary(r files.MigrateResult) string {
	s := fmt.Sprintf("%d copied (%.1f MiB), %d skipped (already there), %d failed", r.Copied, float64(r.Bytes)/(1<<20), r.Skipped, r.Failed)
	if r.Deleted > 0 {
		s += fmt.Sprintf(", %d deleted from the source", r.Deleted)
	}
	return s
}
