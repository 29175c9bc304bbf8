package dynschema

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
// a superuser may change while the server runs (Engine.SetLimits). The
// other limits (query bytes, tokens, fields, aliases, timeouts, sockets)
// stay those of Limits.
type LimitSettings struct {
	// MaxDepth bounds the selection depth, introspection fields not
	// counted (querycost.Limits.MaxDepth; default 12).
	MaxDepth int `json:"maxDepth"`
	// MaxComplexity bounds an operation's complexity; introspection costs
	// 1,000 a field (querycost.Limits.MaxComplexity; default 5,000).
	MaxComplexity int `json:"maxComplexity"`
	// MaxLimit is the largest limit, first and last (default 1,000).
	MaxLimit int `json:"maxLimit"`
	// MaxBodySize is the largest request body, uploads included
	// (transport.Limits.MaxBodyBytes; default 32 MiB); a JSON or GET
	// request is also held to 8 MiB.
	MaxBodySize int64 `json:"maxBodySize"`
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
)

// DefaultLimitSettings returns the group with the defaults of Limits.
func DefaultLimitSettings() LimitSettings { return limitSettingsOf(Limits{}.withDefaults(), 32<<20) }

// limitSettingsOf returns the group as l (defaults filled in) and the
// body size of the transport set it.
func limitSettingsOf(l Limits, maxBody int64) LimitSettings {
	return LimitSettings{MaxDepth: l.Query.MaxDepth, MaxComplexity: l.Query.MaxComplexity, MaxLimit: l.MaxLimit,
		MaxBodySize: maxBody, Introspection: true}
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

// LimitSettings returns the group in force.
func (e *Engine) LimitSettings() LimitSettings { return *e.live.Load() }

// SetLimits puts s in force at once, for the operations and requests that
// follow: the depth and complexity checks, the largest limit/first/last,
// the body size and anonymous introspection. Operations already running
// keep the limits they were checked under. Invalid settings are refused
// with Validate's error and change nothing.
func (e *Engine) SetLimits(s LimitSettings) error {
	if err := s.Validate(); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	q := e.limits.Query
	q.MaxDepth, q.MaxComplexity = s.MaxDepth, s.MaxComplexity
	e.qlimits.Set(q)
	if e.tr != nil {
		e.tr.SetMaxBodyBytes(s.MaxBodySize)
	}
	e.live.Store(&s)
	return nil
}

// maxLimit returns the largest limit, first and last in force.
func (e *Engine) maxLimit() int { return e.live.Load().MaxLimit }

// introspectionRefused reports whether the operation may not introspect:
// anonymous with settings.limits.introspection off.
func (x *operation) introspectionRefused() bool {
	return x.viewer == nil && !x.v.eng.live.Load().Introspection
}

// errIntrospectionOff returns the error of a refused introspection field.
func errIntrospectionOff() error {
	return apperr.New(apperr.Forbidden,
		"introspection is off for anonymous callers (settings.limits.introspection): sign in to introspect the schema")
}
