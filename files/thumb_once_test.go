package files

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestThumbMadeOnceFor50Requests(t *testing.T) {
	forEachBackend(t, func(t *testing.T, kind string) {
		fx := newFixture(t, kind)
		srv := fx.server(t)
		url := srv.URL + fx.store.URL(fx.posts, fx.postID, fx.cover, "300x200", false)
		key := thumbKey(fx.posts.ID+"/"+fx.postID+"/"+fx.cover, "300x200")
		const n = 50
		var wg sync.WaitGroup
		start := make(chan struct{})
		bodies, status, errs := make([][]byte, n), make([]int, n), make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				res, err := http.Get(url)
				if err != nil {
					errs[i] = err
					return
				}
				defer res.Body.Close()
				status[i] = res.StatusCode
				bodies[i], errs[i] = io.ReadAll(res.Body)
			}()
		}
		close(start)
		wg.Wait()
		for i := range n {
			if errs[i] != nil || status[i] != 200 || !bytes.Equal(bodies[i], bodies[0]) {
				t.Fatalf("request %d: status %d, %v, %d bytes (first had %d)", i, status[i], errs[i], len(bodies[i]), len(bodies[0]))
			}
		}
		if img, _, err := image.Decode(bytes.NewReader(bodies[0])); err != nil || img.Bounds().Dx() != 300 || img.Bounds().Dy() != 200 {
			t.Fatalf("decode: %v", err)
		}
		if made := fx.store.thumbs.made.Load(); made != 1 {
			t.Fatalf("%d thumbnails made, want 1", made)
		}
		if fx.s3 != nil {
			// Counted by the S3 server: one upload of the thumbnail.
			if st := fx.s3.Object(testBucket, key); st.Puts != 1 {
				t.Fatalf("the thumbnail was stored %d times: %+v", st.Puts, st)
			}
		}
		if keys := keysUnder(t, fx.store, fx.posts.ID+"/"+fx.postID+"/thumbs_"+fx.cover+"/"); len(keys) != 1 || keys[0] != key {
			t.Fatalf("stored %v, want %s", keys, key)
		}
	})
}

func TestThumbSlots(t *testing.T) {
	forEachBackend(t, func(t *testing.T, kind string) {
		ctx := context.Background()
		t.Run("with every slot taken a generation waits, then gives up", func(t *testing.T) {
			s, _ := newTestStore(t, kind, Limits{})
			name := saveImage(t, s, "a.png", encodePNG(t, halves(40, 20, red, blue, false)))
			for range cap(s.thumbs.slots) {
				s.thumbs.slots <- struct{}{}
			}
			s.thumbs.maxWait = 20 * time.Millisecond // the slots never free: only the wait can end
			if _, err := s.Thumb(ctx, "col", "rec", name, "10x10"); err == nil || !strings.Contains(err.Error(), "wait for a thumbnail slot") {
				t.Fatalf("err = %v, want a wait for a slot", err)
			}
			<-s.thumbs.slots
			s.thumbs.maxWait = time.Minute
			if img, _ := decodeThumb(t, s, name, "10x10"); img.Bounds().Dx() != 10 {
				t.Fatalf("thumb %v", img.Bounds())
			}
		})
		t.Run("many different thumbnails at once never take more than the slots", func(t *testing.T) {
			s, _ := newTestStore(t, kind, Limits{})
			const slots, n = 2, 24
			s.thumbs.slots = make(chan struct{}, slots)
			name := saveImage(t, s, "a.png", encodePNG(t, halves(600, 400, red, blue, false)))
			var wg sync.WaitGroup
			start := make(chan struct{})
			errs := make([]error, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					f, err := s.Thumb(ctx, "col", "rec", name, fmt.Sprintf("%dx0", 10+i))
					if err == nil {
						f.Close()
					}
					errs[i] = err
				}()
			}
			close(start)
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("thumb %d: %v", i, err)
				}
			}
			if made, peak := s.thumbs.made.Load(), s.thumbs.peak.Load(); made != n || peak < 1 || peak > slots {
				t.Fatalf("%d made, at most %d at once; want %d made, at most %d at once", made, peak, n, slots)
			}
			if len(keysUnder(t, s, "col/rec/thumbs_"+name+"/")) != n {
				t.Fatal("a thumbnail is missing")
			}
		})
	})
}

func TestThumbSizeForms(t *testing.T) {
	// Every size form of PocketBase, for every source format, of a 200x100
	// image. WebP has no encoder in Go: its thumbnails are PNG.
	src := halves(200, 100, red, blue, false)
	sources := []struct {
		name    string
		content func(t *testing.T) []byte
		format  string // of the thumbnail
		ctype   string
	}{
		{"a.png", func(t *testing.T) []byte { return encodePNG(t, src) }, "png", "image/png"},
		{"a.jpg", func(t *testing.T) []byte { return encodeJPEG(t, src) }, "jpeg", "image/jpeg"},
		{"a.gif", func(t *testing.T) []byte { return encodeGIF(t, src) }, "gif", "image/gif"},
		{"a.webp", func(*testing.T) []byte { return solidWebP(200, 100, color.NRGBA(red)) }, "png", "image/png"},
	}
	forms := []struct {
		size string
		w, h int
	}{
		{"80x80", 80, 80},    // fill, crop the centre
		{"80x80t", 80, 80},   // crop from the top
		{"80x80b", 80, 80},   // crop from the bottom
		{"80x80f", 80, 40},   // fit inside
		{"300x50f", 100, 50}, // fit inside, by the height
		{"0x50", 100, 50},    // by the height
		{"60x0", 60, 30},     // by the width
	}
	forEachBackend(t, func(t *testing.T, kind string) {
		s, _ := newTestStore(t, kind, Limits{})
		for _, sc := range sources {
			name := saveImage(t, s, sc.name, sc.content(t))
			for _, f := range forms {
				t.Run(sc.name+" "+f.size, func(t *testing.T) {
					img, format := decodeThumb(t, s, name, f.size)
					if b := img.Bounds(); b.Dx() != f.w || b.Dy() != f.h || format != sc.format {
						t.Fatalf("thumb is a %dx%d %s, want a %dx%d %s", b.Dx(), b.Dy(), format, f.w, f.h, sc.format)
					}
					// Stored beside the original, with its type on S3.
					info, err := s.Backend().Stat(context.Background(), "col/rec/thumbs_"+name+"/"+f.size+"_"+name)
					if err != nil {
						t.Fatal(err)
					}
					if kind == "s3" && info.ContentType != sc.ctype {
						t.Fatalf("stored as %q, want %q", info.ContentType, sc.ctype)
					}
				})
			}
		}
	})
}
