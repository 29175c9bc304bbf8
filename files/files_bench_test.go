package files

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
)

// benchBackends runs fn as a sub-benchmark per backend.
func benchBackends(b *testing.B, fn func(b *testing.B, kind string)) {
	for _, kind := range testBackends {
		b.Run(kind, func(b *testing.B) { fn(b, kind) })
	}
}

// benchPhoto is the source of the thumbnail benchmarks: a 1920x1080 JPEG.
func benchPhoto(b *testing.B) []byte { return encodeJPEG(b, halves(1920, 1080, red, blue, false)) }

// thumbOnce serves the 100x100 thumbnail of name and reads it.
func thumbOnce(b *testing.B, s *Store, name string) {
	f, err := s.Thumb(context.Background(), "col", "rec", name, "100x100")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, f); err != nil {
		b.Fatal(err)
	}
	f.Close()
}

// BenchmarkThumbFirst makes the 100x100 thumbnail of a 1920x1080 JPEG:
// read the source, decode, scale, encode, store, then read it back.
func BenchmarkThumbFirst(b *testing.B) {
	benchBackends(b, func(b *testing.B, kind string) {
		s, _ := newTestStore(b, kind, Limits{})
		name := saveImage(b, s, "photo.jpg", benchPhoto(b))
		ctx := context.Background()
		b.ResetTimer()
		for range b.N {
			thumbOnce(b, s, name)
			b.StopTimer()
			if err := s.Backend().DeletePrefix(ctx, "col/rec/thumbs_"+name+"/"); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		if made := s.thumbs.made.Load(); made != int64(b.N) {
			b.Fatalf("%d made for %d runs", made, b.N)
		}
	})
}

// BenchmarkThumbCached serves the same thumbnail once it is stored.
func BenchmarkThumbCached(b *testing.B) {
	benchBackends(b, func(b *testing.B, kind string) {
		s, _ := newTestStore(b, kind, Limits{})
		name := saveImage(b, s, "photo.jpg", benchPhoto(b))
		thumbOnce(b, s, name)
		b.ResetTimer()
		for range b.N {
			thumbOnce(b, s, name)
		}
		if made := s.thumbs.made.Load(); made != 1 {
			b.Fatalf("%d made, want 1", made)
		}
	})
}

// BenchmarkDownload16 downloads a 1 MB file through the handler, on a real
// server on 127.0.0.1, with 16 clients at once; MB/s is of all of them.
func BenchmarkDownload16(b *testing.B) {
	const size, clients = 1 << 20, 16
	benchBackends(b, func(b *testing.B, kind string) {
		fx := newFixture(b, kind)
		srv := fx.server(b)
		url := srv.URL + fx.postURL(fx.attach(b, "big.bin", pattern(size)))
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
		defer client.CloseIdleConnections()
		b.SetBytes(size)
		b.ResetTimer()
		var next atomic.Int64
		var wg sync.WaitGroup
		errs := make(chan error, clients)
		for range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= int64(b.N) {
					res, err := client.Get(url)
					if err != nil {
						errs <- err
						return
					}
					n, err := io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if err != nil || n != size || res.StatusCode != 200 {
						errs <- fmt.Errorf("status %d, %d bytes, %v", res.StatusCode, n, err)
						return
					}
				}
			}()
		}
		wg.Wait()
		b.StopTimer()
		close(errs)
		for err := range errs {
			b.Fatalf("download failed: %v", err)
		}
	})
}
