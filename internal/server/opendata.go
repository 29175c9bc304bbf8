package server

import (
	"context"
	"fmt"
	"net/url"

	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/secrets"
)

// openData opens the database of a command: SQLite in the data folder dir,
// or the PostgreSQL database of dbURL (--db) when it is set.
func openData(ctx context.Context, dir, dbURL string, box *secrets.Box) (*db.DB, error) {
	opts := []db.Option{db.WithSecrets(box)}
	switch {
	case dbURL == "" || dbURL == "sqlite":
	case db.IsPostgresURL(dbURL):
		opts = append(opts, db.WithPostgres(dbURL))
	default:
		return nil, fmt.Errorf("--db %q: not a postgres:// URL (leave it empty for SQLite in the data folder)", redactURL(dbURL))
	}
	d, err := db.Open(ctx, dir, opts...)
	if err != nil {
		if dbURL != "" && dbURL != "sqlite" {
			return nil, fmt.Errorf("open the database %s: %w", redactURL(dbURL), err)
		}
		return nil, fmt.Errorf("open data folder %s: %w", dir, err)
	}
	return d, nil
}

// redactURL hides the password of a database URL.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); !ok {
		return s
	}
	return u.Redacted()
}
