package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/ratelimit"
)

// NewDevice records the device of a sign-in of rec of the auth collection
// c (a keyed hash of userAgent and the client IP of ctx, see
// ratelimit.ClientIP; neither is stored) and reports whether it is new to
// a record that signed in before, so that an alert is due. The first
// sign-in of a record is recorded without an alert. It fails when the
// database does.
func (s *Service) NewDevice(ctx context.Context, c *db.Collection, rec db.Record, userAgent string) (bool, error) {
	ip, _ := ratelimit.ClientIP(ctx)
	mac := hmac.New(sha256.New, s.secret)
	for _, part := range []string{"origin", userAgent, ip} {
		mac.Write([]byte(part))
		mac.Write([]byte{0})
	}
	isNew, err := s.db.RememberAuthOrigin(ctx, c.ID, rec.ID(), hex.EncodeToString(mac.Sum(nil)[:16]), s.now())
	if err != nil {
		return false, fmt.Errorf("auth: %w", err)
	}
	return isNew, nil
}
