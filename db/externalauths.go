package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/monobase/monobase/apperr"
)

// ExternalAuth links an OAuth2 provider account to a record of an auth
// collection (the _externalAuths table). A provider account links to one
// record per collection, a record to one account per provider.
type ExternalAuth struct {
	ID            string
	CollectionRef string // the collection id
	RecordRef     string // the record id
	Provider      string // the provider name, e.g. "google"
	ProviderID    string // the account id the provider gives
	Created       string
	Updated       string
}

const externalAuthColumns = `"id", "collectionRef", "recordRef", "provider", "providerId", "created", "updated"`

// FindExternalAuth returns the link of the provider account providerID to
// a record of the collection collectionID, or apperr.NotFound. Inside a
// transaction (ctx of Tx) it sees the transaction's writes.
func (d *DB) FindExternalAuth(ctx context.Context, collectionID, provider, providerID string) (*ExternalAuth, error) {
	row := d.reader(ctx).QueryRowContext(ctx, `SELECT `+externalAuthColumns+` FROM "_externalAuths"
WHERE "collectionRef" = ? AND "provider" = ? AND "providerId" = ?`, collectionID, provider, providerID)
	var ea ExternalAuth
	err := row.Scan(&ea.ID, &ea.CollectionRef, &ea.RecordRef, &ea.Provider, &ea.ProviderID, &ea.Created, &ea.Updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.New(apperr.NotFound, "no %s account linked", provider)
	}
	if err != nil {
		return nil, fmt.Errorf("find external auth: %w", err)
	}
	return &ea, nil
}

// ExternalAuths returns the links of the record recordID of the
// collection collectionID, by provider name.
func (d *DB) ExternalAuths(ctx context.Context, collectionID, recordID string) ([]ExternalAuth, error) {
	rows, err := d.reader(ctx).QueryContext(ctx, `SELECT `+externalAuthColumns+` FROM "_externalAuths"
WHERE "collectionRef" = ? AND "recordRef" = ? ORDER BY "provider"`, collectionID, recordID)
	if err != nil {
		return nil, fmt.Errorf("list external auths: %w", err)
	}
	defer rows.Close()
	var out []ExternalAuth
	for rows.Next() {
		var ea ExternalAuth
		if err := rows.Scan(&ea.ID, &ea.CollectionRef, &ea.RecordRef, &ea.Provider, &ea.ProviderID, &ea.Created, &ea.Updated); err != nil {
			return nil, fmt.Errorf("list external auths: %w", err)
		}
		out = append(out, ea)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list external auths: %w", err)
	}
	return out, nil
}

// LinkExternalAuth links the provider account providerID to the record
// recordID of c. When the account is linked to another record of c, or the
// record to another account of the provider, it returns apperr.Conflict
// and changes nothing.
func (tx *Tx) LinkExternalAuth(c *Collection, recordID, provider, providerID string) error {
	if c == nil || !c.IsAuth() {
		return apperr.New(apperr.Invalid, "not an auth collection")
	}
	now := FormatDate(time.Now())
	_, err := tx.Tx.Tx.ExecContext(tx.ctx, `INSERT INTO "_externalAuths" (`+externalAuthColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		NewID(), c.ID, recordID, provider, providerID, now, now)
	if err != nil {
		if isUniqueViolation(err) {
			return apperr.New(apperr.Conflict, "the record is already linked to another %s account", provider)
		}
		return fmt.Errorf("link external auth: %w", err)
	}
	return nil
}

// UnlinkExternalAuth removes the link of the record recordID of c to the
// provider; apperr.NotFound when there is none.
func (tx *Tx) UnlinkExternalAuth(c *Collection, recordID, provider string) error {
	res, err := tx.Tx.Tx.ExecContext(tx.ctx, `DELETE FROM "_externalAuths" WHERE "collectionRef" = ? AND "recordRef" = ? AND "provider" = ?`,
		c.ID, recordID, provider)
	if err != nil {
		return fmt.Errorf("unlink external auth: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("unlink external auth: %w", err)
	} else if n == 0 {
		return apperr.New(apperr.NotFound, "no %s account is linked to this record", provider)
	}
	return nil
}

// deleteExternalAuths removes the links of a record being deleted.
func (tx *Tx) deleteExternalAuths(c *Collection, recordID string) error {
	if !c.IsAuth() {
		return nil
	}
	if _, err := tx.Tx.Tx.ExecContext(tx.ctx, `DELETE FROM "_externalAuths" WHERE "collectionRef" = ? AND "recordRef" = ?`, c.ID, recordID); err != nil {
		return fmt.Errorf("delete the external auths of %s %q: %w", c.Name, recordID, err)
	}
	return nil
}
