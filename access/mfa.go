package access

import (
	"context"
	"strings"

	"github.com/monobase/monobase/auth"
	"github.com/monobase/monobase/db"
)

// NeedsMFA reports whether a sign-in of rec to the auth collection c needs
// a second method: mfa.enabled, and mfa.rule, when set, matches rec with
// rec as @request.auth (as CheckAuthRule evaluates authRule). It returns
// false for a collection that is not AUTH; a rule that fails to compile or
// a database failure is an error.
func (r *Request) NeedsMFA(ctx context.Context, c *db.Collection, rec db.Record) (bool, error) {
	o := c.AuthOpts()
	if o == nil || !o.MFA.Enabled {
		return false, nil
	}
	if strings.TrimSpace(o.MFA.Rule) == "" {
		return true, nil
	}
	e, err := r.rules.Parse(o.MFA.Rule)
	if err != nil {
		return false, err
	}
	as := r.As(&auth.Viewer{Collection: c, Record: rec, Superuser: c.Name == db.SuperusersCollection})
	return as.matches(ctx, c, Auth, e, rec.ID(), nil)
}
