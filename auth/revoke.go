package auth

import (
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/monobase/monobase/db"
)

// TokenRevoked reports whether the tokens validated against authed (the
// auth record as it was when they were checked) no longer validate against
// now, its current state: the parts of the signing key that change with
// the record (tokenKey and the password hash, see signingKey) differ, or
// the record is gone (now nil). Long-lived connections use it to drop a
// viewer whose token was revoked without checking the token again.
func TokenRevoked(authed, now db.Record) bool {
	if now == nil || authed.ID() != now.ID() {
		return true
	}
	for _, k := range []string{"tokenKey", "password"} {
		a, _ := authed[k].(string)
		b, _ := now[k].(string)
		if a != b {
			return true
		}
	}
	return false
}

// TokenExpiry returns the expiry (exp claim) of a token that Authenticate
// accepted; ok is false when the token carries none or cannot be read. It
// does not verify the signature: validate the token first.
func TokenExpiry(token string) (exp time.Time, ok bool) {
	var cl claims
	if _, _, err := jwt.NewParser().ParseUnverified(StripBearer(token), &cl); err != nil || cl.ExpiresAt == nil {
		return time.Time{}, false
	}
	return cl.ExpiresAt.Time, true
}
