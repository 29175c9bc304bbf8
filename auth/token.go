package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/bcrypt"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/ratelimit"
)

// secretParam is the _params key of the global signing secret.
const secretParam = "jwt_secret"

// DefaultTokenDuration is how long an issued token is valid unless
// Service.TokenDuration says otherwise.
const DefaultTokenDuration = 7 * 24 * time.Hour

// The "type" claims: sign-in tokens, and the short-lived file tokens that
// ?token= carries to download protected files.
const (
	tokenTypeAuth        = "auth"
	tokenTypeFile        = "file"
	tokenTypeImpersonate = "impersonate" // accepted as a sign-in token, never refreshed
)

// FileTokenDuration is how long a file token is valid.
const FileTokenDuration = 3 * time.Minute

// errInvalidToken is the one client-facing message for every token that is
// malformed, tampered with, expired or revoked.
const errInvalidToken = "invalid or expired token"

// Service issues and validates record tokens and checks passwords.
//
// Tokens are JWTs (HS256) with the claims {id, collectionId, type, exp}. Each
// is signed with a key derived from the global secret (stored in _params),
// the record's tokenKey and its password hash, so changing either of the
// latter revokes every token of the record without a revocation list.
//
// go-pkgz/auth's token.Service is not used for this: its Claims type fixes
// the payload shape (user/aud/jti instead of id/collectionId/type), its
// SecretReader gets only the audience and no context (so the per-record key
// would need a database read outside the request context), and its Parse
// skips expiry checks. golang-jwt/jwt/v5 (the library go-pkgz/auth wraps) is
// used directly instead.
type Service struct {
	db     *db.DB
	secret []byte

	// TokenDuration, when not zero, is the lifetime of every issued auth
	// token; zero means each collection's authToken.duration (default
	// DefaultTokenDuration). Set it before the service is used.
	TokenDuration time.Duration

	// SignInLimits bound failed password sign-ins per identity and per
	// client IP (zero fields: ratelimit's defaults). Set it before the
	// service is used; see SignInAllowed.
	SignInLimits ratelimit.SignInLimits

	// ActionDurations are the lifetimes of emailed tokens (zero fields:
	// the defaults). Set it before the service is used.
	ActionDurations ActionDurations

	// MailRequestLimits bound the emails of the auth flows (verification,
	// password reset, email change) per email address or record and per
	// client IP, every request counted (zero fields: ratelimit's sign-in
	// defaults, 5 per minute per identity and 20 per IP). Set it before
	// the service is used; see MailRequestAllowed.
	MailRequestLimits ratelimit.SignInLimits

	// Now, when set, is the clock of one-time passwords and multi-factor
	// sign-ins (tests move it forward); nil is time.Now.
	Now func() time.Time

	signIn         func() *ratelimit.SignIn // the guard, made on first use
	mailRequests   func() *ratelimit.SignIn // the budget of email requests, made on first use
	passwordChecks atomic.Int64             // hashes compared (PasswordChecks)

	// dummyHash is a throwaway bcrypt hash, computed on first use (not at
	// start: it costs a bcrypt round), so that CheckPassword costs the same
	// whether or not the record exists.
	dummyHash func() []byte
}

// claims is the JWT payload of a record token.
type claims struct {
	RecordID     string `json:"id"`
	CollectionID string `json:"collectionId"`
	Type         string `json:"type"`
	jwt.RegisteredClaims
}

// New returns the auth service of d, creating the global signing secret on
// first use. It fails when the secret cannot be read or stored.
func New(ctx context.Context, d *db.DB) (*Service, error) {
	secret, ok, err := d.Param(ctx, secretParam)
	if err != nil {
		return nil, fmt.Errorf("auth: read signing secret: %w", err)
	}
	if !ok || len(secret) < 32 {
		secret = make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return nil, fmt.Errorf("auth: generate signing secret: %w", err)
		}
		if err := d.SetParam(ctx, secretParam, secret); err != nil {
			return nil, fmt.Errorf("auth: store signing secret: %w", err)
		}
	}
	dummy := sync.OnceValue(func() []byte {
		// GenerateFromPassword fails only for passwords over 72 bytes.
		h, _ := bcrypt.GenerateFromPassword([]byte("monobase dummy password"), bcrypt.DefaultCost)
		return h
	})
	s := &Service{db: d, secret: secret, dummyHash: dummy}
	s.signIn = sync.OnceValue(func() *ratelimit.SignIn { return ratelimit.NewSignIn(s.SignInLimits, nil) })
	s.mailRequests = sync.OnceValue(func() *ratelimit.SignIn { return ratelimit.NewSignIn(s.MailRequestLimits, nil) })
	return s, nil
}

// signingKey derives the HMAC key of one record's tokens.
func (s *Service) signingKey(c *db.Collection, rec db.Record) []byte {
	tokenKey, _ := rec["tokenKey"].(string)
	password, _ := rec["password"].(string)
	mac := hmac.New(sha256.New, s.secret)
	for _, part := range []string{c.ID, rec.ID(), tokenKey, password} {
		mac.Write([]byte(part))
		mac.Write([]byte{0})
	}
	return mac.Sum(nil)
}

// tokenDuration is the lifetime of c's auth tokens: Service.TokenDuration
// when set, else the collection's authToken.duration.
func (s *Service) tokenDuration(c *db.Collection) time.Duration {
	if s.TokenDuration != 0 {
		return s.TokenDuration
	}
	if o := c.AuthOpts(); o != nil {
		return time.Duration(o.AuthToken.Duration) * time.Second
	}
	return DefaultTokenDuration
}

// IssueToken returns a signed token for rec of the auth collection c. It
// fails when c is not an auth collection or rec has no id.
func (s *Service) IssueToken(c *db.Collection, rec db.Record) (string, error) {
	return s.issue(c, rec, tokenTypeAuth, s.tokenDuration(c))
}

// IssueFileToken returns a short-lived token (FileTokenDuration) that lets
// rec download protected files through ?token=; it is not accepted as a
// sign-in token.
func (s *Service) IssueFileToken(c *db.Collection, rec db.Record) (string, error) {
	return s.issue(c, rec, tokenTypeFile, FileTokenDuration)
}

// IssueImpersonateToken returns a token for rec of the auth collection c,
// valid for ttl (zero: the collection's authToken.duration), that signs in
// like an auth token but that <user>AuthRefresh refuses (Viewer.Impersonated).
// It fails when c is not an auth collection or rec has no id.
func (s *Service) IssueImpersonateToken(c *db.Collection, rec db.Record, ttl time.Duration) (string, error) {
	if ttl <= 0 && c != nil {
		ttl = s.tokenDuration(c)
	}
	return s.issue(c, rec, tokenTypeImpersonate, ttl)
}

func (s *Service) issue(c *db.Collection, rec db.Record, typ string, ttl time.Duration) (string, error) {
	if c == nil || !c.IsAuth() {
		return "", errors.New("auth: issue token: not an auth collection")
	}
	if rec.ID() == "" {
		return "", errors.New("auth: issue token: record without id")
	}
	now := time.Now()
	cl := claims{
		RecordID:     rec.ID(),
		CollectionID: c.ID,
		Type:         typ,
		RegisteredClaims: jwt.RegisteredClaims{
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
			IssuedAt:  jwt.NewNumericDate(now),
		},
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, cl).SignedString(s.signingKey(c, rec))
	if err != nil {
		return "", fmt.Errorf("auth: sign token: %w", err)
	}
	return tok, nil
}

// internalError marks a key lookup failure that is the server's fault (the
// database), not the token's.
type internalError struct{ err error }

func (e internalError) Error() string { return e.err.Error() }
func (e internalError) Unwrap() error { return e.err }

// StripBearer returns the token of an Authorization header value: the part
// after "Bearer " (any case), or the trimmed value itself for a bare token.
func StripBearer(header string) string {
	h := strings.TrimSpace(header)
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return h
}

// Authenticate validates token ("Bearer x" or a bare "x") and returns ctx
// carrying its viewer. A malformed, tampered, expired or revoked token, or
// one whose record no longer exists, is apperr.Unauthenticated; a database
// failure is apperr.Internal.
func (s *Service) Authenticate(ctx context.Context, token string) (context.Context, error) {
	v, err := s.viewer(ctx, StripBearer(token), tokenTypeAuth)
	if err != nil {
		return ctx, err
	}
	return WithViewer(ctx, v), nil
}

// AuthenticateFileToken validates a file token (from IssueFileToken) and
// returns ctx carrying its viewer; errors as Authenticate. Sign-in tokens
// are refused here, and file tokens are refused by Authenticate.
func (s *Service) AuthenticateFileToken(ctx context.Context, token string) (context.Context, error) {
	v, err := s.viewer(ctx, token, tokenTypeFile)
	if err != nil {
		return ctx, err
	}
	return WithViewer(ctx, v), nil
}

func (s *Service) viewer(ctx context.Context, token, wantType string) (*Viewer, error) {
	if token == "" {
		return nil, apperr.New(apperr.Unauthenticated, errInvalidToken)
	}
	var (
		coll *db.Collection
		rec  db.Record
	)
	keyFunc := func(t *jwt.Token) (any, error) {
		cl, ok := t.Claims.(*claims)
		if ok && wantType == tokenTypeAuth && cl.Type == tokenTypeImpersonate {
			ok = true // an impersonation token signs in as an auth token does
		} else if ok && cl.Type != wantType {
			ok = false
		}
		if !ok || cl.RecordID == "" || cl.CollectionID == "" {
			return nil, errors.New("unexpected claims")
		}
		c, err := s.db.Collection(cl.CollectionID)
		if err != nil {
			if apperr.Is(err, apperr.NotFound) {
				return nil, fmt.Errorf("collection %q: %w", cl.CollectionID, err)
			}
			return nil, internalError{fmt.Errorf("load collection: %w", err)}
		}
		if !c.IsAuth() || c.ID != cl.CollectionID {
			return nil, errors.New("not an auth collection id")
		}
		recs, err := s.db.FindByIDs(ctx, c, []string{cl.RecordID})
		if err != nil {
			return nil, internalError{fmt.Errorf("load record: %w", err)}
		}
		if len(recs) != 1 {
			return nil, errors.New("record not found")
		}
		coll, rec = c, recs[0]
		return s.signingKey(c, rec), nil
	}
	var cl claims
	_, err := jwt.ParseWithClaims(token, &cl, keyFunc,
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
	)
	if err != nil {
		var ie internalError
		if errors.As(err, &ie) {
			return nil, apperr.Wrap(ie.err, "internal server error")
		}
		return nil, &apperr.Error{Code: apperr.Unauthenticated, Message: errInvalidToken, Err: err}
	}
	return &Viewer{Collection: coll, Record: rec, Superuser: coll.Name == db.SuperusersCollection,
		Impersonated: cl.Type == tokenTypeImpersonate}, nil
}

// CheckPassword reports whether password matches rec's bcrypt hash. A nil
// record or one without a hash is compared against a dummy hash, so the time
// taken does not reveal whether the record exists.
func (s *Service) CheckPassword(rec db.Record, password string) bool {
	s.passwordChecks.Add(1)
	hash, _ := rec["password"].(string)
	if hash == "" {
		_ = bcrypt.CompareHashAndPassword(s.dummyHash(), []byte(password))
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
}

// DeriveKey returns a 32-byte key for purpose, derived from the server's
// signing secret, for state that other packages sign (the OAuth2
// handshake cookie). Different purposes give unrelated keys.
func (s *Service) DeriveKey(purpose string) []byte {
	mac := hmac.New(sha256.New, s.secret)
	mac.Write([]byte("derive\x00" + purpose))
	return mac.Sum(nil)
}
