package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/db"
)

// Action names what an emailed token confirms.
type Action string

// The actions of the email flows (docs/api.md "Auth collections").
const (
	ActionVerification  Action = "verification"
	ActionPasswordReset Action = "passwordReset"
	ActionEmailChange   Action = "emailChange"
)

// The default lifetimes of emailed tokens (PocketBase's).
const (
	DefaultVerificationTokenDuration  = 3 * 24 * time.Hour
	DefaultPasswordResetTokenDuration = 30 * time.Minute
	DefaultEmailChangeTokenDuration   = 30 * time.Minute
)

// errActionToken is the one client-facing message for an emailed token that
// is malformed, forged, expired, already used or of another flow.
const errActionToken = "invalid or expired token: ask for a new email"

// actionClaims is the JWT payload of an emailed token.
type actionClaims struct {
	claims
	NewEmail string `json:"newEmail,omitempty"`
}

// ActionDurations are the lifetimes of emailed tokens; zero fields take the
// defaults (a negative one issues tokens that are already expired, for
// tests).
type ActionDurations struct {
	Verification, PasswordReset, EmailChange time.Duration
}

func (s *Service) actionTTL(a Action) time.Duration {
	d, def := s.ActionDurations.PasswordReset, DefaultPasswordResetTokenDuration
	switch a {
	case ActionVerification:
		d, def = s.ActionDurations.Verification, DefaultVerificationTokenDuration
	case ActionEmailChange:
		d, def = s.ActionDurations.EmailChange, DefaultEmailChangeTokenDuration
	}
	if d == 0 {
		return def
	}
	return d
}

// actionKey derives the HMAC key of rec's emailed tokens for action. It
// covers what the confirmation changes (verified, the password hash, the
// email, tokenKey), so a token works once: after its confirmation the key
// differs and the token no longer validates.
func (s *Service) actionKey(c *db.Collection, rec db.Record, a Action) []byte {
	str := func(k string) string { v, _ := rec[k].(string); return v }
	verified, _ := rec["verified"].(bool)
	mac := hmac.New(sha256.New, s.secret)
	for _, part := range []string{"action", string(a), c.ID, rec.ID(), str("tokenKey"), str("password"), str("email"), strconv.FormatBool(verified)} {
		mac.Write([]byte(part))
		mac.Write([]byte{0})
	}
	return mac.Sum(nil)
}

// IssueActionToken returns a single-use token for action on rec of the
// auth collection c; newEmail is the address an email change confirms. It
// fails when c is not an auth collection or rec has no id.
func (s *Service) IssueActionToken(c *db.Collection, rec db.Record, a Action, newEmail string) (string, error) {
	if c == nil || !c.IsAuth() || rec.ID() == "" {
		return "", errors.New("auth: issue action token: not a record of an auth collection")
	}
	now := time.Now()
	cl := actionClaims{claims: claims{RecordID: rec.ID(), CollectionID: c.ID, Type: string(a), RegisteredClaims: jwt.RegisteredClaims{
		ExpiresAt: jwt.NewNumericDate(now.Add(s.actionTTL(a))),
		IssuedAt:  jwt.NewNumericDate(now),
	}}, NewEmail: newEmail}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, cl).SignedString(s.actionKey(c, rec, a))
	if err != nil {
		return "", fmt.Errorf("auth: sign action token: %w", err)
	}
	return tok, nil
}

// ParseActionToken validates an emailed token for action on c, reading the
// record as the database at ctx sees it (pass a transaction's context to
// confirm in it). It returns the record and the claimed new email; a
// malformed, forged, expired or used token, or one of another flow or
// collection, is a BAD_USER_INPUT *apperr.Error on the field "token"; a
// database failure is wrapped.
func (s *Service) ParseActionToken(ctx context.Context, c *db.Collection, token string, a Action) (db.Record, string, error) {
	var rec db.Record
	keyFunc := func(t *jwt.Token) (any, error) {
		cl, ok := t.Claims.(*actionClaims)
		if !ok || cl.Type != string(a) || cl.CollectionID != c.ID || cl.RecordID == "" {
			return nil, errors.New("unexpected claims")
		}
		recs, err := s.db.FindByIDs(ctx, c, []string{cl.RecordID})
		if err != nil {
			return nil, internalError{fmt.Errorf("load record: %w", err)}
		}
		if len(recs) != 1 {
			return nil, errors.New("record not found")
		}
		rec = recs[0]
		return s.actionKey(c, rec, a), nil
	}
	var cl actionClaims
	_, err := jwt.ParseWithClaims(token, &cl, keyFunc,
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
	)
	if err != nil {
		var ie internalError
		if errors.As(err, &ie) {
			return nil, "", apperr.Wrap(ie.err, "internal server error")
		}
		return nil, "", &apperr.Error{Code: apperr.Invalid, Message: errActionToken, Err: err,
			Fields: map[string]apperr.FieldError{"token": {Code: "invalid_token", Message: errActionToken}}}
	}
	return rec, cl.NewEmail, nil
}

// NewTokenKey returns a fresh random tokenKey (50 letters and digits);
// storing it revokes every token of the record.
func NewTokenKey() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	var b [50]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:])
}

// MailRequestAllowed returns nil and charges one request when an email of
// an auth flow may be sent for identity (an email address or a record id)
// of c from the client IP in ctx; over a budget of MailRequestLimits it
// returns a RATE_LIMITED *apperr.Error, whether or not the identity exists.
func (s *Service) MailRequestAllowed(ctx context.Context, c *db.Collection, identity string) error {
	g := s.mailRequests()
	if err := g.Check(ctx, c.ID, identity); err != nil {
		var e *apperr.Error
		if errors.As(err, &e) {
			cp := *e
			cp.Message = "too many email requests: try again later (extensions.retryAfter says when)"
			return &cp
		}
		return err
	}
	g.Failed(ctx, c.ID, identity)
	return nil
}
