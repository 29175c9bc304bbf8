package auth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/db"
)

// The sign-in methods that multi-factor sign-in tells apart.
const (
	MethodPassword = "password"
	MethodOTP      = "otp"
	MethodOAuth2   = "oauth2"
)

// maxMFALifetime is the longest mfa.duration (db validates it).
const maxMFALifetime = 24 * time.Hour

// errMFA is the client-facing message for an mfaId that is unknown,
// expired, used, or of another record or collection.
const errMFA = "invalid or expired mfaId: sign in again with the first method"

// StartMFA records that method signed rec of the auth collection c in as
// a first factor and returns the id that the second method must carry
// (mfaId), valid for mfa.duration. ctx may carry the caller's
// transaction; the caller fails its sign-in with apperr.NeedMFA, so pass
// one that is not rolled back. It fails when the database does.
func (s *Service) StartMFA(ctx context.Context, c *db.Collection, rec db.Record, method string) (string, error) {
	var b [16]byte
	_, _ = rand.Read(b[:])
	now := s.now()
	m := db.MFA{ID: hex.EncodeToString(b[:]), CollectionRef: c.ID, RecordRef: rec.ID(), Method: method, Created: now}
	if err := s.db.CreateMFA(ctx, m, now.Add(-maxMFALifetime)); err != nil {
		return "", fmt.Errorf("auth: %w", err)
	}
	return m.ID, nil
}

// FinishMFA checks that mfaID is a multi-factor sign-in of rec of c,
// started within mfa.duration by a method other than method, and deletes
// it. An unknown, expired or used mfaId, or one of another record, is a
// BAD_USER_INPUT *apperr.Error on the field "mfaId", and so is the same
// method twice (the mfaId then stays usable); a database failure is
// wrapped.
func (s *Service) FinishMFA(ctx context.Context, c *db.Collection, rec db.Record, mfaID, method string) error {
	bad := func(msg string) error {
		return apperr.InvalidFields(msg, map[string]apperr.FieldError{"mfaId": {Code: "invalid_mfa", Message: msg}})
	}
	o := c.AuthOpts()
	if o == nil {
		return bad(errMFA)
	}
	m, found, err := s.db.FindMFA(ctx, mfaID, c.ID, s.now().Add(-time.Duration(o.MFA.Duration)*time.Second))
	if err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	if !found || m.RecordRef != rec.ID() {
		return bad(errMFA)
	}
	if m.Method == method {
		return bad("the second sign-in method must differ from the first (" + method + ")")
	}
	used, err := s.db.DeleteMFA(ctx, mfaID)
	if err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	if !used { // a concurrent sign-in used it first
		return bad(errMFA)
	}
	return nil
}
