package db

import (
	"context"
	"fmt"

	"github.com/monobase/monobase/apperr"
)

// UpsertSuperuser creates the superuser or sets its password.
func (d *DB) UpsertSuperuser(ctx context.Context, email, password string) error {
	return d.upsertSuperuser(ctx, email, password, true)
}

// CreateSuperuser creates a superuser; an existing email is apperr.Invalid.
func (d *DB) CreateSuperuser(ctx context.Context, email, password string) error {
	return d.upsertSuperuser(ctx, email, password, false)
}

func (d *DB) upsertSuperuser(ctx context.Context, email, password string, upsert bool) error {
	c, err := d.Collection(SuperusersCollection)
	if err != nil {
		return fmt.Errorf("superusers: %w", err)
	}
	tx, err := d.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	existing, err := d.FindAuthRecord(tx.ctx, c, email)
	switch {
	case err == nil:
		if !upsert {
			return apperr.InvalidFields(validationFailed, map[string]apperr.FieldError{
				"email": {Code: "duplicate", Message: "a superuser with this email already exists"},
			})
		}
		if _, err := tx.Update(c, existing.ID(), RecordPatch{Set: RecordInput{"password": password, "passwordConfirm": password}}); err != nil {
			return err
		}
	case apperr.Is(err, apperr.NotFound):
		if _, err := tx.Insert(c, RecordInput{"email": email, "password": password, "passwordConfirm": password, "verified": true}); err != nil {
			return err
		}
	default:
		return err
	}
	return tx.Commit()
}

// DeleteSuperuser deletes the superuser, or returns apperr.NotFound.
func (d *DB) DeleteSuperuser(ctx context.Context, email string) error {
	c, err := d.Collection(SuperusersCollection)
	if err != nil {
		return fmt.Errorf("superusers: %w", err)
	}
	tx, err := d.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	rec, err := d.FindAuthRecord(tx.ctx, c, email)
	if err != nil {
		return err
	}
	if _, err := tx.Delete(c, rec.ID()); err != nil {
		return err
	}
	return tx.Commit()
}
