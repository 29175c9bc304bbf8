// Package boundedcache is a least-recently-used cache bounded both by its
// number of entries and by the bytes of its keys and values. The caches of
// query texts (parsed documents, persisted queries, checked limits) are
// keyed or filled by what clients send, so a count alone would let 1,000
// queries of 128 KiB each hold 128 MiB; a byte budget keeps them small
// whatever is sent.
package boundedcache

import (
	"context"
	"sync"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// Cache is safe for concurrent use. It implements gqlgen's graphql.Cache.
type Cache[T any] struct {
	mu       sync.Mutex
	lru      *simplelru.LRU[string, entry[T]]
	bytes    int
	maxBytes int
	size     func(key string, value T) int
}

type entry[T any] struct {
	value T
	size  int
}

// New returns a cache of at most maxEntries entries and maxBytes bytes,
// counting each entry as size(key, value) bytes (nil: len(key)). Both
// bounds must be positive.
func New[T any](maxEntries, maxBytes int, size func(key string, value T) int) *Cache[T] {
	c := &Cache[T]{maxBytes: maxBytes, size: size}
	l, err := simplelru.NewLRU(maxEntries, func(_ string, e entry[T]) { c.bytes -= e.size })
	if err != nil || maxBytes <= 0 {
		panic("boundedcache: the bounds must be positive")
	}
	c.lru = l
	return c
}

// StringSize counts an entry of a cache of strings as its key and value.
func StringSize(key, value string) int { return len(key) + len(value) }

// ParsedSize counts an entry whose value is parsed from its key (a query
// document from its text) as 32 times the key: gqlparser's syntax tree of
// a document takes 15 (a mutation of 50 aliased creates with literal
// values, 7.8 KB) to 33 (a 75-byte query by id) bytes per byte of text
// before validation annotates it.
func ParsedSize[T any](key string, _ T) int { return 32 * len(key) }

// Get returns the value of key and marks it recently used.
func (c *Cache[T]) Get(_ context.Context, key string) (T, bool) {
	c.mu.Lock()
	e, ok := c.lru.Get(key)
	c.mu.Unlock()
	return e.value, ok
}

// Add stores value under key, evicting the least recently used entries
// until both bounds hold. An entry larger than the byte bound on its own
// is not stored.
func (c *Cache[T]) Add(_ context.Context, key string, value T) {
	n := len(key)
	if c.size != nil {
		n = c.size(key, value)
	}
	if n > c.maxBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lru.Remove(key) // a replaced entry gives its bytes back first
	for c.bytes+n > c.maxBytes {
		c.lru.RemoveOldest()
	}
	c.lru.Add(key, entry[T]{value, n})
	c.bytes += n
}

// Len returns the number of entries.
func (c *Cache[T]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// Bytes returns the bytes the entries count for.
func (c *Cache[T]) Bytes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}
