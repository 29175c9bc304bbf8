package logs

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
)

// Handler is the server's slog.Handler: every record goes to the base
// handler (text or JSON on stderr) as before, and, while a Service is set,
// also to the logs:
//
//   - a record of ERROR or above logged with the context of a request
//     (gqlerr's "internal error", a handler's panic) adds its message and
//     attributes to that request's entry as data.error, and raises the
//     entry to its level: a superuser reads the cause in the logs while
//     the client only got "internal server error";
//   - any other record at or above the settings' minLevel becomes an entry
//     of its own, its attributes in data.
type Handler struct {
	base   slog.Handler
	svc    *atomic.Pointer[Service] // shared by the handlers WithAttrs and WithGroup derive
	attrs  []slog.Attr              // from WithAttrs, keys already prefixed by their groups
	prefix string                   // the open groups, "a.b."
}

// NewHandler returns a Handler over base, with no Service yet.
func NewHandler(base slog.Handler) *Handler {
	return &Handler{base: base, svc: new(atomic.Pointer[Service])}
}

// Base returns the handler h passes every record to.
func (h *Handler) Base() slog.Handler { return h.base }

// SetService makes records go to s too (nil: to base only). The handlers
// derived from h follow.
func (h *Handler) SetService(s *Service) { h.svc.Store(s) }

// Enabled reports whether base or the logs want a record of level.
func (h *Handler) Enabled(ctx context.Context, level slog.Level) bool {
	if h.base.Enabled(ctx, level) {
		return true
	}
	s := h.svc.Load()
	if s == nil {
		return false
	}
	set := s.settings.Load()
	return set.MaxDays > 0 && int(level) >= set.MinLevel
}

// Handle passes r to base when base wants it, and to the logs.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	var err error
	if h.base.Enabled(ctx, r.Level) {
		err = h.base.Handle(ctx, r)
	}
	s := h.svc.Load()
	if s == nil || s.closed.Load() {
		return err
	}
	set := s.settings.Load()
	if set.MaxDays <= 0 {
		return err
	}
	if rq := requestFrom(ctx); rq != nil && r.Level >= slog.LevelError {
		rq.addError(r.Level, h.text(r))
		return err
	}
	if int(r.Level) < set.MinLevel {
		return err
	}
	e := entry{record: true, created: r.Time, level: r.Level, message: truncate(r.Message, maxMessage), data: h.json(r)}
	if e.created.IsZero() {
		e.created = s.cfg.Now()
	}
	s.enqueue(&e)
	return err
}

// WithAttrs returns a Handler whose records carry attrs too.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	out := *h
	out.base = h.base.WithAttrs(attrs)
	out.attrs = append(append([]slog.Attr{}, h.attrs...), prefixed(h.prefix, attrs)...)
	return &out
}

// WithGroup returns a Handler whose later attributes are in group name.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	out := *h
	out.base = h.base.WithGroup(name)
	out.prefix = h.prefix + name + "."
	return &out
}

// prefixed returns attrs with their keys prefixed.
func prefixed(prefix string, attrs []slog.Attr) []slog.Attr {
	if prefix == "" {
		return attrs
	}
	out := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		out[i] = slog.Attr{Key: prefix + a.Key, Value: a.Value}
	}
	return out
}

// each calls f with every attribute of r (the handler's first), groups
// flattened into dotted keys.
func (h *Handler) each(r slog.Record, f func(key string, v slog.Value)) {
	var walk func(prefix string, a slog.Attr)
	walk = func(prefix string, a slog.Attr) {
		v := a.Value.Resolve()
		if v.Kind() == slog.KindGroup {
			p := prefix
			if a.Key != "" {
				p += a.Key + "."
			}
			for _, g := range v.Group() {
				walk(p, g)
			}
			return
		}
		if a.Key != "" {
			f(prefix+a.Key, v)
		}
	}
	for _, a := range h.attrs {
		walk("", a)
	}
	r.Attrs(func(a slog.Attr) bool {
		walk(h.prefix, a)
		return true
	})
}

// text renders r as `message key=value ...` for data.error.
func (h *Handler) text(r slog.Record) string {
	var b strings.Builder
	b.WriteString(r.Message)
	h.each(r, func(key string, v slog.Value) {
		fmt.Fprintf(&b, " %s=%s", key, v.String())
	})
	return b.String()
}

// json renders r's attributes as a JSON object for data.
func (h *Handler) json(r slog.Record) string {
	m := map[string]any{}
	h.each(r, func(key string, v slog.Value) {
		switch v.Kind() {
		case slog.KindString:
			m[key] = v.String()
		case slog.KindInt64, slog.KindUint64, slog.KindFloat64, slog.KindBool:
			m[key] = v.Any()
		case slog.KindDuration:
			m[key] = v.Duration().String()
		default:
			if err, ok := v.Any().(error); ok {
				m[key] = err.Error()
			} else {
				m[key] = v.String()
			}
		}
	})
	raw, err := json.Marshal(m)
	if err != nil {
		return "{}"
	}
	return string(raw)
}
