package auth

import (
	"context"

	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/ratelimit"
)

// Viewer is who makes a request. A nil *Viewer is anonymous.
type Viewer struct {
	Collection *db.Collection // the auth collection of Record ("_superusers" for superusers)
	Record     db.Record
	Superuser  bool
	// Impersonated is true for an impersonation token (the admin API's
	// impersonate), which <user>AuthRefresh does not renew.
	Impersonated bool
}

// ID returns the viewer's record id, "" when anonymous.
func (v *Viewer) ID() string {
	if v == nil {
		return ""
	}
	return v.Record.ID()
}

// RateLimitCaller returns who v is for the rate limit rules: superusers
// are exempt, other viewers signed in (with budgets of their own record),
// nil a guest (budgets per client IP).
func (v *Viewer) RateLimitCaller() ratelimit.Caller {
	switch {
	case v == nil:
		return ratelimit.Guest
	case v.Superuser:
		return ratelimit.Exempt
	}
	var coll string
	if v.Collection != nil {
		coll = v.Collection.ID
	}
	return ratelimit.SignedIn(coll, v.Record.ID())
}

type viewerKey struct{}

// WithViewer returns ctx carrying v.
func WithViewer(ctx context.Context, v *Viewer) context.Context {
	return context.WithValue(ctx, viewerKey{}, v)
}

// ViewerFrom returns the viewer of ctx, nil when anonymous.
func ViewerFrom(ctx context.Context) *Viewer {
	v, _ := ctx.Value(viewerKey{}).(*Viewer)
	return v
}

// IsSuperuser reports whether ctx's viewer is a superuser.
func IsSuperuser(ctx context.Context) bool {
	v := ViewerFrom(ctx)
	return v != nil && v.Superuser
}
