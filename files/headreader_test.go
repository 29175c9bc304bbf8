package files

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// countingReaderAt counts the ReadAt calls and bytes asked of a source.
type countingReaderAt struct {
	r            *bytes.Reader
	calls, bytes int
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	c.calls++
	c.bytes += len(p)
	return c.r.ReadAt(p, off)
}

func TestHeadReader(t *testing.T) {
	data := pattern(3 << 20)
	src := &countingReaderAt{r: bytes.NewReader(data)}
	h := newHeadReader(src, int64(len(data)))
	read := func(off, n int) {
		t.Helper()
		p := make([]byte, n)
		got, err := h.ReadAt(p, int64(off))
		if got != n || err != nil || !bytes.Equal(p, data[off:off+n]) {
			t.Fatalf("ReadAt(%d, %d) = %d, %v", off, n, got, err)
		}
	}
	read(0, 4)
	read(100, 4000)
	if src.calls != 1 || src.bytes != headFirst {
		t.Fatalf("%d reads of %d bytes for the first 4 KiB, want one of %d", src.calls, src.bytes, headFirst)
	}
	read(headFirst, 10)
	if src.calls != 2 || src.bytes != 2*headFirst {
		t.Fatalf("growing: %d reads of %d bytes, want the next %d", src.calls, src.bytes, headFirst)
	}
	read(200_000, 10) // kept up to headMax: fetched once, kept
	read(headMax-10, 10)
	calls := src.calls
	read(headMax+5, 10) // past the kept start: straight from the source
	read(headMax+5, 10)
	if src.calls != calls+2 {
		t.Fatalf("%d reads past the kept start, want 2", src.calls-calls)
	}
	all, err := io.ReadAll(io.LimitReader(h, 5000))
	if err != nil || !bytes.Equal(all, data[:5000]) {
		t.Fatalf("Read: %d bytes, %v", len(all), err)
	}
	if n, err := h.ReadAt(make([]byte, 10), int64(len(data)-4)); n != 4 || !errors.Is(err, io.EOF) {
		t.Fatalf("ReadAt near the end = %d, %v", n, err)
	}

	small := newHeadReader(bytes.NewReader(data[:100]), 100)
	if all, err := io.ReadAll(small); err != nil || !bytes.Equal(all, data[:100]) {
		t.Fatalf("a file smaller than the first fetch: %d bytes, %v", len(all), err)
	}
}
