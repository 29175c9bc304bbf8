package dynschema

// RunningSubscriptions returns how many subscriptions are running, over
// every collection and transport (for metrics; it takes the batches' locks,
// so call it at scrape time, not per request).
func (e *Engine) RunningSubscriptions() int { return e.batches.total() }

// SchemaVersion returns the number of the current application schema
// version: 1 for the schema built when the engine started, one more for
// each schema built since (a collection change that was refused may use a
// number without swapping in its schema, so numbers can skip).
func (e *Engine) SchemaVersion() uint64 { return e.cur.Load().seq }

// total returns how many subscriptions are running in every batch.
func (r *subBatches) total() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, b := range r.m {
		b.mu.Lock()
		n += len(b.members)
		b.mu.Unlock()
	}
	return n
}
