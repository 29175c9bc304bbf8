package dynschema

import (
	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/querycost"
	"github.com/monobase/monobase/transport"
)

// limitSettingsOf returns the settings group limits as l (defaults filled
// in) and the transport's limits tl set them.
func limitSettingsOf(l Limits, tl transport.Limits) querycost.LimitSettings {
	return querycost.LimitSettings{MaxDepth: l.Query.MaxDepth, MaxComplexity: l.Query.MaxComplexity, MaxLimit: l.MaxLimit,
		MaxBodySize: tl.MaxBodyBytes, MaxBatch: tl.MaxBatchOperations, Introspection: true}
}

// LimitSettings returns the group in force.
func (e *Engine) LimitSettings() querycost.LimitSettings { return *e.live.Load() }

// SetLimits puts s in force at once, for the operations and requests that
// follow: the depth and complexity checks, the largest limit/first/last,
// the body size, the batch size and anonymous introspection. Operations already running
// keep the limits they were checked under. Invalid settings are refused
// with Validate's error and change nothing.
func (e *Engine) SetLimits(s querycost.LimitSettings) error {
	if err := s.Validate(); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	q := e.limits.Query
	q.MaxDepth, q.MaxComplexity = s.MaxDepth, s.MaxComplexity
	e.qlimits.Set(q)
	e.limitsGen.Add(1) // after the Set: prepared queries are measured again (prepared.go)
	if e.tr != nil {
		e.tr.SetLimits(s.MaxBodySize, s.MaxBatch)
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
