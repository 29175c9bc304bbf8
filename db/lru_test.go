package db

import (
	"fmt"
	"strings"
	"testing"
)

// TestPatternCachesAreBounded: the compiled validation patterns and the
// parsed autogenerate patterns keep at most patternCacheSize entries,
// however many distinct patterns field definitions have used.
func TestPatternCachesAreBounded(t *testing.T) {
	for i := range patternCacheSize + 100 {
		p := fmt.Sprintf("^[a-z]{%d}$", i+1)
		if _, err := compilePattern(p); err != nil {
			t.Fatal(err)
		}
		if _, err := parsePattern(p); err != nil {
			t.Fatal(err)
		}
	}
	if n := regexCache.Len(); n > patternCacheSize {
		t.Errorf("regexCache holds %d patterns, want at most %d", n, patternCacheSize)
	}
	if n := patternCache.Len(); n > patternCacheSize {
		t.Errorf("patternCache holds %d patterns, want at most %d", n, patternCacheSize)
	}
	// The most recent pattern is a cache hit: the same compiled value.
	last := fmt.Sprintf("^[a-z]{%d}$", patternCacheSize+100)
	a, _ := compilePattern(last)
	b, _ := compilePattern(last)
	if a != b || !a.MatchString(strings.Repeat("x", patternCacheSize+100)) {
		t.Fatalf("recent pattern %q: not cached or wrong (%p, %p)", last, a, b)
	}
}
