package files

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"io"
	"sync"
	"testing"
)

func TestParseThumb(t *testing.T) {
	tests := []struct {
		in   string
		ok   bool
		want thumbSpec
	}{
		{"100x100", true, thumbSpec{100, 100, 0}},
		{"100x50t", true, thumbSpec{100, 50, 't'}},
		{"100x50b", true, thumbSpec{100, 50, 'b'}},
		{"100x50f", true, thumbSpec{100, 50, 'f'}},
		{"0x50", true, thumbSpec{0, 50, 0}},
		{"50x0", true, thumbSpec{50, 0, 0}},
		{"0x0", false, thumbSpec{}},
		{"100", false, thumbSpec{}},
		{"100x", false, thumbSpec{}},
		{"x100", false, thumbSpec{}},
		{"100x100z", false, thumbSpec{}},
		{"-1x100", false, thumbSpec{}},
		{"100x100tt", false, thumbSpec{}},
		{"99999999999999999999x1", false, thumbSpec{}},
		{"20000x1", false, thumbSpec{}},
		{"../x1", false, thumbSpec{}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := parseThumb(tt.in)
			if ok != tt.ok || ok && got != tt.want {
				t.Fatalf("parseThumb(%q) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// saveImage stores content as a record file and returns its name.
func saveImage(t testing.TB, s *Store, name string, content []byte) string {
	t.Helper()
	n, err := s.Save(context.Background(), "col", "rec", upload(name, content))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// decodeThumb makes the thumbnail and decodes it.
func decodeThumb(t *testing.T, s *Store, name, size string) (image.Image, string) {
	t.Helper()
	f, err := s.Thumb(context.Background(), "col", "rec", name, size)
	if err != nil {
		t.Fatalf("Thumb(%s): %v", size, err)
	}
	defer f.Close()
	img, format, err := image.Decode(f)
	if err != nil {
		t.Fatalf("decode thumb %s: %v", size, err)
	}
	return img, format
}

func TestThumbModes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, kind string) {
		s, _ := newTestStore(t, kind, Limits{})
		wide := saveImage(t, s, "wide.png", encodePNG(t, halves(400, 200, red, blue, false)))
		// tall: red on top, blue below.
		tall := saveImage(t, s, "tall.png", encodePNG(t, halves(200, 400, red, blue, true)))
		small := saveImage(t, s, "small.png", encodePNG(t, halves(40, 20, red, blue, false)))

		tests := []struct {
			scenario, file, size string
			w, h                 int
			at                   image.Point // a pixel to check, when check is set
			check                *color.RGBA
		}{
			{"WxH fills and crops the centre", wide, "100x100", 100, 100, image.Point{10, 50}, &red},
			{"WxH on the other side of the centre", wide, "100x100", 100, 100, image.Point{90, 50}, &blue},
			{"WxHt keeps the top", tall, "100x100t", 100, 100, image.Point{50, 95}, &red},
			{"WxHb keeps the bottom", tall, "100x100b", 100, 100, image.Point{50, 5}, &blue},
			{"WxH of a tall image crops top and bottom evenly", tall, "100x100", 100, 100, image.Point{50, 10}, &red},
			{"WxHf fits inside without cropping", wide, "100x100f", 100, 50, image.Point{}, nil},
			{"WxHf fits a tall image", tall, "100x100f", 50, 100, image.Point{}, nil},
			{"WxHf never enlarges", small, "100x100f", 40, 20, image.Point{}, nil},
			{"0xH keeps the aspect ratio", wide, "0x50", 100, 50, image.Point{}, nil},
			{"Wx0 keeps the aspect ratio", wide, "50x0", 50, 25, image.Point{}, nil},
			{"Wx0 may enlarge", small, "80x0", 80, 40, image.Point{}, nil},
			{"WxH may enlarge", small, "80x80", 80, 80, image.Point{}, nil},
			{"a 1 pixel side is kept", wide, "1x0", 1, 1, image.Point{}, nil},
		}
		for _, tt := range tests {
			t.Run(tt.scenario, func(t *testing.T) {
				img, format := decodeThumb(t, s, tt.file, tt.size)
				if b := img.Bounds(); b.Dx() != tt.w || b.Dy() != tt.h {
					t.Fatalf("thumb %s is %dx%d, want %dx%d", tt.size, b.Dx(), b.Dy(), tt.w, tt.h)
				}
				if format != "png" {
					t.Fatalf("format = %s, want png", format)
				}
				if tt.check != nil && !near(img.At(tt.at.X, tt.at.Y), *tt.check, 8) {
					t.Fatalf("pixel %v = %v, want %v", tt.at, img.At(tt.at.X, tt.at.Y), *tt.check)
				}
			})
		}
		t.Run("thumbnails are cached beside the file", func(t *testing.T) {
			key := "col/rec/thumbs_" + wide + "/100x100_" + wide
			fi, err := s.Backend().Stat(context.Background(), key)
			if err != nil {
				t.Fatal(err)
			}
			// A second call serves the stored thumbnail, not a new one.
			made := s.thumbs.made.Load()
			f, err := s.Thumb(context.Background(), "col", "rec", wide, "100x100")
			if err != nil {
				t.Fatal(err)
			}
			f.Close()
			if f.Info().Key != key || f.Info().ETag != fi.ETag || s.thumbs.made.Load() != made {
				t.Fatalf("thumbnail was made again: %+v, stored %+v", f.Info(), fi)
			}
		})
	})
}

func TestThumbFormats(t *testing.T) {
	forEachBackend(t, func(t *testing.T, kind string) {
		s, _ := newTestStore(t, kind, Limits{})
		src := halves(60, 30, red, blue, false)
		tests := []struct {
			scenario, name string
			content        []byte
			format         string
		}{
			{"JPEG stays JPEG", "a.jpg", encodeJPEG(t, src), "jpeg"},
			{"PNG stays PNG", "a.png", encodePNG(t, src), "png"},
			{"GIF stays GIF", "a.gif", encodeGIF(t, src), "gif"},
			{"WebP becomes PNG", "a.webp", solidWebP(60, 30, color.NRGBA(red)), "png"},
		}
		for _, tt := range tests {
			t.Run(tt.scenario, func(t *testing.T) {
				name := saveImage(t, s, tt.name, tt.content)
				img, format := decodeThumb(t, s, name, "20x20")
				if format != tt.format {
					t.Fatalf("format = %s, want %s", format, tt.format)
				}
				if b := img.Bounds(); b.Dx() != 20 || b.Dy() != 20 {
					t.Fatalf("size %v", b)
				}
				if !near(img.At(2, 10), red, 40) {
					t.Fatalf("left pixel = %v, want red", img.At(2, 10))
				}
			})
		}
		t.Run("a file that is not an image fails", func(t *testing.T) {
			name := saveImage(t, s, "a.png", []byte("not an image at all"))
			if _, err := s.Thumb(context.Background(), "col", "rec", name, "20x20"); err == nil {
				t.Fatal("no error")
			}
			if keys := keysUnder(t, s, "col/rec/thumbs_"+name+"/"); len(keys) != 0 {
				t.Fatalf("thumbs folder holds %v after a failure", keys)
			}
		})
		t.Run("a missing original fails", func(t *testing.T) {
			if _, err := s.Thumb(context.Background(), "col", "rec", "missing.png", "20x20"); err == nil {
				t.Fatal("no error")
			}
		})
		t.Run("a malformed size fails", func(t *testing.T) {
			name := saveImage(t, s, "b.png", encodePNG(t, src))
			if _, err := s.Thumb(context.Background(), "col", "rec", name, "../20x20"); err == nil {
				t.Fatal("no error")
			}
		})
	})
}

func TestThumbEXIFOrientation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, kind string) {
		s, _ := newTestStore(t, kind, Limits{})
		// Stored 80x40, left half red, right half blue.
		raw := encodeJPEG(t, halves(80, 40, red, blue, false))
		tests := []struct {
			scenario    string
			orientation uint16
			bigEndian   bool
			w, h        int
			// where red is once shown upright
			redAt, blueAt image.Point
		}{
			{"1 is upright", 1, false, 40, 20, image.Point{5, 10}, image.Point{35, 10}},
			{"2 mirrors", 2, false, 40, 20, image.Point{35, 10}, image.Point{5, 10}},
			{"3 turns upside down", 3, true, 40, 20, image.Point{35, 10}, image.Point{5, 10}},
			{"6 rotates clockwise: left goes to the top", 6, false, 20, 40, image.Point{10, 5}, image.Point{10, 35}},
			{"6 in a big-endian block", 6, true, 20, 40, image.Point{10, 5}, image.Point{10, 35}},
			{"8 rotates counter-clockwise: left goes to the bottom", 8, false, 20, 40, image.Point{10, 35}, image.Point{10, 5}},
			{"5 transposes: left goes to the top", 5, false, 20, 40, image.Point{10, 5}, image.Point{10, 35}},
			{"7 transverses: left goes to the bottom", 7, false, 20, 40, image.Point{10, 35}, image.Point{10, 5}},
		}
		for _, tt := range tests {
			t.Run(tt.scenario, func(t *testing.T) {
				name := saveImage(t, s, "photo.jpg", withOrientation(raw, tt.orientation, tt.bigEndian))
				size := "40x0"
				if tt.h > tt.w {
					size = "0x40"
				}
				img, _ := decodeThumb(t, s, name, size)
				if b := img.Bounds(); b.Dx() != tt.w || b.Dy() != tt.h {
					t.Fatalf("thumb is %dx%d, want %dx%d", b.Dx(), b.Dy(), tt.w, tt.h)
				}
				if !near(img.At(tt.redAt.X, tt.redAt.Y), red, 40) || !near(img.At(tt.blueAt.X, tt.blueAt.Y), blue, 40) {
					t.Fatalf("red at %v = %v, blue at %v = %v", tt.redAt, img.At(tt.redAt.X, tt.redAt.Y), tt.blueAt, img.At(tt.blueAt.X, tt.blueAt.Y))
				}
			})
		}
		t.Run("crop anchors follow the upright image", func(t *testing.T) {
			// Upright (orientation 6) the image is 40x80, red on top: 't' keeps red.
			name := saveImage(t, s, "photo.jpg", withOrientation(raw, 6, false))
			img, _ := decodeThumb(t, s, name, "20x20t")
			if !near(img.At(10, 18), red, 40) {
				t.Fatalf("bottom of a top crop = %v, want red", img.At(10, 18))
			}
			img, _ = decodeThumb(t, s, name, "20x20b")
			if !near(img.At(10, 2), blue, 40) {
				t.Fatalf("top of a bottom crop = %v, want blue", img.At(10, 2))
			}
		})
		t.Run("malformed EXIF is ignored", func(t *testing.T) {
			for _, b := range [][]byte{
				nil,
				{0xFF, 0xD8},
				{0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x01},
				append([]byte{0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x10}, "Exif\x00\x00II\x2a\x00\xff\xff\xff\xff"...),
				append([]byte{0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xFF}, "Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\xff\xff"...),
			} {
				if o := jpegOrientation(b); o != 1 {
					t.Errorf("jpegOrientation(%x) = %d, want 1", b, o)
				}
			}
		})
	})
}

func TestThumbConcurrent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, kind string) {
		s, _ := newTestStore(t, kind, Limits{})
		name := saveImage(t, s, "big.png", encodePNG(t, halves(1200, 800, red, blue, false)))
		const n = 12
		var wg sync.WaitGroup
		results := make([][]byte, n)
		errs := make([]error, n)
		start := make(chan struct{})
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				<-start
				f, err := s.Thumb(context.Background(), "col", "rec", name, "300x200")
				if err != nil {
					errs[i] = err
					return
				}
				defer f.Close()
				results[i], errs[i] = io.ReadAll(f)
			}(i)
		}
		close(start)
		wg.Wait()
		for i := 0; i < n; i++ {
			if errs[i] != nil {
				t.Fatalf("request %d: %v", i, errs[i])
			}
			if !bytes.Equal(results[i], results[0]) {
				t.Fatalf("request %d got different bytes", i)
			}
			img, _, err := image.Decode(bytes.NewReader(results[i]))
			if err != nil || img.Bounds().Dx() != 300 || img.Bounds().Dy() != 200 {
				t.Fatalf("request %d: decode %v, %v", i, err, img)
			}
		}
		keys := keysUnder(t, s, "col/rec/thumbs_"+name+"/")
		if len(keys) != 1 || keys[0] != "col/rec/thumbs_"+name+"/300x200_"+name || s.thumbs.made.Load() != 1 {
			t.Fatalf("thumbs folder holds %v, %d made, want one thumbnail and no temporary file", keys, s.thumbs.made.Load())
		}
	})
}
