package files

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
)

// Limits bound the memory thumbnails may use; zero fields take the
// defaults. Decoding an image takes width × height × bytes per pixel (a
// 400 KB PNG of 7240×7240 16-bit RGBA decodes to 420 MB), so the budget is
// in bytes, computed from the image header before decoding.
type Limits struct {
	// ThumbImageBytes is the most one source image may take decoded
	// (default 64 MiB); larger images are served without a thumbnail.
	ThumbImageBytes int64
	// ThumbTotalBytes is the most all thumbnail decodes in flight may take
	// together (default 128 MiB); further decodes wait for memory.
	ThumbTotalBytes int64
}

// Default thumbnail memory limits.
const (
	DefaultThumbImageBytes int64 = 64 << 20
	DefaultThumbTotalBytes int64 = 128 << 20
)

func (l Limits) withDefaults() Limits {
	if l.ThumbImageBytes <= 0 {
		l.ThumbImageBytes = DefaultThumbImageBytes
	}
	if l.ThumbTotalBytes <= 0 {
		l.ThumbTotalBytes = DefaultThumbTotalBytes
	}
	// One image must always fit, or its decode would wait forever.
	l.ThumbTotalBytes = max(l.ThumbTotalBytes, l.ThumbImageBytes)
	return l
}

// ErrThumbTooLarge is matched (errors.Is) by the error of a thumbnail whose
// source or result would take more memory than Limits allow.
var ErrThumbTooLarge = errors.New("image too large for a thumbnail")

// thumbCost returns the bytes that decoding the image f (its header read
// through a headReader) and making the thumbnail spec of it take. It fails
// for an unreadable header and, matching ErrThumbTooLarge, for a source or
// thumbnail over the fixed pixel limits.
func thumbCost(f *headReader, spec thumbSpec) (int64, error) {
	cfg, format, err := image.DecodeConfig(f)
	if err != nil {
		if f.err != nil { // image.DecodeConfig says "unknown format" for it
			return 0, f.err
		}
		return 0, fmt.Errorf("read image header: %w", err)
	}
	w, h := cfg.Width, cfg.Height
	if w <= 0 || h <= 0 || int64(w)*int64(h) > maxSourcePixels {
		return 0, fmt.Errorf("image of %dx%d: %w", w, h, ErrThumbTooLarge)
	}
	// The thumbnail (twice when it is rotated for EXIF), for either
	// orientation of the source.
	var out int64
	for _, d := range [][2]int{{w, h}, {h, w}} {
		_, ow, oh, err := spec.plan(d[0], d[1])
		if err != nil {
			return 0, fmt.Errorf("%w: %w", err, ErrThumbTooLarge)
		}
		out = max(out, 2*4*int64(ow)*int64(oh))
	}
	return decodeBytes(f, cfg, format) + out, nil
}

// decodeBytes estimates from above the memory the standard decoders
// allocate for an image of cfg in f (format as image.DecodeConfig names it).
func decodeBytes(f io.ReaderAt, cfg image.Config, format string) int64 {
	px := int64(cfg.Width) * int64(cfg.Height)
	switch format {
	case "jpeg":
		if n, ok := jpegDecodeBytes(f); ok {
			return n
		}
		return px * 15 // progressive 4:4:4: 3 samples, each with int32 coefficients
	case "png":
		n := px * bytesPerPixel(cfg.ColorModel)
		var ihdr [29]byte
		if _, err := f.ReadAt(ihdr[:], 0); err != nil || ihdr[28] != 0 {
			n *= 2 // Adam7: each pass is decoded into its own image first
		}
		return n
	case "webp":
		switch cfg.ColorModel {
		case color.YCbCrModel: // lossy 4:2:0
			return px * 3 / 2
		case color.NYCbCrAModel:
			return px * 5 / 2
		}
		return px * 8 // lossless: NRGBA plus the decoder's uint32 pixels
	}
	return px * bytesPerPixel(cfg.ColorModel)
}

// bytesPerPixel returns the size of one pixel of an image of model m
// (8 for models it does not know).
func bytesPerPixel(m color.Model) int64 {
	switch m {
	case color.GrayModel, color.AlphaModel:
		return 1
	case color.Gray16Model, color.Alpha16Model:
		return 2
	case color.YCbCrModel:
		return 3
	case color.RGBAModel, color.NRGBAModel, color.CMYKModel, color.NYCbCrAModel:
		return 4
	case color.RGBA64Model, color.NRGBA64Model:
		return 8
	}
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	return 8
}

// jpegDecodeBytes reads the frame header (SOFn) of the JPEG in f and
// returns what image/jpeg allocates for it: every component's samples at
// their subsampled, block-aligned size, int32 coefficients (4 bytes a
// sample) more for progressive JPEGs, and a CMYK image for four
// components. ok is false when no frame header comes before the scan data.
func jpegDecodeBytes(f io.ReaderAt) (n int64, ok bool) {
	var b [4]byte
	pos := int64(2) // after SOI
	for seg := 0; seg < 4096; seg++ {
		if _, err := f.ReadAt(b[:], pos); err != nil || b[0] != 0xFF {
			return 0, false
		}
		marker := b[1]
		switch {
		case marker == 0xFF: // fill byte
			pos++
			continue
		case marker == 0x01 || marker >= 0xD0 && marker <= 0xD8: // no length
			pos += 2
			continue
		case marker == 0xDA || marker == 0xD9: // scan data or end: no frame header
			return 0, false
		}
		size := int64(b[2])<<8 | int64(b[3])
		if size < 2 {
			return 0, false
		}
		if marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC {
			progressive := marker == 0xC2 || marker == 0xC6 || marker == 0xCA || marker == 0xCE
			return sofBytes(f, pos+4, progressive)
		}
		pos += 2 + size
	}
	return 0, false
}

// sofBytes reads a frame header's body at off (see jpegDecodeBytes).
func sofBytes(f io.ReaderAt, off int64, progressive bool) (int64, bool) {
	var hdr [6]byte // precision, height, width, components
	if _, err := f.ReadAt(hdr[:], off); err != nil {
		return 0, false
	}
	h, w, nc := int64(hdr[1])<<8|int64(hdr[2]), int64(hdr[3])<<8|int64(hdr[4]), int(hdr[5])
	if w == 0 || h == 0 || nc == 0 || nc > 4 {
		return 0, false
	}
	comps := make([]byte, 3*nc)
	if _, err := f.ReadAt(comps, off+6); err != nil {
		return 0, false
	}
	hmax, vmax := int64(1), int64(1)
	for i := 0; i < nc; i++ {
		hmax = max(hmax, int64(comps[3*i+1]>>4))
		vmax = max(vmax, int64(comps[3*i+1]&15))
	}
	mxx, myy := (w+8*hmax-1)/(8*hmax), (h+8*vmax-1)/(8*vmax) // MCUs
	var n int64
	for i := 0; i < nc; i++ {
		hi, vi := max(1, int64(comps[3*i+1]>>4)), max(1, int64(comps[3*i+1]&15))
		samples := mxx * hi * 8 * myy * vi * 8
		n += samples
		if progressive {
			n += 4 * samples
		}
	}
	if nc == 4 {
		n += 4 * w * h
	}
	return n, true
}

// Sizes of the start of an image that a headReader keeps.
const (
	headFirst = 16 << 10 // the first request
	headMax   = 1 << 20  // reads past it go to the source each time
)

// headReader reads the header of an image: the start of the source is
// fetched in ranges that double (16 KiB, 32 KiB, ... up to 1 MiB) and kept,
// so that image.DecodeConfig and the header parsers above cost one or two
// requests to a bucket, and the rest of the image is never fetched. It is
// an io.Reader from the start and an io.ReaderAt.
type headReader struct {
	src  io.ReaderAt
	size int64
	buf  []byte // src[0:len(buf)]
	off  int64  // of Read
	err  error  // the first failure to fetch
}

func newHeadReader(src io.ReaderAt, size int64) *headReader {
	return &headReader{src: src, size: size}
}

// ReadAt reads from the kept start, fetching more of it first when needed.
func (h *headReader) ReadAt(p []byte, off int64) (int, error) {
	if off >= h.size {
		return 0, io.EOF
	}
	end := min(off+int64(len(p)), h.size)
	if have := int64(len(h.buf)); end > have && have < min(h.size, headMax) {
		want := min(h.size, headMax, max(end, 2*have, headFirst))
		grown := make([]byte, want)
		copy(grown, h.buf)
		if _, err := h.src.ReadAt(grown[have:], have); err != nil && !(errors.Is(err, io.EOF) && want == h.size) {
			if h.err == nil {
				h.err = fmt.Errorf("read the image header: %w", err)
			}
			return 0, h.err
		}
		h.buf = grown
	}
	if end > int64(len(h.buf)) {
		return h.src.ReadAt(p, off)
	}
	n := copy(p, h.buf[off:end])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Read reads on from the last Read.
func (h *headReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, err := h.ReadAt(p, h.off)
	h.off += int64(n)
	if n > 0 && errors.Is(err, io.EOF) {
		err = nil
	}
	return n, err
}
