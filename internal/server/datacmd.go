package server

import (
	"compress/gzip"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/secrets"
)

// DataCommand moves all data of a database to or from a file in the
// engine-neutral format of db.ExportData (docs/postgres.md):
//
//	monobase [--dir DIR] [--db URL] export-data FILE
//	monobase [--dir DIR] [--db URL] import-data FILE
//
// The global --dir/--db pick the source of an export and the target of an
// import, so a SQLite data folder moves to PostgreSQL with an export-data
// without --db and an import-data with it (and back). FILE "-" is stdout
// or stdin; a FILE ending in .gz is gzip-compressed. import-data needs an
// empty target and runs in one transaction. Stored files are not in FILE:
// they stay in the data folder's storage or the S3 bucket.
type DataCommand struct {
	Dir      string
	Database string // --db: a PostgreSQL URL, "" for SQLite in Dir
	Action   string // "export-data" or "import-data"
	File     string
	// Secrets opens and seals the OAuth2 client secrets
	// (MONOBASE_ENCRYPTION_KEY): the same key on both sides.
	Secrets *secrets.Box

	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

// ParseFlags reads FILE and --dir.
func (c *DataCommand) ParseFlags(args []string) error {
	fs := flag.NewFlagSet("monobase "+c.Action, flag.ContinueOnError)
	fs.SetOutput(c.Stderr)
	fs.StringVar(&c.Dir, "dir", c.Dir, "data folder (env MONOBASE_DIR)")
	fs.Usage = func() {
		fmt.Fprintf(c.Stderr, "Usage:\n  monobase [--dir DIR] [--db URL] %s FILE   (FILE - for std%s; .gz compressed)\n", c.Action,
			map[bool]string{true: "out", false: "in"}[c.Action == "export-data"])
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fmt.Fprintf(c.Stderr, "monobase %s: needs exactly one FILE\n", c.Action)
		fs.Usage()
		return fmt.Errorf("%s: needs one FILE: %w", c.Action, errUsage)
	}
	c.File = pos[0]
	return nil
}

// Run exports or imports and prints what moved.
func (c *DataCommand) Run(ctx context.Context) error {
	d, err := openData(ctx, c.Dir, c.Database, c.Secrets)
	if err != nil {
		return err
	}
	var stats *db.DataStats
	if c.Action == "export-data" {
		stats, err = c.export(ctx, d)
	} else {
		stats, err = c.importFile(ctx, d)
	}
	if cerr := d.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("close database: %w", cerr)
	}
	if err != nil {
		return err
	}
	rows := 0
	for _, n := range stats.Rows {
		rows += n
	}
	verb := map[bool]string{true: "Exported", false: "Imported"}[c.Action == "export-data"]
	fmt.Fprintf(c.Stderr, "%s %d collections, %d tables, %d rows (%s).\n", verb, stats.Collections, len(stats.Tables), rows, d.Engine())
	return nil
}

// export writes to a temporary file beside FILE, renamed into place once
// complete (a failed export leaves no partial FILE).
func (c *DataCommand) export(ctx context.Context, d *db.DB) (*db.DataStats, error) {
	if c.File == "-" {
		return d.ExportData(ctx, c.Stdout)
	}
	f, err := os.CreateTemp(filepath.Dir(c.File), ".export-data-*")
	if err != nil {
		return nil, fmt.Errorf("export-data: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	var w io.Writer = f
	var zw *gzip.Writer
	if strings.HasSuffix(c.File, ".gz") {
		zw = gzip.NewWriter(f)
		w = zw
	}
	stats, err := d.ExportData(ctx, w)
	if err != nil {
		return nil, err
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return nil, fmt.Errorf("export-data: %w", err)
		}
	}
	if err := f.Sync(); err != nil {
		return nil, fmt.Errorf("export-data: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("export-data: %w", err)
	}
	if err := os.Rename(f.Name(), c.File); err != nil {
		return nil, fmt.Errorf("export-data: %w", err)
	}
	return stats, nil
}

func (c *DataCommand) importFile(ctx context.Context, d *db.DB) (*db.DataStats, error) {
	var r io.Reader = c.Stdin
	if c.File != "-" {
		f, err := os.Open(c.File)
		if err != nil {
			return nil, fmt.Errorf("import-data: %w", err)
		}
		defer f.Close()
		r = f
		if strings.HasSuffix(c.File, ".gz") {
			zr, err := gzip.NewReader(f)
			if err != nil {
				return nil, fmt.Errorf("import-data: %w", err)
			}
			defer zr.Close()
			r = zr
		}
	}
	return d.ImportData(ctx, r)
}
