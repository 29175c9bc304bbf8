package querycost

import "sync/atomic"

// Current holds the Limits in force for a Guard and its ComplexityLimits:
// Set changes them for the documents that follow, while requests run
// (settings.limits). Reading them costs one atomic load. It is safe for
// concurrent use; make one with NewCurrent.
type Current struct {
	p atomic.Pointer[Limits]
}

// NewCurrent returns limits l (zero fields take the defaults) in force.
func NewCurrent(l Limits) *Current {
	c := &Current{}
	c.Set(l)
	return c
}

// Set puts l (zero fields take the defaults) in force.
func (c *Current) Set(l Limits) {
	l = l.WithDefaults()
	c.p.Store(&l)
}

// Limits returns the limits in force.
func (c *Current) Limits() Limits { return *c.p.Load() }

// load returns the limits in force; the pointer changes with every Set,
// so it also tells which limits a cached check was made under.
func (c *Current) load() *Limits { return c.p.Load() }
