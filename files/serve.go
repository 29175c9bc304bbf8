package files

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// serveObject answers r with obj through http.ServeContent, which handles
// HEAD, the validators (ETag from obj, Last-Modified from its ModTime,
// compared to the second) and a single byte range (206). A request for
// several ranges is answered 416, as an unsatisfiable range, after the
// same precondition checks (If-None-Match still gives 304, a failed
// If-Range still gives the whole file). From a backend that can fetch a
// range (S3), the range served is fetched with one request for just
// those bytes; a whole file is streamed, never read whole into memory.
func serveObject(w http.ResponseWriter, r *http.Request, name string, obj Object) {
	info := obj.Info()
	if info.ETag != "" {
		w.Header().Set("ETag", info.ETag)
	}
	if rangeCount(r.Header.Get("Range")) > 1 {
		// A start at the end never overlaps: ServeContent answers 416
		// with "Content-Range: bytes */size" once the preconditions
		// and If-Range are checked.
		r2 := *r
		r2.Header = r.Header.Clone()
		r2.Header.Set("Range", "bytes="+strconv.FormatInt(info.Size, 10)+"-")
		r = &r2
	}
	var content io.ReadSeeker = obj
	if g, ok := obj.(rangeGetter); ok {
		rr := &rangedReader{get: g.get, size: info.Size, header: w.Header()}
		defer rr.Close()
		content = rr
	}
	http.ServeContent(w, r, name, info.ModTime, content)
}

// rangeCount returns the number of ranges of a "bytes=" Range header (0
// for none or another unit), counted as net/http parses them.
func rangeCount(h string) int {
	spec, ok := strings.CutPrefix(h, "bytes=")
	if !ok {
		return 0
	}
	n := 0
	for part := range strings.SplitSeq(spec, ",") {
		if strings.TrimSpace(part) != "" {
			n++
		}
	}
	return n
}

// rangeGetter is an object that can open the bytes [from, to] of itself
// with one request (to 0: to the end): the S3 object.
type rangeGetter interface {
	get(from, to int64) (io.ReadCloser, error)
}

// rangedReader reads an S3 object as a stream: a read opens a request from
// its offset to the end, kept while reads follow on. Given the response
// header (for ServeContent, which sets Content-Range before it seeks to
// the range and copies it), the first read at the range's start opens a
// request for just that range. Reads past a bounded
// request's end reopen from there, so a wrong guess costs a request, not
// a short answer (the tests of S3 ranges pin the byte counts).
type rangedReader struct {
	get    func(from, to int64) (io.ReadCloser, error)
	size   int64
	header http.Header // the response's: Content-Range as ServeContent set it (nil: none)
	off    int64       // the reader's offset
	body   io.ReadCloser
	at     int64 // the offset body is at
	end    int64 // where body ends (exclusive)
}

func (r *rangedReader) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	if r.body != nil && (r.at != r.off || r.at >= r.end) {
		r.body.Close()
		r.body = nil
	}
	if r.body == nil {
		from, to := r.off, int64(0)
		if start, last, ok := contentRange(r.header.Get("Content-Range")); ok && start == r.off && last < r.size-1 {
			to = last
		}
		body, err := r.get(from, to)
		if err != nil {
			return 0, err
		}
		r.body, r.at, r.end = body, from, r.size
		if to > 0 {
			r.end = to + 1
		}
	}
	n, err := r.body.Read(p[:min(int64(len(p)), r.end-r.at)])
	r.off += int64(n)
	r.at += int64(n)
	if err == io.EOF {
		if r.at < r.end {
			return n, fmt.Errorf("files: range ended at %d of %d: %w", r.at, r.end, io.ErrUnexpectedEOF)
		}
		err = nil
	}
	return n, err
}

func (r *rangedReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		offset += r.off
	case io.SeekEnd:
		offset += r.size
	}
	if offset < 0 {
		return 0, fmt.Errorf("files: seek to %d, before the start", offset)
	}
	r.off = offset
	return offset, nil
}

// Close closes the open request, if any.
func (r *rangedReader) Close() error {
	if r.body == nil {
		return nil
	}
	err := r.body.Close()
	r.body = nil
	return err
}

// contentRange parses "bytes first-last/size".
func contentRange(h string) (first, last int64, ok bool) {
	spec, found := strings.CutPrefix(h, "bytes ")
	if !found {
		return 0, 0, false
	}
	spec, _, _ = strings.Cut(spec, "/")
	a, b, found := strings.Cut(spec, "-")
	if !found {
		return 0, 0, false
	}
	first, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(b, 10, 64)
	return first, last, err1 == nil && err2 == nil && first <= last
}
