package files

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/db"
)

// Upload is one uploaded file as a transport received it; the GraphQL
// engine converts its Upload scalar to it, so files knows no GraphQL.
type Upload struct {
	File        io.ReadSeeker // the content; CheckUpload and Save rewind it
	Filename    string        // the client's file name
	Size        int64         // the declared size in bytes (the content's length wins when larger)
	ContentType string        // the client's declared media type (not trusted: the content is sniffed)
}

// DefaultMaxSize is the upload limit of a FILE field whose maxSize is 0.
const DefaultMaxSize int64 = 5 << 20

// sniffLen is how many leading bytes content sniffing reads.
const sniffLen = 512

// byExtension maps extensions whose content the sniffer cannot tell apart
// (SVG and CSS look like text, Office files like zip) to their type. It is
// consulted before the system's mime table, which differs between machines.
var byExtension = map[string]string{
	".svg":  "image/svg+xml",
	".css":  "text/css",
	".js":   "text/javascript",
	".mjs":  "text/javascript",
	".json": "application/json",
	".csv":  "text/csv",
	".md":   "text/markdown",
	".txt":  "text/plain",
	".xml":  "application/xml",
	".webp": "image/webp",
	".avif": "image/avif",
	".heic": "image/heic",
	".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
	".odt":  "application/vnd.oasis.opendocument.text",
}

// extensions is the stored extension for a detected type, used when the
// uploaded name has none.
var extensions = map[string]string{
	"image/jpeg":       ".jpg",
	"image/png":        ".png",
	"image/gif":        ".gif",
	"image/webp":       ".webp",
	"image/bmp":        ".bmp",
	"image/x-icon":     ".ico",
	"image/svg+xml":    ".svg",
	"application/pdf":  ".pdf",
	"application/zip":  ".zip",
	"text/plain":       ".txt",
	"text/html":        ".html",
	"text/xml":         ".xml",
	"application/json": ".json",
	"audio/mpeg":       ".mp3",
	"audio/wave":       ".wav",
	"video/mp4":        ".mp4",
	"video/webm":       ".webm",
	"font/woff":        ".woff",
	"font/woff2":       ".woff2",
}

// extensionFor returns the extension to store a file of contentType under,
// "" when unknown.
func extensionFor(contentType string) string {
	return extensions[baseType(contentType)]
}

// baseType returns the media type without parameters, lower-cased.
func baseType(contentType string) string {
	t, _, _ := strings.Cut(contentType, ";")
	return strings.ToLower(strings.TrimSpace(t))
}

// generic reports whether a sniffed type says little about the content, so
// that the extension may refine it.
func generic(t string) bool {
	switch t {
	case "application/octet-stream", "text/plain", "text/xml", "application/zip":
		return true
	}
	return false
}

// sniffable are types http.DetectContentType recognises from content: a
// file of one of them that was not sniffed as such is not one, whatever its
// extension says.
var sniffable = map[string]bool{
	"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true, "image/bmp": true,
	"image/x-icon": true, "application/pdf": true, "text/html": true, "audio/mpeg": true,
	"audio/wave": true, "audio/aiff": true, "audio/midi": true, "audio/basic": true,
	"video/mp4": true, "video/webm": true, "video/avi": true, "application/ogg": true,
	"application/zip": true, "application/x-gzip": true, "application/x-rar-compressed": true,
	"font/woff": true, "font/woff2": true, "font/ttf": true, "font/otf": true,
	"application/wasm": true, "application/postscript": true,
}

// detectContentType returns the media type (without parameters) of a file
// from its first bytes (http.DetectContentType); when those are
// inconclusive (binary, plain text, XML, zip) the extension of name may
// refine it, within the kind the content showed: text stays a text type,
// binary stays a binary type that the sniffer could not have recognised.
// So an HTML page named .png stays text/html and a zip named .png stays
// application/zip, while an SVG (sniffed as XML) becomes image/svg+xml.
func detectContentType(head []byte, name string) string {
	t := baseType(http.DetectContentType(head))
	if !generic(t) {
		return t
	}
	ext := strings.ToLower(filepath.Ext(name))
	if ext == "" {
		return t
	}
	byExt := byExtension[ext]
	if byExt == "" {
		byExt = baseType(mime.TypeByExtension(ext))
	}
	if byExt == "" || sniffable[byExt] || textual(t) != textual(byExt) {
		return t
	}
	return byExt
}

// textual reports whether a media type holds text.
func textual(t string) bool {
	return strings.HasPrefix(t, "text/") || strings.HasSuffix(t, "+xml") || strings.HasSuffix(t, "/json") ||
		strings.HasSuffix(t, "/xml") || t == "application/javascript"
}

// readHead reads up to sniffLen bytes from the start of r and rewinds it.
func readHead(r io.ReadSeeker) ([]byte, error) {
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("rewind: %w", err)
	}
	head := make([]byte, sniffLen)
	n, err := io.ReadFull(r, head)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("read: %w", err)
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("rewind: %w", err)
	}
	return head[:n], nil
}

// UploadContentType returns the detected media type of an upload (see
// CheckUpload) and rewinds it; it fails when the upload cannot be read.
func UploadContentType(up Upload) (string, error) {
	if up.File == nil {
		return "", errors.New("files: upload has no content")
	}
	head, err := readHead(up.File)
	if err != nil {
		return "", fmt.Errorf("files: sniff %s: %w", up.Filename, err)
	}
	return detectContentType(head, up.Filename), nil
}

// CheckUpload checks an upload against the FILE field f: its size against
// f.MaxSize (DefaultMaxSize when 0) and its detected type (the first 512
// bytes sniffed, the extension when they are inconclusive) against
// f.MimeTypes when set ("image/*" matches any image). It returns an
// apperr.Invalid error with a message under f.Name ("file_too_large",
// "invalid_mime_type", "invalid_file"), and leaves the upload rewound.
func CheckUpload(f *db.Field, up Upload) error {
	fail := func(code, format string, args ...any) error {
		var fe apperr.FieldErrors
		fe.Add(f.Name, code, format, args...)
		return fe.Err("invalid file")
	}
	if up.File == nil {
		return fail("invalid_file", "The file %q has no content.", cut(up.Filename))
	}
	size := up.Size
	if end, err := up.File.Seek(0, io.SeekEnd); err == nil && end > size {
		size = end // never trust a smaller declared size
	}
	head, err := readHead(up.File)
	if err != nil {
		return fail("invalid_file", "The file %q cannot be read.", cut(up.Filename))
	}
	limit := f.MaxSize
	if limit <= 0 {
		limit = DefaultMaxSize
	}
	if size > limit {
		return fail("file_too_large", "The file %q is too large: the maximum allowed size is %d bytes.", cut(up.Filename), limit)
	}
	if len(f.MimeTypes) == 0 {
		return nil
	}
	t := detectContentType(head, up.Filename)
	if mimeAllowed(t, f.MimeTypes) {
		return nil
	}
	return fail("invalid_mime_type", "The file %q has the type %s; allowed types are: %s.",
		cut(up.Filename), t, strings.Join(f.MimeTypes, ", "))
}

// aliases maps the non-standard spellings clients use to the canonical type.
var aliases = map[string]string{
	"image/jpg":          "image/jpeg",
	"image/pjpeg":        "image/jpeg",
	"image/x-png":        "image/png",
	"application/x-pdf":  "application/pdf",
	"audio/mp3":          "audio/mpeg",
	"audio/wav":          "audio/wave",
	"audio/x-wav":        "audio/wave",
	"application/x-zip":  "application/zip",
	"text/javascript":    "text/javascript",
	"application/x-json": "application/json",
}

func canonical(t string) string {
	t = baseType(t)
	if a, ok := aliases[t]; ok {
		return a
	}
	return t
}

// mimeAllowed reports whether t matches one of allowed ("type/*" matches
// every subtype).
func mimeAllowed(t string, allowed []string) bool {
	t = canonical(t)
	for _, a := range allowed {
		a = canonical(a)
		if a == t {
			return true
		}
		if prefix, ok := strings.CutSuffix(a, "/*"); ok && strings.HasPrefix(t, prefix+"/") {
			return true
		}
	}
	return false
}

// cut shortens a client-supplied name for messages.
func cut(s string) string {
	if len(s) > 100 {
		return s[:100] + "…"
	}
	return s
}
