package files

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pngHeaderOnly returns a PNG whose header announces a w×h 16-bit RGBA
// image and whose pixel data is garbage: image.DecodeConfig reads it, any
// attempt to decode it fails.
func pngHeaderOnly(w, h uint32) []byte { return pngBomb(w, h, 0) }

// pngBomb is pngHeaderOnly with pad more bytes of garbage pixel data, for
// a file whose header is a small part of it.
func pngBomb(w, h uint32, pad int) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		_ = binary.Write(&b, binary.BigEndian, uint32(len(data)))
		b.WriteString(typ)
		b.Write(data)
		_ = binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 16, 6 // 16 bits, RGBA
	chunk("IHDR", ihdr)
	chunk("IDAT", append([]byte("not zlib data"), make([]byte, pad)...))
	chunk("IEND", nil)
	return b.Bytes()
}

func TestThumbMemoryBudget(t *testing.T) {
	forEachBackend(t, func(t *testing.T, kind string) {
		ctx := context.Background()
		t.Run("the budget counts bytes per pixel: 16-bit is refused where 8-bit fits", func(t *testing.T) {
			// 400×400 is 640,000 bytes as 8-bit RGBA and 1,280,000 as 16-bit.
			s, _ := newTestStore(t, kind, Limits{ThumbImageBytes: 1 << 20})
			wide := image.NewRGBA64(image.Rect(0, 0, 400, 400))
			narrow := image.NewNRGBA(image.Rect(0, 0, 400, 400))
			for i := range narrow.Pix {
				narrow.Pix[i] = byte(i)
				wide.Pix[i] = byte(i)
			}
			big := saveImage(t, s, "wide.png", encodePNG(t, wide))
			_, err := s.Thumb(ctx, "col", "rec", big, "100x100")
			if !errors.Is(err, ErrThumbTooLarge) {
				t.Fatalf("16-bit 400x400: err = %v, want ErrThumbTooLarge", err)
			}
			small := saveImage(t, s, "narrow.png", encodePNG(t, narrow))
			if img, _ := decodeThumb(t, s, small, "100x100"); img.Bounds().Dx() != 100 {
				t.Fatalf("thumb is %v", img.Bounds())
			}
		})
		t.Run("a 7240x7240 16-bit PNG is refused from its header, before decoding", func(t *testing.T) {
			s, srv := newTestStore(t, kind, Limits{})
			const pad = 2 << 20
			name := saveImage(t, s, "huge.png", pngBomb(7240, 7240, pad))
			if srv != nil {
				srv.Reset()
			}
			_, err := s.Thumb(ctx, "col", "rec", name, "100x100")
			// Decoding would have failed on the garbage pixel data instead.
			want := fmt.Sprintf("needs %d bytes", 7240*7240*8+2*4*100*100) // the image and the thumbnail
			if !errors.Is(err, ErrThumbTooLarge) || !strings.Contains(err.Error(), want) {
				t.Fatalf("err = %v, want ErrThumbTooLarge: %s", err, want)
			}
			if keys := keysUnder(t, s, "col/rec/thumbs_"+name+"/"); len(keys) != 0 || s.thumbs.made.Load() != 0 {
				t.Fatalf("stored %v", keys)
			}
			if srv != nil {
				// Of the 2 MiB file, one request for its first 16 KiB.
				if st := srv.Object(testBucket, "col/rec/"+name); st.Gets != 1 || st.BytesSent != headFirst {
					t.Fatalf("from the bucket: %+v, want one GET of %d bytes", st, headFirst)
				}
			}
		})
		t.Run("decodes wait for memory held by others", func(t *testing.T) {
			s, _ := newTestStore(t, kind, Limits{ThumbImageBytes: 1 << 20, ThumbTotalBytes: 1 << 20})
			name := saveImage(t, s, "a.png", encodePNG(t, image.NewNRGBA(image.Rect(0, 0, 50, 50))))
			if !s.thumbs.mem.TryAcquire(1 << 20) {
				t.Fatal("the memory is not free")
			}
			// The memory never frees: only the wait can end. It also bounds the
			// requests to the bucket before it, hence not a millisecond.
			s.thumbs.maxWait = 500 * time.Millisecond
			if _, err := s.Thumb(ctx, "col", "rec", name, "100x100"); err == nil || !strings.Contains(err.Error(), "wait for thumbnail memory") {
				t.Fatalf("err = %v, want a wait for memory", err)
			}
			s.thumbs.mem.Release(1 << 20)
			s.thumbs.maxWait = time.Minute
			decodeThumb(t, s, name, "100x100")
		})
		t.Run("a total below the per-image budget is raised to it", func(t *testing.T) {
			l := Limits{ThumbImageBytes: 10 << 20, ThumbTotalBytes: 1 << 20}.withDefaults()
			if l.ThumbTotalBytes != 10<<20 {
				t.Fatalf("total %d", l.ThumbTotalBytes)
			}
			if d := (Limits{}).withDefaults(); d.ThumbImageBytes != DefaultThumbImageBytes || d.ThumbTotalBytes != DefaultThumbTotalBytes {
				t.Fatalf("defaults %+v", d)
			}
		})
	})
}

// TestDecodeBytes checks the estimate of a header read from a local file:
// no backend is involved.
func TestDecodeBytes(t *testing.T) {
	dir := t.TempDir()
	cost := func(t *testing.T, content []byte) int64 {
		t.Helper()
		p := filepath.Join(dir, "img")
		if err := os.WriteFile(p, content, 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		cfg, format, err := image.DecodeConfig(f)
		if err != nil {
			t.Fatal(err)
		}
		return decodeBytes(f, cfg, format)
	}
	tests := []struct {
		name    string
		content func(t *testing.T) []byte
		want    int64
	}{
		{"8-bit gray PNG", func(t *testing.T) []byte { return encodePNG(t, image.NewGray(image.Rect(0, 0, 100, 50))) }, 5000},
		{"16-bit RGBA PNG", func(t *testing.T) []byte {
			img := image.NewRGBA64(image.Rect(0, 0, 100, 50))
			img.Pix[0] = 1 // not opaque-constant, so the encoder keeps 16-bit RGBA
			img.Set(1, 1, color.RGBA64{1, 2, 3, 4})
			return encodePNG(t, img)
		}, 40000},
		{"paletted GIF", func(t *testing.T) []byte { return encodeGIF(t, image.NewRGBA(image.Rect(0, 0, 100, 50))) }, 5000},
		{"baseline 4:2:0 JPEG: Y plus two quarter planes, block aligned", func(t *testing.T) []byte {
			return encodeJPEG(t, image.NewYCbCr(image.Rect(0, 0, 64, 64), image.YCbCrSubsampleRatio420))
		}, 64*64 + 2*32*32},
		{"gray JPEG", func(t *testing.T) []byte {
			var b bytes.Buffer
			if err := jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 20, 20)), nil); err != nil {
				t.Fatal(err)
			}
			return b.Bytes()
		}, 24 * 24},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cost(t, tt.content(t)); got != tt.want {
				t.Fatalf("decodeBytes = %d, want %d", got, tt.want)
			}
		})
	}
	t.Run("a progressive JPEG counts its coefficients", func(t *testing.T) {
		b := encodeJPEG(t, image.NewYCbCr(image.Rect(0, 0, 64, 64), image.YCbCrSubsampleRatio420))
		i := bytes.Index(b, []byte{0xFF, 0xC0})
		if i < 0 {
			t.Fatal("no SOF0")
		}
		b[i+1] = 0xC2 // the header alone decides the estimate
		if got, want := cost(t, b), int64(5*(64*64+2*32*32)); got != want {
			t.Fatalf("decodeBytes = %d, want %d", got, want)
		}
	})
}

// TestTempFolder is local-only: the temporary folder is on the local disk
// whatever the backend.
func TestTempFolder(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	s := NewLocal(root)
	name := saveImage(t, s, "a.png", encodePNG(t, image.NewNRGBA(image.Rect(0, 0, 20, 20))))
	decodeThumb(t, s, name, "100x100")
	t.Run("writes leave nothing in the temporary folder or beside the files", func(t *testing.T) {
		_ = filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
			if err == nil && !info.IsDir() && (strings.HasPrefix(info.Name(), ".tmp") || strings.Contains(p, tempDirName)) {
				t.Errorf("temporary file left: %s", p)
			}
			return nil
		})
		if s.TempDir() != filepath.Join(root, ".tmp") {
			t.Errorf("TempDir %s", s.TempDir())
		}
	})
	t.Run("CleanTemp empties the temporary folder and keeps the files", func(t *testing.T) {
		left := filepath.Join(s.TempDir(), "write-123")
		if err := os.WriteFile(left, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := s.CleanTemp(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(left); !os.IsNotExist(err) {
			t.Fatalf("stat leftover: %v", err)
		}
		if _, err := s.Open(context.Background(), "col", "rec", name); err != nil {
			t.Fatal(err)
		}
		if err := NewLocal(filepath.Join(root, "missing")).CleanTemp(); err != nil {
			t.Fatalf("missing folder: %v", err)
		}
	})
	t.Run("Delete removes the record folder once empty, and Save recreates it", func(t *testing.T) {
		if err := s.Delete(ctx, "col", "rec", name); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(root, "col", "rec")); !os.IsNotExist(err) {
			t.Fatalf("record folder: %v", err)
		}
		saveImage(t, s, "b.txt", []byte("b"))
	})
}
