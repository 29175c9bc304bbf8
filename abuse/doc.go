// Package abuse holds the abuse suite: regression tests that replay known
// attacks (query bombs, oversized inputs, brute force, upload tricks,
// socket floods) against the real monobase binary and check that each is
// refused fast and clearly while the server's memory stays bounded. It
// has no code outside its tests.
package abuse
