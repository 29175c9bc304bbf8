package gqlerr

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/monobase/monobase/apperr"
)

func TestPresent(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		err     error
		message string
		ext     map[string]any
	}{
		{"a code and its message are shown", apperr.New(apperr.NotFound, "no post %q", "x"),
			`no post "x"`, map[string]any{"code": "NOT_FOUND"}},
		{"bad input carries its fields", apperr.InvalidFields("invalid input", map[string]apperr.FieldError{"title": {Code: "required", Message: "required"}}),
			"invalid input", map[string]any{"code": "BAD_USER_INPUT", "fields": map[string]apperr.FieldError{"title": {Code: "required", Message: "required"}}}},
		{"a position in a filter", &apperr.Error{Code: apperr.Invalid, Message: "bad filter", Pos: 7},
			"bad filter", map[string]any{"code": "BAD_USER_INPUT", "position": 7}},
		{"a rate limit says when to retry", apperr.Limited(1500*time.Millisecond, "slow down"),
			"slow down", map[string]any{"code": "RATE_LIMITED", "retryAfter": int64(2)}},
		{"a second sign-in method is required, with the mfaId", apperr.NeedMFA("mfa123"),
			apperr.NeedMFA("").Message, map[string]any{"code": "MFA_REQUIRED", "mfaId": "mfa123"}},
		{"a plain error is internal and hidden", errors.New("disk on fire"),
			"internal server error", map[string]any{"code": "INTERNAL_SERVER_ERROR"}},
		{"a deadline is a timeout", fmt.Errorf("query: %w", context.DeadlineExceeded),
			"the operation ran longer than its time limit", map[string]any{"code": "TIMEOUT"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Present(ctx, tt.err)
			if got.Message != tt.message {
				t.Errorf("message = %q, want %q", got.Message, tt.message)
			}
			if fmt.Sprint(got.Extensions) != fmt.Sprint(tt.ext) {
				t.Errorf("extensions = %v, want %v", got.Extensions, tt.ext)
			}
		})
	}

	t.Run("a GraphQL error is kept as it is", func(t *testing.T) {
		in := &gqlerror.Error{Message: "Cannot query field \"x\""}
		if got := Present(ctx, in); got != in {
			t.Errorf("got %v, want the same error", got)
		}
	})
}
