package graph

import (
	"context"
	"fmt"
	"time"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/graph/model"
)

// maxImpersonateDuration bounds impersonate's duration (seconds).
const maxImpersonateDuration = 365 * 24 * 3600

// impersonate issues a non-refreshable token for the record recordID of
// the auth collection collection (superusers only, as every admin field).
// A missing collection or record is NOT_FOUND; a collection that is not
// AUTH or a duration out of bounds is BAD_USER_INPUT.
func (r *Resolver) impersonate(ctx context.Context, collection, recordID string, duration *int) (*model.RecordAuth, error) {
	c, err := r.db.Collection(collection)
	if apperr.Is(err, apperr.NotFound) {
		return nil, apperr.New(apperr.NotFound, "collection %q not found", collection)
	}
	if err != nil {
		return nil, fmt.Errorf("load collection: %w", err)
	}
	if !c.IsAuth() {
		return nil, apperr.InvalidFields("not an auth collection", map[string]apperr.FieldError{
			"collection": {Code: "not_auth", Message: fmt.Sprintf("%s is not an AUTH collection", c.Name)}})
	}
	var ttl time.Duration // zero: the collection's authToken.duration
	if duration != nil {
		if *duration < 1 || *duration > maxImpersonateDuration {
			return nil, apperr.InvalidFields("invalid duration", map[string]apperr.FieldError{
				"duration": {Code: "out_of_range", Message: fmt.Sprintf("between 1 and %d seconds", maxImpersonateDuration)}})
		}
		ttl = time.Duration(*duration) * time.Second
	}
	recs, err := r.db.FindByIDs(ctx, c, []string{recordID})
	if err != nil {
		return nil, fmt.Errorf("find %s: %w", c.Name, err)
	}
	if len(recs) == 0 {
		return nil, apperr.New(apperr.NotFound, "%s record %q not found", c.Name, recordID)
	}
	token, err := r.auth.IssueImpersonateToken(c, recs[0], ttl)
	if err != nil {
		return nil, fmt.Errorf("issue impersonation token: %w", err)
	}
	rec := make(map[string]any, len(recs[0]))
	for k, v := range recs[0] {
		if k != "password" && k != "tokenKey" {
			rec[k] = v
		}
	}
	return &model.RecordAuth{Token: token, Record: rec}, nil
}
