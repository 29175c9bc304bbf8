// Package gqlerr is the one presenter of Monobase's errors to GraphQL
// clients: it maps an apperr.Error to a GraphQL error with
// extensions.code (and fields, retryAfter, mfaId, position), hides internal errors
// and logs them once. Both GraphQL servers use it, the application engine
// (dynschema) and the admin API (graph); it is its own small package so
// that apperr, and everything below the engine, stays free of GraphQL.
package gqlerr

import (
	"context"
	"errors"
	"log/slog"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/monobase/monobase/apperr"
)

// Present turns any resolver error into a GraphQL error with
// extensions.code (and extensions.fields for bad input). Internal errors are
// logged once and shown only as "internal server error".
func Present(ctx context.Context, err error) *gqlerror.Error {
	var gqlErr *gqlerror.Error
	if errors.As(err, &gqlErr) && apperr.As(err) == nil {
		// Already a GraphQL error (parse/validation); keep it, add the path.
		if gqlErr.Path == nil {
			gqlErr.Path = graphql.GetPath(ctx)
		}
		return gqlErr
	}
	e := apperr.As(err)
	if (e == nil || e.Code == apperr.Internal) && errors.Is(err, context.DeadlineExceeded) {
		e = &apperr.Error{Code: apperr.Timeout, Message: "the operation ran longer than its time limit", Err: err}
	}
	if e == nil {
		e = apperr.Wrap(err, "internal server error")
	}
	out := &gqlerror.Error{
		Err:        e,
		Message:    e.Message,
		Path:       graphql.GetPath(ctx),
		Extensions: map[string]any{"code": string(e.Code)},
	}
	if e.Code == apperr.Internal && errors.Is(err, context.Canceled) && ctx.Err() != nil {
		// The client went away; nothing failed on our side.
		out.Message = "request cancelled"
	} else if e.Code == apperr.Internal {
		slog.ErrorContext(ctx, "internal error", "path", out.Path.String(), "err", e.Error())
		out.Message = "internal server error"
	}
	if len(e.Fields) > 0 {
		out.Extensions["fields"] = e.Fields
	}
	if e.RetryAfter > 0 && e.Code == apperr.RateLimited {
		out.Extensions["retryAfter"] = apperr.RetryAfterSeconds(e.RetryAfter)
	}
	if e.MFAID != "" && e.Code == apperr.MFARequired {
		out.Extensions["mfaId"] = e.MFAID
	}
	if e.Pos > 0 && e.Code == apperr.Invalid {
		out.Extensions["position"] = e.Pos // 1-based, in the filter/rule text
	}
	return out
}
