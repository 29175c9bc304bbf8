package db

import lru "github.com/hashicorp/golang-lru/v2"

// mustLRU returns a thread-safe cache of the size most recently used
// entries (size > 0).
func mustLRU[V any](size int) *lru.Cache[string, V] {
	c, err := lru.New[string, V](size)
	if err != nil {
		panic("db: " + err.Error()) // only for size <= 0
	}
	return c
}
