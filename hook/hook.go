// Package hook is the hook machinery of Monobase as a Go framework: a Hook
// holds handlers bound by the app, run in priority order as a chain where
// each handler calls e.Next() to go on (or returns without calling it to
// stop, or returns an error to fail). A TaggedHook runs its handlers only
// for the collections it names. The events the server triggers are in
// events.go; the root package monobase exposes them.
package hook

import (
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// Resolver is what every event is: it carries the chain's next step.
// Embed Event to implement it.
type Resolver interface {
	Next() error
	setNext(func() error) func() error
}

// Event is embedded by every event: Next runs the rest of the chain.
type Event struct {
	next func() error
}

// Next runs the next handler of the chain (or the operation itself after
// the last one). A handler that does not call it stops the chain there.
func (e *Event) Next() error {
	if e.next == nil {
		return nil
	}
	return e.next()
}

func (e *Event) setNext(f func() error) (old func() error) {
	old, e.next = e.next, f
	return old
}

// Handler is a bound function with an id (to unbind it) and a priority:
// lower runs first; equal priorities run in the order they were bound.
type Handler[T Resolver] struct {
	ID       string
	Priority int
	Func     func(T) error
}

// Hook is a list of handlers for one kind of event. The zero value is
// ready; it is safe for concurrent use.
type Hook[T Resolver] struct {
	mu       sync.Mutex
	handlers atomic.Pointer[[]*Handler[T]] // sorted, never changed in place
}

var ids atomic.Int64

// BindFunc binds fn with priority 0 and returns its id.
func (h *Hook[T]) BindFunc(fn func(T) error) string {
	return h.Bind(&Handler[T]{Func: fn})
}

// Bind binds hd (an empty ID gets one made of the function's name and a
// number) and returns its id. A handler with the id of a bound one
// replaces it.
func (h *Hook[T]) Bind(hd *Handler[T]) string {
	if hd.ID == "" {
		hd.ID = fmt.Sprintf("%s#%d", funcName(hd.Func), ids.Add(1))
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var list []*Handler[T]
	if cur := h.handlers.Load(); cur != nil {
		list = slices.DeleteFunc(slices.Clone(*cur), func(x *Handler[T]) bool { return x.ID == hd.ID })
	}
	list = append(list, hd)
	slices.SortStableFunc(list, func(a, b *Handler[T]) int { return a.Priority - b.Priority })
	h.handlers.Store(&list)
	return hd.ID
}

// Unbind removes the handlers with these ids.
func (h *Hook[T]) Unbind(ids ...string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	cur := h.handlers.Load()
	if cur == nil {
		return
	}
	list := slices.DeleteFunc(slices.Clone(*cur), func(x *Handler[T]) bool { return slices.Contains(ids, x.ID) })
	h.handlers.Store(&list)
}

// Length returns how many handlers are bound.
func (h *Hook[T]) Length() int {
	if cur := h.handlers.Load(); cur != nil {
		return len(*cur)
	}
	return 0
}

// Trigger runs the handlers on e in order, then final (the operation
// itself; nil for none) when the last one calls e.Next(). With no handler
// bound it is a direct call of final. A handler that panics fails the
// chain with an error naming it.
func (h *Hook[T]) Trigger(e T, final func(T) error) error {
	var list []*Handler[T]
	if cur := h.handlers.Load(); cur != nil {
		list = *cur
	}
	if len(list) == 0 {
		if final == nil {
			return nil
		}
		return final(e)
	}
	old := e.setNext(nil)
	defer e.setNext(old)
	var run func(i int) error
	run = func(i int) error {
		if i == len(list) {
			e.setNext(nil)
			if final == nil {
				return nil
			}
			return final(e)
		}
		e.setNext(func() error { return run(i + 1) })
		return call(list[i], e)
	}
	return run(0)
}

// call runs one handler, turning a panic into an error that names it.
func call[T Resolver](hd *Handler[T], e T) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Hook: hd.ID, Value: r}
		}
	}()
	return hd.Func(e)
}

// PanicError is the error of a handler that panicked.
type PanicError struct {
	Hook  string // the handler's id
	Value any    // what it panicked with
}

func (p *PanicError) Error() string { return fmt.Sprintf("hook %s panicked: %v", p.Hook, p.Value) }

func funcName(f any) string {
	if f == nil {
		return "hook"
	}
	if fn := runtime.FuncForPC(reflect.ValueOf(f).Pointer()); fn != nil {
		return fn.Name()
	}
	return "hook"
}

// Tagger is an event that names the collection it is about, so that a
// TaggedHook can match it.
type Tagger interface {
	Resolver
	Tags() []string
}

// TaggedHook is a view of a Hook whose handlers run only for events with
// one of its tags (a collection's id or name); with no tags, for all.
type TaggedHook[T Tagger] struct {
	hook *Hook[T]
	tags []string
}

// NewTagged returns the view of h for tags.
func NewTagged[T Tagger](h *Hook[T], tags ...string) *TaggedHook[T] {
	return &TaggedHook[T]{hook: h, tags: tags}
}

// CanTriggerOn reports whether the view's handlers run for an event with
// tags.
func (t *TaggedHook[T]) CanTriggerOn(tags []string) bool {
	if len(t.tags) == 0 {
		return true
	}
	for _, x := range tags {
		if slices.Contains(t.tags, x) {
			return true
		}
	}
	return false
}

// BindFunc binds fn for the view's tags and returns its id.
func (t *TaggedHook[T]) BindFunc(fn func(T) error) string {
	return t.Bind(&Handler[T]{Func: fn})
}

// Bind binds hd for the view's tags: for other events the chain goes on
// without it.
func (t *TaggedHook[T]) Bind(hd *Handler[T]) string {
	fn := hd.Func
	if hd.ID == "" {
		hd.ID = fmt.Sprintf("%s#%d", funcName(fn), ids.Add(1))
	}
	wrapped := &Handler[T]{ID: hd.ID, Priority: hd.Priority, Func: func(e T) error {
		if t.CanTriggerOn(e.Tags()) {
			return fn(e)
		}
		return e.Next()
	}}
	return t.hook.Bind(wrapped)
}

// Unbind removes the handlers with these ids.
func (t *TaggedHook[T]) Unbind(ids ...string) { t.hook.Unbind(ids...) }
