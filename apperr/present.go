package apperr

import (
	"context"
	"errors"
	"log/slog"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Presenter turns any resolver error into a GraphQL error with
// extensions.code (and extensions.fields for bad input). Internal errors are
// logged once and shown only as "internal server error".
func Presenter(ctx context.Context, err error) *gqlerror.Error {
	var gqlErr *gqlerror.Error
	if errors.As(err, &gqlErr) && As(err) == nil {
		// Already a GraphQL error (parse/validation); keep it, add the path.
		if gqlErr.Path == nil {
			gqlErr.Path = graphql.GetPath(ctx)
		}
		return gqlErr
	}
	e := As(err)
	if (e == nil || e.Code == Internal) && errors.Is(err, context.DeadlineExceeded) {
		e = &Error{Code: Timeout, Message: "the operation ran longer than its time limit", Err: err}
	}
	if e == nil {
		e = Wrap(err, "internal server error")
	}
	out := &gqlerror.Error{
		Err:        e,
		Message:    e.Message,
		Path:       graphql.GetPath(ctx),
		Extensions: map[string]any{"code": string(e.Code)},
	}
	if e.Code == Internal && errors.Is(err, context.Canceled) && ctx.Err() != nil {
		// The client went away; nothing failed on our side.
		out.Message = "request cancelled"
	} else if e.Code == Internal {
		slog.ErrorContext(ctx, "internal error", "path", out.Path.String(), "err", e.Error())
		out.Message = "internal server error"
	}
	if len(e.Fields) > 0 {
		out.Extensions["fields"] = e.Fields
	}
	if e.RetryAfter > 0 && e.Code == RateLimited {
		out.Extensions["retryAfter"] = RetryAfterSeconds(e.RetryAfter)
	}
	if e.Pos > 0 && e.Code == Invalid {
		out.Extensions["position"] = e.Pos // 1-based, in the filter/rule text
	}
	return out
}
