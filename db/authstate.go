package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// The sign-in state of auth records lives in three system tables
// (migrations/20250102000001_otps_mfas_auth_origins): one-time passwords
// (_otps), multi-factor sign-ins in progress (_mfas) and the devices a
// record signed in from (_authOrigins). This file is their SQL; package
// auth decides what goes in them.

// OTP is a one-time password sent by email.
type OTP struct {
	ID            string
	CollectionRef string
	RecordRef     string // "" for a code requested for an unknown email
	Hash          string // a keyed hash of the code, never the code
	SentTo        string
	Attempts      int // codes tried against it so far
	Created       time.Time
}

// MFA is a multi-factor sign-in in progress: Method succeeded first.
type MFA struct {
	ID            string
	CollectionRef string
	RecordRef     string
	Method        string
	Created       time.Time
}

// MaxAuthOrigins is how many devices RememberAuthOrigin keeps per record;
// the least recently seen is dropped first.
const MaxAuthOrigins = 50

// writerFor returns the transaction of ctx when there is one, else the
// writer pool.
func (d *DB) writerFor(ctx context.Context) querier {
	if tx := d.txFrom(ctx); tx != nil {
		return tx.Tx.Tx
	}
	return d.writer.DB
}

// CreateOTP stores o and deletes the codes of every collection created
// before purge (expired ones).
func (d *DB) CreateOTP(ctx context.Context, o OTP, purge time.Time) error {
	q := d.writerFor(ctx)
	if _, err := q.ExecContext(ctx, `DELETE FROM "_otps" WHERE "created" < ?`, FormatDate(purge)); err != nil {
		return fmt.Errorf("purge otps: %w", err)
	}
	_, err := q.ExecContext(ctx, `INSERT INTO "_otps" ("id", "collectionRef", "recordRef", "hash", "sentTo", "attempts", "created") VALUES (?, ?, ?, ?, ?, 0, ?)`,
		o.ID, o.CollectionRef, o.RecordRef, o.Hash, o.SentTo, FormatDate(o.Created))
	if err != nil {
		return fmt.Errorf("store otp: %w", err)
	}
	return nil
}

// TryOTP charges one attempt to the code id of the collection and returns
// it (Attempts counts this one), when it exists, was created at or after
// notBefore and was tried fewer than maxAttempts times; else found is
// false and nothing changes. The charge and the checks are one statement,
// so concurrent attempts never exceed maxAttempts.
func (d *DB) TryOTP(ctx context.Context, id, collectionRef string, notBefore time.Time, maxAttempts int) (o OTP, found bool, err error) {
	var created string
	err = d.writerFor(ctx).QueryRowContext(ctx, `UPDATE "_otps" SET "attempts" = "attempts" + 1
WHERE "id" = ? AND "collectionRef" = ? AND "created" >= ? AND "attempts" < ?
RETURNING "id", "collectionRef", "recordRef", "hash", "sentTo", "attempts", "created"`,
		id, collectionRef, FormatDate(notBefore), maxAttempts).
		Scan(&o.ID, &o.CollectionRef, &o.RecordRef, &o.Hash, &o.SentTo, &o.Attempts, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return OTP{}, false, nil
	}
	if err != nil {
		return OTP{}, false, fmt.Errorf("try otp: %w", err)
	}
	o.Created, _ = ParseDate(created)
	return o, true, nil
}

// DeleteOTP deletes the code id and reports whether it was there, so that
// of two concurrent uses of one code only one succeeds.
func (d *DB) DeleteOTP(ctx context.Context, id string) (bool, error) {
	return d.deleteByID(ctx, "_otps", id)
}

// CreateMFA stores m and deletes the multi-factor sign-ins of every
// collection created before purge (expired ones).
func (d *DB) CreateMFA(ctx context.Context, m MFA, purge time.Time) error {
	q := d.writerFor(ctx)
	if _, err := q.ExecContext(ctx, `DELETE FROM "_mfas" WHERE "created" < ?`, FormatDate(purge)); err != nil {
		return fmt.Errorf("purge mfas: %w", err)
	}
	_, err := q.ExecContext(ctx, `INSERT INTO "_mfas" ("id", "collectionRef", "recordRef", "method", "created") VALUES (?, ?, ?, ?, ?)`,
		m.ID, m.CollectionRef, m.RecordRef, m.Method, FormatDate(m.Created))
	if err != nil {
		return fmt.Errorf("store mfa: %w", err)
	}
	return nil
}

// FindMFA returns the multi-factor sign-in id of the collection when it
// exists and was created at or after notBefore; else found is false.
func (d *DB) FindMFA(ctx context.Context, id, collectionRef string, notBefore time.Time) (m MFA, found bool, err error) {
	var created string
	err = d.reader(ctx).QueryRowContext(ctx, `SELECT "id", "collectionRef", "recordRef", "method", "created" FROM "_mfas"
WHERE "id" = ? AND "collectionRef" = ? AND "created" >= ?`, id, collectionRef, FormatDate(notBefore)).
		Scan(&m.ID, &m.CollectionRef, &m.RecordRef, &m.Method, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return MFA{}, false, nil
	}
	if err != nil {
		return MFA{}, false, fmt.Errorf("find mfa: %w", err)
	}
	m.Created, _ = ParseDate(created)
	return m, true, nil
}

// DeleteMFA deletes the multi-factor sign-in id and reports whether it was
// there, so that of two concurrent uses only one succeeds.
func (d *DB) DeleteMFA(ctx context.Context, id string) (bool, error) {
	return d.deleteByID(ctx, "_mfas", id)
}

func (d *DB) deleteByID(ctx context.Context, table, id string) (bool, error) {
	res, err := d.writerFor(ctx).ExecContext(ctx, `DELETE FROM `+quoteIdent(table)+` WHERE "id" = ?`, id)
	if err != nil {
		return false, fmt.Errorf("delete from %s: %w", table, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("delete from %s: %w", table, err)
	}
	return n == 1, nil
}

// RememberAuthOrigin records that the record signed in from the device
// fingerprint at now, when it is not known yet, and reports whether the
// device is new to a record that had signed in before (the first device
// of a record is recorded without being new). A record keeps at most
// MaxAuthOrigins devices, the oldest dropped first.
func (d *DB) RememberAuthOrigin(ctx context.Context, collectionRef, recordRef, fingerprint string, now time.Time) (isNew bool, err error) {
	q := d.writerFor(ctx)
	var count, known int
	err = q.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(MAX(CASE WHEN "fingerprint" = ? THEN 1 ELSE 0 END), 0) FROM "_authOrigins"
WHERE "collectionRef" = ? AND "recordRef" = ?`, fingerprint, collectionRef, recordRef).Scan(&count, &known)
	if err != nil {
		return false, fmt.Errorf("read auth origins: %w", err)
	}
	if known == 1 {
		return false, nil
	}
	_, err = q.ExecContext(ctx, `INSERT INTO "_authOrigins" ("collectionRef", "recordRef", "fingerprint", "created") VALUES (?, ?, ?, ?)
ON CONFLICT ("collectionRef", "recordRef", "fingerprint") DO NOTHING`,
		collectionRef, recordRef, fingerprint, FormatDate(now))
	if err != nil {
		return false, fmt.Errorf("store auth origin: %w", err)
	}
	if count >= MaxAuthOrigins {
		_, err = q.ExecContext(ctx, `DELETE FROM "_authOrigins" WHERE "rowid" IN (
SELECT "rowid" FROM "_authOrigins" WHERE "collectionRef" = ? AND "recordRef" = ? ORDER BY "created", "rowid" LIMIT ?)`,
			collectionRef, recordRef, count+1-MaxAuthOrigins)
		if err != nil {
			return false, fmt.Errorf("trim auth origins: %w", err)
		}
	}
	return count > 0, nil
}

// deleteAuthState deletes the sign-in state of the record id of c (all
// records of c when id is ""), in the transaction of q.
func deleteAuthState(ctx context.Context, q querier, c *Collection, id string) error {
	for _, table := range []string{"_otps", "_mfas", "_authOrigins"} {
		query, args := `DELETE FROM `+quoteIdent(table)+` WHERE "collectionRef" = ?`, []any{c.ID}
		if id != "" {
			query, args = query+` AND "recordRef" = ?`, append(args, id)
		}
		if _, err := q.ExecContext(ctx, query, args...); err != nil {
			return fmt.Errorf("delete from %s: %w", table, err)
		}
	}
	return nil
}
