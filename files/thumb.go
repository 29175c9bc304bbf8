package files

import (
	"bufio"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"path"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	xdraw "golang.org/x/image/draw"
	_ "golang.org/x/image/webp" // registers the webp decoder with image.Decode
	"golang.org/x/sync/semaphore"
)

// DefaultThumbs are the thumb sizes served for every image, besides those a
// field lists in its thumbs option (PocketBase's default).
var DefaultThumbs = []string{"100x100"}

// thumbsDirPrefix names the folder that holds a file's thumbnails:
// <record folder>/thumbs_<name>/<size>_<name>.
const thumbsDirPrefix = "thumbs_"

// Limits on thumbnail work: larger sources or outputs are served as the
// original instead.
const (
	maxThumbSide     = 10000
	maxThumbPixels   = 16 << 20 // of the generated thumbnail
	maxSourcePixels  = 50 << 20 // of the decoded original
	thumbJPEGQuality = 90
)

// thumbableTypes are the source types thumbnails are made of.
var thumbableTypes = map[string]bool{
	"image/jpeg": true, "image/png": true, "image/gif": true, "image/webp": true,
}

// thumbSpec is a parsed thumb size: WxH (fill, crop from the centre), WxHt
// (crop from the top), WxHb (from the bottom), WxHf (fit inside, no crop,
// never enlarged), 0xH or Wx0 (resize keeping the aspect ratio).
type thumbSpec struct {
	w, h int
	mode byte // 0 (centre), 't', 'b' or 'f'
}

// parseThumb parses a thumb size; ok is false for anything but the forms of
// thumbSpec within the size limits.
func parseThumb(s string) (t thumbSpec, ok bool) {
	ws, rest, found := strings.Cut(s, "x")
	if !found || ws == "" || rest == "" {
		return t, false
	}
	switch last := rest[len(rest)-1]; last {
	case 't', 'b', 'f':
		t.mode = last
		rest = rest[:len(rest)-1]
	}
	if !isDigits(ws) || !isDigits(rest) || len(ws) > 5 || len(rest) > 5 {
		return t, false
	}
	t.w, _ = strconv.Atoi(ws)
	t.h, _ = strconv.Atoi(rest)
	if t.w == 0 && t.h == 0 || t.w > maxThumbSide || t.h > maxThumbSide || t.w*t.h > maxThumbPixels {
		return t, false
	}
	return t, true
}

// plan returns the part of an upright sw×sh source to use and the size of
// the thumbnail, or an error when the thumbnail would be too large.
func (t thumbSpec) plan(sw, sh int) (crop image.Rectangle, ow, oh int, err error) {
	crop = image.Rect(0, 0, sw, sh)
	switch {
	case t.w == 0:
		ow, oh = max(1, roundDiv(sw*t.h, sh)), t.h
	case t.h == 0:
		ow, oh = t.w, max(1, roundDiv(sh*t.w, sw))
	case t.mode == 'f':
		switch {
		case sw <= t.w && sh <= t.h:
			ow, oh = sw, sh
		case sw*t.h > sh*t.w: // the source is wider than the box
			ow, oh = t.w, max(1, roundDiv(sh*t.w, sw))
		default:
			ow, oh = max(1, roundDiv(sw*t.h, sh)), t.h
		}
	default:
		ow, oh = t.w, t.h
		if sw*t.h > sh*t.w { // wider: keep the full height, crop the sides
			cw := max(1, roundDiv(sh*t.w, t.h))
			x0 := (sw - cw) / 2
			crop = image.Rect(x0, 0, x0+cw, sh)
		} else { // taller: keep the full width, crop top and/or bottom
			ch := max(1, roundDiv(sw*t.h, t.w))
			y0 := (sh - ch) / 2
			switch t.mode {
			case 't':
				y0 = 0
			case 'b':
				y0 = sh - ch
			}
			crop = image.Rect(0, y0, sw, y0+ch)
		}
	}
	if ow > maxThumbSide || oh > maxThumbSide || ow*oh > maxThumbPixels {
		return crop, 0, 0, fmt.Errorf("thumbnail of %dx%d would be too large", ow, oh)
	}
	return crop, ow, oh, nil
}

func roundDiv(a, b int) int { return (2*a + b) / (2 * b) }

// thumbMaker makes thumbnails: one generation per thumbnail path at a time
// (concurrent requests for the same new thumbnail wait for the first), at
// most a few generations at once, and decodes only within a memory budget
// (see Limits).
type thumbMaker struct {
	mu      sync.Mutex
	pending map[string]*thumbCall
	slots   chan struct{}
	maxWait time.Duration
	limits  Limits
	mem     *semaphore.Weighted // bytes of decoded images in flight

	// Counts, read by the tests: generations holding a slot now, the
	// most at once, and thumbnails stored.
	active, peak, made atomic.Int64
}

type thumbCall struct {
	done chan struct{}
	err  error
}

func newThumbMaker(l Limits) *thumbMaker {
	return &thumbMaker{
		pending: map[string]*thumbCall{},
		slots:   make(chan struct{}, runtime.NumCPU()+2),
		maxWait: 60 * time.Second,
		limits:  l,
		mem:     semaphore.NewWeighted(l.ThumbTotalBytes),
	}
}

// ensure makes the thumbnail dstKey of the image srcKey on b unless it
// exists, encoding through tmpDir. It returns once dstKey exists or
// generation failed.
func (m *thumbMaker) ensure(ctx context.Context, b Backend, tmpDir, srcKey, dstKey string, spec thumbSpec) error {
	if _, err := b.Stat(ctx, dstKey); err == nil {
		return nil
	}
	id := b.Kind() + ":" + dstKey
	m.mu.Lock()
	if c, ok := m.pending[id]; ok {
		m.mu.Unlock()
		select {
		case <-c.done:
			return c.err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	c := &thumbCall{done: make(chan struct{})}
	m.pending[id] = c
	m.mu.Unlock()

	// The leader's cancellation must not fail the requests waiting on it.
	c.err = m.generate(context.WithoutCancel(ctx), b, tmpDir, srcKey, dstKey, spec)

	m.mu.Lock()
	delete(m.pending, id)
	m.mu.Unlock()
	close(c.done)
	return c.err
}

// generate waits for a free slot and for its memory, then stores the
// thumbnail. A source whose decoding would take more than
// Limits.ThumbImageBytes fails with ErrThumbTooLarge before decoding: only
// its header is read.
func (m *thumbMaker) generate(ctx context.Context, b Backend, tmpDir, srcKey, dstKey string, spec thumbSpec) (err error) {
	ctx, cancel := context.WithTimeout(ctx, m.maxWait)
	defer cancel()
	select {
	case m.slots <- struct{}{}:
		defer func() { <-m.slots }()
	case <-ctx.Done():
		return fmt.Errorf("wait for a thumbnail slot: %w", ctx.Err())
	}
	m.enter()
	defer m.active.Add(-1)
	// Another process (or a request that finished before we registered)
	// may have made it meanwhile.
	if _, err := b.Stat(ctx, dstKey); err == nil {
		return nil
	}
	name := path.Base(srcKey)
	defer func() {
		// Decoders of untrusted images have panicked before.
		if r := recover(); r != nil {
			err = fmt.Errorf("thumbnail of %s: panic: %v", name, r)
		}
	}()

	f, err := b.Open(ctx, srcKey)
	if err != nil {
		return err
	}
	defer f.Close()
	head := newHeadReader(f, f.Info().Size)
	cost, err := thumbCost(head, spec)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if cost > m.limits.ThumbImageBytes {
		return fmt.Errorf("%s needs %d bytes to decode, over the %d allowed: %w",
			name, cost, m.limits.ThumbImageBytes, ErrThumbTooLarge)
	}
	if err := m.mem.Acquire(ctx, cost); err != nil {
		return fmt.Errorf("wait for thumbnail memory: %w", err)
	}
	defer m.mem.Release(cost)

	img, format, err := decodeUpright(f, head, name)
	if err != nil {
		return err
	}
	thumb, err := makeThumb(img, spec)
	if err != nil {
		return err
	}
	err = putEncoded(ctx, b, tmpDir, dstKey, thumbContentType(format), func(w io.Writer) error {
		return encodeThumb(w, thumb, format, img.palette)
	})
	if err == nil {
		m.made.Add(1)
	}
	return err
}

// enter counts a generation that took a slot.
func (m *thumbMaker) enter() {
	n := m.active.Add(1)
	for p := m.peak.Load(); n > p && !m.peak.CompareAndSwap(p, n); p = m.peak.Load() {
	}
}

// putEncoded writes encode's output to a temporary file in tmpDir, then
// stores it at key on b.
func putEncoded(ctx context.Context, b Backend, tmpDir, key, contentType string, encode func(io.Writer) error) error {
	if err := os.MkdirAll(tmpDir, 0o755); err != nil {
		return fmt.Errorf("create temporary folder: %w", err)
	}
	tmp, err := os.CreateTemp(tmpDir, "thumb-*")
	if err != nil {
		return fmt.Errorf("create temporary file: %w", err)
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}()
	bw := bufio.NewWriter(tmp)
	if err := encode(bw); err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	size, err := tmp.Seek(0, io.SeekCurrent)
	if err != nil {
		return fmt.Errorf("measure: %w", err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("rewind: %w", err)
	}
	return b.Put(ctx, key, tmp, size, contentType)
}

// thumbContentType is the type encodeThumb writes for a source format.
func thumbContentType(format string) string {
	switch format {
	case "jpeg":
		return "image/jpeg"
	case "gif":
		return "image/gif"
	}
	return "image/png"
}

// sourceImage is a decoded image with its EXIF orientation (1 = upright).
type sourceImage struct {
	image.Image
	orientation int
	palette     color.Palette // for GIF sources
}

// decodeUpright decodes the image in f (first frame of animations, read
// as one stream) and reads its EXIF orientation (JPEG only) from head, its
// start; name is for messages. The caller has checked its size
// (thumbCost).
func decodeUpright(f io.ReadSeeker, head io.ReaderAt, name string) (*sourceImage, string, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, "", fmt.Errorf("rewind %s: %w", name, err)
	}
	img, format, err := image.Decode(f)
	if err != nil {
		return nil, "", fmt.Errorf("decode %s: %w", name, err)
	}
	src := &sourceImage{Image: img, orientation: 1}
	if p, ok := img.(*image.Paletted); ok {
		src.palette = p.Palette
	}
	if format == "jpeg" {
		start := make([]byte, 128<<10)
		n, _ := head.ReadAt(start, 0)
		src.orientation = jpegOrientation(start[:n])
	}
	return src, format, nil
}

// makeThumb crops and scales src (as displayed, after its EXIF orientation)
// to spec. The scaling is done in the stored orientation and only the small
// result is rotated.
func makeThumb(src *sourceImage, spec thumbSpec) (*image.RGBA, error) {
	b := src.Bounds()
	rw, rh := b.Dx(), b.Dy() // raw (stored) size
	o := src.orientation
	uw, uh := rw, rh // upright size
	if o >= 5 {
		uw, uh = rh, rw
	}
	crop, ow, oh, err := spec.plan(uw, uh)
	if err != nil {
		return nil, err
	}
	// The crop in stored coordinates: map two corners, order them.
	x0, y0 := toRaw(o, crop.Min.X, crop.Min.Y, rw, rh)
	x1, y1 := toRaw(o, crop.Max.X, crop.Max.Y, rw, rh)
	rawCrop := image.Rect(x0, y0, x1, y1).Canon().Add(b.Min)
	tw, th := ow, oh // the thumbnail in stored orientation
	if o >= 5 {
		tw, th = oh, ow
	}
	raw := image.NewRGBA(image.Rect(0, 0, tw, th))
	xdraw.BiLinear.Scale(raw, raw.Bounds(), src.Image, rawCrop, xdraw.Src, nil)
	if o <= 1 || o > 8 {
		return raw, nil
	}
	out := image.NewRGBA(image.Rect(0, 0, ow, oh))
	for y := 0; y < oh; y++ {
		for x := 0; x < ow; x++ {
			sx, sy := toRaw(o, x, y, tw-1, th-1)
			si := raw.PixOffset(sx, sy)
			di := out.PixOffset(x, y)
			copy(out.Pix[di:di+4], raw.Pix[si:si+4])
		}
	}
	return out, nil
}

// toRaw maps the point (x, y) of an image shown upright to the stored image
// of size w×h with EXIF orientation o. For pixel indices pass w-1 and h-1.
func toRaw(o, x, y, w, h int) (int, int) {
	switch o {
	case 2: // mirrored horizontally
		return w - x, y
	case 3: // rotated 180°
		return w - x, h - y
	case 4: // mirrored vertically
		return x, h - y
	case 5: // transposed
		return y, x
	case 6: // shown rotated 90° clockwise
		return y, h - x
	case 7: // transversed
		return w - y, h - x
	case 8: // shown rotated 90° counter-clockwise
		return w - y, x
	}
	return x, y
}

// encodeThumb writes img as JPEG for JPEG sources, GIF (with the source's
// palette) for GIF sources, and PNG otherwise (webp included: there is no
// webp encoder).
func encodeThumb(w io.Writer, img *image.RGBA, format string, palette color.Palette) error {
	switch format {
	case "jpeg":
		return jpeg.Encode(w, img, &jpeg.Options{Quality: thumbJPEGQuality})
	case "gif":
		if len(palette) == 0 {
			return gif.Encode(w, img, nil)
		}
		p := image.NewPaletted(img.Bounds(), palette)
		draw.FloydSteinberg.Draw(p, p.Bounds(), img, image.Point{})
		return gif.Encode(w, p, nil)
	default:
		return png.Encode(w, img)
	}
}

// jpegOrientation returns the EXIF orientation (1..8) found in the leading
// bytes of a JPEG file, 1 when there is none.
func jpegOrientation(b []byte) int {
	if len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 {
		return 1
	}
	for i := 2; i+4 <= len(b); {
		if b[i] != 0xFF {
			return 1
		}
		marker := b[i+1]
		switch {
		case marker == 0xFF: // fill byte
			i++
			continue
		case marker == 0x01 || marker >= 0xD0 && marker <= 0xD8: // no length
			i += 2
			continue
		case marker == 0xDA || marker == 0xD9: // image data starts: no EXIF after it
			return 1
		}
		size := int(b[i+2])<<8 | int(b[i+3])
		if size < 2 {
			return 1
		}
		seg := b[i+4 : min(len(b), i+2+size)]
		if marker == 0xE1 && len(seg) >= 6 && string(seg[:6]) == "Exif\x00\x00" {
			if o := tiffOrientation(seg[6:]); o != 0 {
				return o
			}
		}
		i += 2 + size
	}
	return 1
}

// tiffOrientation reads tag 0x0112 of IFD0 of a TIFF (EXIF) block; 0 when
// absent or malformed.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 0
	}
	var little bool
	switch string(t[:2]) {
	case "II":
		little = true
	case "MM":
	default:
		return 0
	}
	u16 := func(i int) int {
		if little {
			return int(t[i]) | int(t[i+1])<<8
		}
		return int(t[i])<<8 | int(t[i+1])
	}
	u32 := func(i int) int { // fits an int on 64-bit platforms
		if little {
			return u16(i) | u16(i+2)<<16
		}
		return u16(i)<<16 | u16(i+2)
	}
	if u16(2) != 42 {
		return 0
	}
	off := u32(4)
	if off < 8 || off+2 > len(t) {
		return 0
	}
	n := u16(off)
	for k := 0; k < n; k++ {
		e := off + 2 + 12*k
		if e+12 > len(t) {
			return 0
		}
		if u16(e) == 0x0112 {
			if v := u16(e + 8); v >= 1 && v <= 8 {
				return v
			}
			return 0
		}
	}
	return 0
}

// Thumb returns the thumbnail of a stored image at size (one of the forms
// of parseThumb), making and storing it beside the original on first use.
// It fails for a missing original (when no thumbnail is stored), a source
// that is not a decodable image,
// a malformed size, and a source over Limits.ThumbImageBytes (an error
// matching ErrThumbTooLarge); the caller closes the object.
func (s *Store) Thumb(ctx context.Context, collectionID, recordID, name, size string) (Object, error) {
	key, err := fileKey(collectionID, recordID, name)
	if err != nil {
		return nil, err
	}
	spec, ok := parseThumb(size)
	if !ok {
		return nil, fmt.Errorf("files: thumb size %q: %w", size, ErrBadPath)
	}
	b := s.Backend()
	dst := thumbKey(key, size)
	// A stored thumbnail is served at once (on S3: one HEAD, then the GET
	// as it is read). Thumbnails are removed with their original.
	if o, err := b.Open(ctx, dst); err == nil {
		return o, nil
	} else if !IsNotExist(err) {
		return nil, fmt.Errorf("files: thumb %s of %s: %w", size, name, err)
	}
	if _, err := b.Stat(ctx, key); err != nil {
		return nil, fmt.Errorf("files: thumb source: %w", err)
	}
	if err := s.thumbs.ensure(ctx, b, s.TempDir(), key, dst, spec); err != nil {
		return nil, fmt.Errorf("files: thumb %s of %s: %w", size, name, err)
	}
	o, err := b.Open(ctx, dst)
	if IsNotExist(err) {
		// Deleted between generation and open (the file was removed).
		return nil, fmt.Errorf("files: thumb %s of %s vanished: %w", size, name, err)
	}
	return o, err
}
