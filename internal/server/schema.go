package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/dynschema"
	"github.com/monobase/monobase/secrets"
)

// SchemaCommand exports or imports the collection definitions as a JSON
// array (schema as code):
//
//	monobase schema export [FILE]
//	monobase schema import FILE [--delete-missing]
//
// Export writes every collection except the internal ones whose name starts
// with "_" (such as _superusers), in creation order, so that a collection
// comes after the collections it relates to. Import goes through the same
// checks as the admin API's importCollections (rules, the GraphQL schema
// build: dynschema.Validate) in one transaction. Run import while the server is stopped,
// or use the admin API: a running server does not see changes made by
// another process until it restarts.
type SchemaCommand struct {
	Dir           string
	Database      string // --db: a PostgreSQL URL, "" for SQLite in Dir
	Action        string // export or import
	File          string // "" or "-" means stdout for export
	DeleteMissing bool
	// Secrets opens and seals the OAuth2 client secrets
	// (MONOBASE_ENCRYPTION_KEY; see ServeCommand.Secrets).
	Secrets *secrets.Box

	Stdout io.Writer
	Stderr io.Writer
}

// ParseFlags reads the action, FILE, --delete-missing and --dir. It returns
// flag.ErrHelp after printing help, or a usage error.
func (c *SchemaCommand) ParseFlags(args []string) error {
	fs := flag.NewFlagSet("monobase schema", flag.ContinueOnError)
	fs.SetOutput(c.Stderr)
	fs.StringVar(&c.Dir, "dir", c.Dir, "data folder (env MONOBASE_DIR)")
	fs.BoolVar(&c.DeleteMissing, "delete-missing", false, "import: delete the collections that are not in FILE")
	fs.Usage = func() {
		fmt.Fprint(c.Stderr, "Usage:\n  monobase schema export [FILE]\n  monobase schema import FILE [--delete-missing]\n")
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	bad := func(msg string) error {
		fmt.Fprintf(c.Stderr, "monobase schema: %s\n", msg)
		fs.Usage()
		return fmt.Errorf("schema: %s: %w", msg, errUsage)
	}
	if len(pos) == 0 {
		return bad("missing action (export or import)")
	}
	c.Action = pos[0]
	switch c.Action {
	case "export":
		if len(pos) > 2 {
			return bad("export takes at most one FILE")
		}
		if len(pos) == 2 {
			c.File = pos[1]
		}
		if c.DeleteMissing {
			return bad("--delete-missing is for import")
		}
	case "import":
		if len(pos) != 2 {
			return bad("import needs exactly one FILE")
		}
		c.File = pos[1]
	default:
		return bad(fmt.Sprintf("unknown action %q", c.Action))
	}
	return nil
}

// Run exports or imports. An import that fails validation changes nothing
// and returns the database's *apperr.Error (with per-field messages), wrapped.
func (c *SchemaCommand) Run(ctx context.Context) error {
	d, err := openData(ctx, c.Dir, c.Database, c.Secrets)
	if err != nil {
		return err
	}
	switch c.Action {
	case "export":
		err = c.export(d)
	case "import":
		err = c.importFile(ctx, d)
	default:
		err = fmt.Errorf("schema: unknown action %q: %w", c.Action, errUsage)
	}
	if cerr := d.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("close database: %w", cerr)
	}
	return err
}

// ExportCollections returns the JSON export of d's collections: an indented
// array of the non-internal collections in creation order, relation targets
// written as collection names so that the file can be imported into another
// data folder (the admin API accepts a name or an id there). OAuth2 client
// secrets are left out.
func ExportCollections(d *db.DB) ([]byte, error) {
	all := d.Collections()
	var mine []*db.Collection
	for _, col := range all {
		if !strings.HasPrefix(col.Name, "_") {
			mine = append(mine, col)
		}
	}
	out := db.Portable(all, mine...)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return nil, fmt.Errorf("encode collections: %w", err)
	}
	return buf.Bytes(), nil
}

func (c *SchemaCommand) export(d *db.DB) error {
	data, err := ExportCollections(d)
	if err != nil {
		return err
	}
	if c.File == "" || c.File == "-" {
		_, err := c.Stdout.Write(data)
		return err
	}
	if err := writeFileAtomic(c.File, data); err != nil {
		return fmt.Errorf("write %s: %w", c.File, err)
	}
	fmt.Fprintf(c.Stderr, "Exported %d collections to %s.\n", countJSONArray(data), c.File)
	return nil
}

func (c *SchemaCommand) importFile(ctx context.Context, d *db.DB) error {
	data, err := os.ReadFile(c.File)
	if err != nil {
		return fmt.Errorf("read %s: %w", c.File, err)
	}
	var cs []*db.Collection
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&cs); err != nil {
		return fmt.Errorf("%s is not a JSON array of collections: %w", c.File, err)
	}
	for i, col := range cs {
		if col == nil {
			return fmt.Errorf("%s: element %d is null", c.File, i)
		}
	}
	// Check the collections as they will be the same way as the admin API
	// (every rule compiles, the GraphQL schema builds), inside the import's
	// transaction, without starting an engine.
	d.OnSchemaChange = func(_ context.Context, all []*db.Collection) (func(), error) {
		return nil, dynschema.Validate(all)
	}
	got, err := d.ImportCollections(ctx, cs, c.DeleteMissing)
	if err != nil {
		return fmt.Errorf("import %s: %w", c.File, err)
	}
	fmt.Fprintf(c.Stdout, "Imported %d collections from %s.\n", len(got), c.File)
	return nil
}

// writeFileAtomic writes data to a temporary file beside path and renames it
// into place, so a failed export never leaves half a file.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func countJSONArray(data []byte) int {
	var a []json.RawMessage
	_ = json.Unmarshal(data, &a)
	return len(a)
}
