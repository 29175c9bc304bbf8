package files

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"testing"
)

// pattern returns n bytes that do not repeat within a megabyte.
func pattern(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

func TestDownloadStreams(t *testing.T) {
	const size = 32 << 20
	forEachBackend(t, func(t *testing.T, kind string) {
		fx := newFixture(t, kind)
		srv := fx.server(t)
		content := pattern(size)
		want := sha256.Sum256(content)
		name := fx.attach(t, "big.bin", content)
		content = nil
		key := fx.posts.ID + "/" + fx.postID + "/" + name
		if fx.s3 != nil {
			fx.s3.Reset()
		}

		// Everything the process allocates while serving is counted: the
		// handler, the S3 client and the S3 server (which serves its
		// stored slice without copying it), and this client, which hashes
		// as it reads. A download read whole into memory would add 32 MiB.
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		res, err := http.Get(srv.URL + fx.postURL(name))
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		n, err := io.Copy(h, res.Body)
		res.Body.Close()
		runtime.ReadMemStats(&after)
		if err != nil || res.StatusCode != 200 || n != size || !bytes.Equal(h.Sum(nil), want[:]) {
			t.Fatalf("status %d, %d bytes, %v, hash matches: %v", res.StatusCode, n, err, bytes.Equal(h.Sum(nil), want[:]))
		}
		alloc := after.TotalAlloc - before.TotalAlloc
		t.Logf("%s: %d bytes allocated to serve %d", kind, alloc, size)
		if alloc > size/8 {
			t.Fatalf("%d bytes allocated while serving a %d-byte file: it was buffered", alloc, size)
		}
		if fx.s3 != nil {
			st := fx.s3.Object(testBucket, key)
			if st.Gets != 1 || st.BytesSent != size {
				t.Fatalf("from the bucket: %+v, want one GET of %d bytes", st, size)
			}
		}
	})
}

func TestRangeFromS3FetchesOnlyTheRange(t *testing.T) {
	// S3 only: the local disk reads the range with pread, there is
	// nothing between to count.
	const size = 4 << 20
	fx := newFixture(t, "s3")
	srv := fx.server(t)
	content := pattern(size)
	name := fx.attach(t, "big.bin", content)
	key := fx.posts.ID + "/" + fx.postID + "/" + name
	for _, tt := range []struct {
		header      string
		first, last int
	}{
		{"bytes=0-99", 0, 99},
		{"bytes=1000000-1000099", 1000000, 1000099},
		{"bytes=-100", size - 100, size - 1},
		{fmt.Sprintf("bytes=%d-", size-1000), size - 1000, size - 1},
	} {
		t.Run(tt.header, func(t *testing.T) {
			fx.s3.Reset()
			r := get(t, srv, fx.postURL(name), "Range", tt.header)
			if r.status != http.StatusPartialContent || !bytes.Equal(r.body, content[tt.first:tt.last+1]) {
				t.Fatalf("status %d, %d bytes", r.status, len(r.body))
			}
			st := fx.s3.Object(testBucket, key)
			if st.Gets != 1 || st.BytesSent != int64(tt.last-tt.first+1) {
				t.Fatalf("from the bucket: %+v, want one GET of %d bytes", st, tt.last-tt.first+1)
			}
		})
	}
	t.Run("a HEAD or a 304 fetches no content", func(t *testing.T) {
		fx.s3.Reset()
		r := do(t, http.MethodHead, srv.URL+fx.postURL(name))
		r2 := get(t, srv, fx.postURL(name), "If-None-Match", r.header.Get("ETag"))
		if st := fx.s3.Object(testBucket, key); r.status != 200 || r2.status != http.StatusNotModified || st.Gets != 0 || st.BytesSent != 0 {
			t.Fatalf("HEAD %d, conditional GET %d, from the bucket: %+v", r.status, r2.status, st)
		}
	})
}
