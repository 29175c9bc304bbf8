package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/db"
)

// MaxOTPAttempts is how many codes may be tried against one one-time
// password; after that it is spent, and even the right code is refused.
const MaxOTPAttempts = 5

// maxOTPLifetime is the longest otp.duration (db validates it); codes
// older than that are purged whatever their collection.
const maxOTPLifetime = 24 * time.Hour

// errOTP is the one client-facing message for a one-time password that is
// unknown, expired, spent, already used, of another collection, or wrong.
const errOTP = "invalid or expired one-time password: ask for a new one"

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// otpHash is the stored form of code: an HMAC keyed with the global secret
// and bound to the OTP id. A salted fast hash is enough here: a code lives
// minutes, tries are bounded (MaxOTPAttempts), and whoever can read the
// database can read the signing secret too.
func (s *Service) otpHash(id, code string) string {
	mac := hmac.New(sha256.New, s.secret)
	for _, part := range []string{"otp", id, code} {
		mac.Write([]byte(part))
		mac.Write([]byte{0})
	}
	return hex.EncodeToString(mac.Sum(nil))
}

// RequestOTP stores a one-time password for rec of the auth collection c,
// sent to sentTo, and returns its id and code (otp.length digits). For a
// nil rec (an unknown email) it stores one all the same, which no code
// ever matches, so the answer and the later sign-in attempts look the
// same as for a known email. ctx may carry the caller's transaction. It
// fails when c is not an auth collection or the database fails.
func (s *Service) RequestOTP(ctx context.Context, c *db.Collection, rec db.Record, sentTo string) (otpID, code string, err error) {
	o := c.AuthOpts()
	if o == nil {
		return "", "", fmt.Errorf("auth: request otp: %s is not an auth collection", c.Name)
	}
	now := s.now()
	otpID, code = db.NewID(), randomDigits(o.OTP.Length)
	row := db.OTP{ID: otpID, CollectionRef: c.ID, Hash: s.otpHash(otpID, code), SentTo: sentTo, Created: now}
	if rec != nil {
		row.RecordRef = rec.ID()
	} else {
		// Nobody receives this code; a second random one keeps the hash
		// unguessable.
		row.Hash = s.otpHash(otpID, randomDigits(32))
	}
	if err := s.db.CreateOTP(ctx, row, now.Add(-maxOTPLifetime)); err != nil {
		return "", "", fmt.Errorf("auth: %w", err)
	}
	return otpID, code, nil
}

// CheckOTP spends one attempt on the one-time password otpID of c and,
// when code matches (compared in constant time) within otp.duration,
// deletes it and returns the id of its record. A wrong, expired, spent or
// used code, or an unknown otpID, is a BAD_USER_INPUT *apperr.Error on the
// field "password"; a database failure is wrapped. Call it outside the
// caller's transaction, so that a failed attempt stays counted.
func (s *Service) CheckOTP(ctx context.Context, c *db.Collection, otpID, code string) (recordID string, err error) {
	bad := apperr.InvalidFields(errOTP, map[string]apperr.FieldError{"password": {Code: "invalid_otp", Message: errOTP}})
	o := c.AuthOpts()
	if o == nil || otpID == "" {
		return "", bad
	}
	now := s.now()
	row, found, err := s.db.TryOTP(ctx, otpID, c.ID, now.Add(-time.Duration(o.OTP.Duration)*time.Second), MaxOTPAttempts)
	if err != nil {
		return "", fmt.Errorf("auth: %w", err)
	}
	if !found {
		return "", bad
	}
	if !hmac.Equal([]byte(row.Hash), []byte(s.otpHash(otpID, code))) || row.RecordRef == "" {
		if row.Attempts >= MaxOTPAttempts {
			if _, err := s.db.DeleteOTP(ctx, otpID); err != nil {
				return "", fmt.Errorf("auth: %w", err)
			}
		}
		return "", bad
	}
	used, err := s.db.DeleteOTP(ctx, otpID)
	if err != nil {
		return "", fmt.Errorf("auth: %w", err)
	}
	if !used { // a concurrent attempt used it first
		return "", bad
	}
	return row.RecordRef, nil
}

// randomDigits returns n decimal digits from crypto/rand, uniformly.
func randomDigits(n int) string {
	out := make([]byte, 0, n)
	buf := make([]byte, n+8)
	for len(out) < n {
		_, _ = rand.Read(buf) // never fails (crypto/rand panics instead)
		for _, b := range buf {
			if b >= 250 || len(out) == n {
				continue
			}
			out = append(out, '0'+b%10)
		}
	}
	return string(out)
}
