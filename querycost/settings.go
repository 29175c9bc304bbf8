package querycost

import (
	"context"
	"errors"
	"fmt"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/db"
)

// limitsParam is the _params key of the settings group limits.
const limitsParam = "settings.limits"

// LimitSettings are the settings group limits: the limits of /graphql that
// a superuser may change while the server runs (dynschema's
// Engine.SetLimits applies them). The other limits (query bytes, tokens,
// fields, aliases, timeouts, sockets) stay those of the Go configuration
// (Limits, dynschema.Limits, transport.Limits).
type LimitSettings struct {
	// MaxDepth bounds the selection depth, introspection fields not
	// counted (Limits.MaxDepth; default 12).
	MaxDepth int `json:"maxDepth"`
	// MaxComplexity bounds an operation's complexity; introspection costs
	// 1,000 a field (Limits.MaxComplexity; default 5,000).
	MaxComplexity int `json:"maxComplexity"`
	// MaxLimit is the largest limit, first and last
	// (dynschema.Limits.MaxLimit; default 1,000).
	MaxLimit int `json:"maxLimit"`
	// MaxBodySize is the largest request body, uploads included
	// (transport.Limits.MaxBodyBytes; default 32 MiB); a JSON or GET
	// request is also held to 8 MiB.
	MaxBodySize int64 `json:"maxBodySize"`
	// MaxBatch bounds the operations of one batched request
	// (transport.Limits.MaxBatchOperations; default 20).
	MaxBatch int `json:"maxBatch"`
	// Introspection off refuses __schema and __type to anonymous callers;
	// signed-in records and superusers may still introspect.
	Introspection bool `json:"introspection"`
}

// Bounds of LimitSettings.Validate.
const (
	MaxDepthLimit      = 100
	MaxComplexityLimit = 10_000_000
	MaxLimitLimit      = 100_000
	MinBodySize        = 1 << 10 // 1 KiB
	MaxBodySizeLimit   = 1 << 30 // 1 GiB
	MaxBatchLimit      = 1000
)

// DefaultLimitSettings returns the group before anything is saved: the
// defaults of Limits, dynschema.Limits and transport.Limits (dynschema's
// tests hold them in step), introspection on.
func DefaultLimitSettings() LimitSettings {
	l := Limits{}.WithDefaults()
	return LimitSettings{MaxDepth: l.MaxDepth, MaxComplexity: l.MaxComplexity, MaxLimit: 1000, MaxBodySize: 32 << 20, MaxBatch: 20, Introspection: true}
}

// Validate returns a BAD_USER_INPUT *apperr.Error naming each invalid
// field (limits.maxDepth, ...), or nil.
func (s LimitSettings) Validate() error {
	var fe apperr.FieldErrors
	if s.MaxDepth < 1 || s.MaxDepth > MaxDepthLimit {
		fe.Add("limits.maxDepth", "invalid", "must be between 1 and %d", MaxDepthLimit)
	}
	if s.MaxComplexity < 1 || s.MaxComplexity > MaxComplexityLimit {
		fe.Add("limits.maxComplexity", "invalid", "must be between 1 and %d", MaxComplexityLimit)
	}
	if s.MaxLimit < 1 || s.MaxLimit > MaxLimitLimit {
		fe.Add("limits.maxLimit", "invalid", "must be between 1 and %d", MaxLimitLimit)
	}
	if s.MaxBodySize < MinBodySize || s.MaxBodySize > MaxBodySizeLimit {
		fe.Add("limits.maxBodySize", "invalid", "must be between %d (1 KiB) and %d (1 GiB) bytes", MinBodySize, MaxBodySizeLimit)
	}
	if s.MaxBatch < 1 || s.MaxBatch > MaxBatchLimit {
		fe.Add("limits.maxBatch", "invalid", "must be between 1 and %d", MaxBatchLimit)
	}
	return fe.Err("invalid settings")
}

// ErrInvalidLimits is wrapped by LoadLimitSettings' error for stored
// settings that do not decode or are not valid (edited by hand, say).
var ErrInvalidLimits = errors.New("the stored settings.limits are not valid")

// LoadLimitSettings returns the stored group, def when it was never saved.
// It fails when _params cannot be read, and with ErrInvalidLimits (and
// def) when what is stored is not valid.
func LoadLimitSettings(ctx context.Context, d *db.DB, def LimitSettings) (LimitSettings, error) {
	s := def
	ok, err := d.ParamJSON(ctx, limitsParam, &s)
	if err != nil && !ok {
		return def, fmt.Errorf("load %s: %w", limitsParam, err)
	}
	if err != nil {
		return def, fmt.Errorf("%w: %v", ErrInvalidLimits, err)
	}
	if err := s.Validate(); err != nil {
		return def, fmt.Errorf("%w: %v", ErrInvalidLimits, err)
	}
	return s, nil
}

// SaveLimitSettings validates s and stores it. Invalid settings are
// Validate's BAD_USER_INPUT error; a storage failure is wrapped.
func SaveLimitSettings(ctx context.Context, d *db.DB, s LimitSettings) error {
	if err := s.Validate(); err != nil {
		return err
	}
	if err := d.SetParamJSON(ctx, limitsParam, s); err != nil {
		return fmt.Errorf("save %s: %w", limitsParam, err)
	}
	return nil
}
