package filter

import (
	"container/list"
	"sync"
)

// CacheSize is how many parsed filters ParseCached keeps.
const CacheSize = 1024

// cache is a small LRU of successfully parsed filters. Parsed ASTs are
// never modified after Parse returns, so one AST is safely shared by every
// goroutine that asks for the same text.
type cache struct {
	mu    sync.Mutex
	items map[string]*list.Element
	order list.List // front: most recently used; values are *cacheEntry
}

type cacheEntry struct {
	src  string
	expr Expr
}

var parsed = &cache{items: make(map[string]*list.Element)}

// ParseCached is Parse with a process-wide LRU cache of CacheSize entries
// keyed by the exact text: rules and repeated client filters are parsed
// once. Errors are not cached. The returned AST is shared and must not be
// modified.
func ParseCached(src string) (Expr, error) {
	if e, ok := parsed.get(src); ok {
		return e, nil
	}
	e, err := Parse(src)
	if err != nil {
		return nil, err
	}
	parsed.put(src, e)
	return e, nil
}

func (c *cache) get(src string) (Expr, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[src]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*cacheEntry).expr, true
}

func (c *cache) put(src string, e Expr) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[src]; ok {
		c.order.MoveToFront(el)
		return
	}
	c.items[src] = c.order.PushFront(&cacheEntry{src: src, expr: e})
	for c.order.Len() > CacheSize {
		old := c.order.Back()
		c.order.Remove(old)
		delete(c.items, old.Value.(*cacheEntry).src)
	}
}
