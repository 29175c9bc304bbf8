package db

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// AuthStatePurge counts the rows PurgeExpiredAuthState deleted.
type AuthStatePurge struct {
	OTPs, MFAs, AuthOrigins int64
}

// PurgeExpiredAuthState deletes the sign-in state that can no longer be
// used, as of now: the one-time passwords created more than their
// collection's otp.duration ago, the multi-factor sign-ins older than
// mfa.duration, the rows of collections that are no auth collections (any
// more), and the devices of records that no longer exist. (Codes and
// sign-ins are also purged, past their longest lifetime, each time a new
// one is stored; this catches those of quiet collections.) It fails with
// the first statement that fails; the statements before it stay done.
func (d *DB) PurgeExpiredAuthState(ctx context.Context, now time.Time) (AuthStatePurge, error) {
	var n AuthStatePurge
	var authIDs []any
	for _, c := range d.Collections() {
		o := c.AuthOpts()
		if o == nil {
			continue
		}
		authIDs = append(authIDs, c.ID)
		for _, p := range []struct {
			table string
			dur   int
			count *int64
		}{{"_otps", o.OTP.Duration, &n.OTPs}, {"_mfas", o.MFA.Duration, &n.MFAs}} {
			cut := FormatDate(now.Add(-time.Duration(p.dur) * time.Second))
			k, err := d.purge(ctx, `DELETE FROM `+quoteIdent(p.table)+` WHERE "collectionRef" = ? AND "created" < ?`, c.ID, cut)
			if err != nil {
				return n, fmt.Errorf("purge %s of %s: %w", p.table, c.Name, err)
			}
			*p.count += k
		}
		k, err := d.purge(ctx, `DELETE FROM "_authOrigins" WHERE "collectionRef" = ? AND "recordRef" NOT IN (SELECT "id" FROM `+
			quoteIdent(c.Name)+`)`, c.ID)
		if err != nil {
			return n, fmt.Errorf("purge _authOrigins of %s: %w", c.Name, err)
		}
		n.AuthOrigins += k
	}
	// The rows of collections deleted or no longer auth.
	notAuth := `1 = 1`
	if len(authIDs) > 0 {
		notAuth = `"collectionRef" NOT IN (?` + strings.Repeat(`, ?`, len(authIDs)-1) + `)`
	}
	for _, p := range []struct {
		table string
		count *int64
	}{{"_otps", &n.OTPs}, {"_mfas", &n.MFAs}, {"_authOrigins", &n.AuthOrigins}} {
		k, err := d.purge(ctx, `DELETE FROM `+quoteIdent(p.table)+` WHERE `+notAuth, authIDs...)
		if err != nil {
			return n, fmt.Errorf("purge %s of other collections: %w", p.table, err)
		}
		*p.count += k
	}
	return n, nil
}

// purge runs a DELETE on the writer and returns the rows it deleted.
func (d *DB) purge(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := d.writerFor(ctx).ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
