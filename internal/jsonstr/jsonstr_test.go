package jsonstr

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestAppendStringMatchesEncodingJSON: what AppendString writes decodes to
// the input (invalid UTF-8 as U+FFFD, as encoding/json does).
func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", `quote " and \ backslash`, "line\nfeed\r\ttab", "\x00\x01\x1f\x7f",
		"héllo ✓ 😀", "bad \xff utf8", "\u2028\u2029", strings.Repeat("ab", 100)} {
		out := AppendString([]byte("x"), s)
		var got string
		if err := json.Unmarshal(out[1:], &got); err != nil {
			t.Fatalf("%q: %s is not JSON: %v", s, out, err)
		}
		want := strings.ToValidUTF8(s, "\uFFFD")
		if got != want {
			t.Errorf("%q: decoded %q, want %q", s, got, want)
		}
	}
}

func BenchmarkAppendString(b *testing.B) {
	buf := make([]byte, 0, 256)
	s := "a typical title with a \"quote\" and ünïcode"
	for b.Loop() {
		buf = AppendString(buf[:0], s)
	}
}
