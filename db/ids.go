package db

import (
	"crypto/rand"
	"fmt"
	"regexp/syntax"
	"strings"
)

const (
	idAlphabet    = "abcdefghijklmnopqrstuvwxyz0123456789"
	tokenAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	// IDLength is the length of generated record and collection ids.
	IDLength = 15
	// idPattern is the autogenerate pattern of the system id field.
	idPattern       = "[a-z0-9]{15}"
	tokenKeyPattern = "[a-zA-Z0-9]{50}"
)

// NewID returns a random 15-character id of [a-z0-9], as used for records
// and collections.
func NewID() string { return randomString(IDLength, idAlphabet) }

// randomString returns n characters drawn uniformly from alphabet (at most
// 256 characters) using crypto/rand.
func randomString(n int, alphabet string) string {
	if n <= 0 {
		return ""
	}
	// Rejection sampling keeps the distribution uniform.
	limit := 256 - 256%len(alphabet)
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/2+8)
	for len(out) < n {
		_, _ = rand.Read(buf) // never fails (crypto/rand panics instead)
		for _, b := range buf {
			if int(b) >= limit {
				continue
			}
			out = append(out, alphabet[int(b)%len(alphabet)])
			if len(out) == n {
				break
			}
		}
	}
	return string(out)
}

// patternCache holds parsed autogenerate patterns, the most recently used
// patternCacheSize of them (patterns come from field definitions, so old
// ones linger after schema changes).
var patternCache = mustLRU[*syntax.Regexp](patternCacheSize)

// patternCacheSize bounds patternCache and regexCache.
const patternCacheSize = 512

// generateFromPattern returns a random string matching the regular
// expression pattern (a small subset is supported: literals, character
// classes, concatenation, alternation, groups and bounded repeats; unbounded
// repeats produce at most 10 repetitions). It fails when the pattern does not
// parse.
func generateFromPattern(pattern string) (string, error) {
	switch pattern {
	case idPattern:
		return NewID(), nil
	case tokenKeyPattern:
		return randomString(50, tokenAlphabet), nil
	}
	re, err := parsePattern(pattern)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if err := genRegexp(&b, re); err != nil {
		return "", err
	}
	return b.String(), nil
}

func parsePattern(pattern string) (*syntax.Regexp, error) {
	if re, ok := patternCache.Get(pattern); ok {
		return re, nil
	}
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, fmt.Errorf("parse autogenerate pattern: %w", err)
	}
	re = re.Simplify()
	patternCache.Add(pattern, re)
	return re, nil
}

func randInt(n int) int {
	if n <= 1 {
		return 0
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	var v uint64
	for _, x := range b {
		v = v<<8 | uint64(x)
	}
	return int(v % uint64(n))
}

func genRegexp(b *strings.Builder, re *syntax.Regexp) error {
	switch re.Op {
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText,
		syntax.OpEndText, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return nil
	case syntax.OpLiteral:
		b.WriteString(string(re.Rune))
		return nil
	case syntax.OpCharClass:
		// re.Rune holds [lo, hi] pairs.
		total := 0
		for i := 0; i+1 < len(re.Rune); i += 2 {
			total += int(re.Rune[i+1]-re.Rune[i]) + 1
		}
		if total == 0 {
			return fmt.Errorf("empty character class")
		}
		k := randInt(total)
		for i := 0; i+1 < len(re.Rune); i += 2 {
			n := int(re.Rune[i+1]-re.Rune[i]) + 1
			if k < n {
				b.WriteRune(re.Rune[i] + rune(k))
				return nil
			}
			k -= n
		}
		return nil
	case syntax.OpAnyCharNotNL, syntax.OpAnyChar:
		b.WriteByte(tokenAlphabet[randInt(len(tokenAlphabet))])
		return nil
	case syntax.OpCapture:
		return genRegexp(b, re.Sub[0])
	case syntax.OpConcat:
		for _, s := range re.Sub {
			if err := genRegexp(b, s); err != nil {
				return err
			}
		}
		return nil
	case syntax.OpAlternate:
		return genRegexp(b, re.Sub[randInt(len(re.Sub))])
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat:
		lo, hi := 0, 10
		switch re.Op {
		case syntax.OpPlus:
			lo = 1
		case syntax.OpQuest:
			hi = 1
		case syntax.OpRepeat:
			lo, hi = re.Min, re.Max
			if hi < 0 {
				hi = lo + 10
			}
		}
		n := lo + randInt(hi-lo+1)
		for range n {
			if err := genRegexp(b, re.Sub[0]); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("unsupported pattern element %v", re.Op)
}
