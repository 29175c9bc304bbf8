package db

import (
	"context"
	"fmt"

	"github.com/monobase/monobase/apperr"
)

func (d *DB) upsertSuperuser(ctx context.Context, email, password string, upsert bool) error {
	c, err := d.collection(SuperusersCollection)
	if err != nil {
		return fmt.Errorf("superusers: %w", err)
	}
	tx, err := d.begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.rollback() }()
	existing, err := d.findAuthRecord(tx.ctx, c, email)
	switch {
	case err == nil:
		if !upsert {
			return apperr.InvalidFields(validationFailed, map[string]apperr.FieldError{
				"email": {Code: "duplicate", Message: "a superuser with this email already exists"},
			})
		}
		if _, err := tx.update(c, existing.ID(), RecordPatch{Set: RecordInput{"password": password, "passwordConfirm": password}}); err != nil {
			return err
		}
	case apperr.Is(err, apperr.NotFound):
		if _, err := tx.insert(c, RecordInput{"email": email, "password": password, "passwordConfirm": password, "verified": true}); err != nil {
			return err
		}
	default:
		return err
	}
	return tx.commit()
}

func (d *DB) deleteSuperuser(ctx context.Context, email string) error {
	c, err := d.collection(SuperusersCollection)
	if err != nil {
		return fmt.Errorf("superusers: %w", err)
	}
	tx, err := d.begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.rollback() }()
	rec, err := d.findAuthRecord(tx.ctx, c, email)
	if err != nil {
		return err
	}
	if _, err := tx.delete(c, rec.ID()); err != nil {
		return err
	}
	return tx.commit()
}
