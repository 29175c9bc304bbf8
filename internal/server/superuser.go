package server

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/secrets"
)

// SuperuserCommand creates, updates or deletes a superuser:
//
//	monobase superuser upsert EMAIL PASSWORD
//	monobase superuser create EMAIL PASSWORD
//	monobase superuser delete EMAIL
//
// It works while the server runs (SQLite in WAL mode allows the second
// process).
type SuperuserCommand struct {
	Dir      string
	Database string // --db: a PostgreSQL URL, "" for SQLite in Dir
	Action   string // upsert, create or delete
	Email    string
	// Password is the new password (upsert, create).
	Password string
	// Secrets opens the data folder's encrypted secrets
	// (MONOBASE_ENCRYPTION_KEY; see ServeCommand.Secrets).
	Secrets *secrets.Box

	Stdout io.Writer
	Stderr io.Writer
}

// ParseFlags reads the action, EMAIL, PASSWORD and --dir. It returns
// flag.ErrHelp after printing help, or a usage error.
func (c *SuperuserCommand) ParseFlags(args []string) error {
	fs := flag.NewFlagSet("monobase superuser", flag.ContinueOnError)
	fs.SetOutput(c.Stderr)
	fs.StringVar(&c.Dir, "dir", c.Dir, "data folder (env MONOBASE_DIR)")
	fs.Usage = func() {
		fmt.Fprint(c.Stderr, "Usage:\n  monobase superuser upsert EMAIL PASSWORD\n  monobase superuser create EMAIL PASSWORD\n  monobase superuser delete EMAIL\n")
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	bad := func(msg string) error {
		fmt.Fprintf(c.Stderr, "monobase superuser: %s\n", msg)
		fs.Usage()
		return fmt.Errorf("superuser: %s: %w", msg, errUsage)
	}
	if len(pos) == 0 {
		return bad("missing action (upsert, create or delete)")
	}
	c.Action = pos[0]
	switch c.Action {
	case "upsert", "create":
		if len(pos) != 3 {
			return bad(c.Action + " needs EMAIL and PASSWORD")
		}
		c.Email, c.Password = pos[1], pos[2]
	case "delete":
		if len(pos) != 2 {
			return bad("delete needs EMAIL")
		}
		c.Email = pos[1]
	default:
		return bad(fmt.Sprintf("unknown action %q", c.Action))
	}
	return nil
}

// Run applies the action. Bad input (an invalid email, a short password, an
// existing email for create) and a missing superuser for delete come back
// as the database's *apperr.Error, wrapped.
func (c *SuperuserCommand) Run(ctx context.Context) error {
	d, err := openData(ctx, c.Dir, c.Database, c.Secrets)
	if err != nil {
		return err
	}
	if err := c.apply(ctx, d); err != nil {
		_ = d.Close()
		return err
	}
	if err := d.Close(); err != nil {
		return fmt.Errorf("close database: %w", err)
	}
	return nil
}

// apply runs the action on the open database.
func (c *SuperuserCommand) apply(ctx context.Context, d *db.DB) (err error) {
	switch c.Action {
	case "upsert":
		err = d.UpsertSuperuser(ctx, c.Email, c.Password)
	case "create":
		err = d.CreateSuperuser(ctx, c.Email, c.Password)
	case "delete":
		err = d.DeleteSuperuser(ctx, c.Email)
	default:
		return fmt.Errorf("superuser: unknown action %q: %w", c.Action, errUsage)
	}
	if err != nil {
		return fmt.Errorf("superuser %s %s: %w", c.Action, c.Email, err)
	}
	if c.Action == "delete" {
		fmt.Fprintf(c.Stdout, "Deleted superuser %q.\n", c.Email)
	} else {
		fmt.Fprintf(c.Stdout, "Saved superuser %q.\n", c.Email)
	}
	return nil
}
