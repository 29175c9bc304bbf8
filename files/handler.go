package files

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/monobase/monobase/access"
	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/auth"
	"github.com/monobase/monobase/db"
)

// TokenChecker validates a short-lived file token (the ?token= query
// parameter) and returns ctx carrying its viewer. An invalid or expired
// token is an error. The auth service implements it.
type TokenChecker interface {
	AuthenticateFileToken(ctx context.Context, token string) (context.Context, error)
}

// Handler serves GET and HEAD /files/{collection}/{recordId}/{filename}
// (mount it at "/files/" without stripping the prefix). The collection is
// given by name or id; the file must be a value of one of the record's FILE
// fields and the viewer must pass the collection's view rule, otherwise the
// answer is 404 whatever the reason, so existence is not revealed. With
// ?token= the file token's viewer is used (an invalid token is 401); a
// protected field's file is served only with a valid file token (then
// under the view rule with the token's viewer), never to the viewer of the
// Authorization header. ?thumb=WxH[t|b|f] serves a thumbnail of an
// image when the size is a default one or listed in the field's thumbs
// (otherwise the original), ?download=1 forces an attachment. The view
// rule is checked by access.CanView with @request.method "GET" and
// @request.context "protectedFile". Answers carry the stored object's ETag
// and Last-Modified (a thumbnail's own), Cache-Control public only for a
// public view rule's unprotected, unhidden files, and honour
// If-None-Match and If-Modified-Since (304) and one byte range (206;
// several are 416): see serveObject.
func Handler(store *Store, d *db.DB, tokens TokenChecker) http.Handler {
	return &handler{store: store, db: d, tokens: tokens}
}

type handler struct {
	store  *Store
	db     *db.DB
	tokens TokenChecker
}

// inlineTypes are shown in the browser; everything else is an attachment.
// Active content (HTML, SVG, XML) is also sandboxed by the CSP header.
var inlineTypes = map[string]bool{
	"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true, "image/avif": true,
	"image/x-icon": true, "image/bmp": true, "image/svg+xml": true,
	"video/webm": true, "video/mp4": true, "video/ogg": true, "video/quicktime": true,
	"audio/mpeg": true, "audio/wave": true, "audio/ogg": true, "audio/aac": true, "audio/webm": true,
	"audio/aiff": true, "audio/midi": true, "audio/basic": true,
	"application/pdf": true, "text/plain": true, "text/csv": true, "text/markdown": true,
}

const contentSecurityPolicy = "default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'; sandbox"

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, apperr.New(apperr.Invalid, "method not allowed"), http.StatusMethodNotAllowed)
		return
	}
	collName, recordID, name, ok := parseFilePath(r.URL)
	if !ok {
		notFound(w)
		return
	}
	q := r.URL.Query()

	// A file token replaces the header's viewer. It is checked before
	// anything is looked up, so a bad token reveals nothing.
	ctx := r.Context()
	var tokenCtx context.Context
	if token := q.Get("token"); token != "" && h.tokens != nil {
		c, err := h.tokens.AuthenticateFileToken(ctx, token)
		if err != nil {
			if apperr.CodeOf(err) == apperr.Internal {
				h.internal(w, r, "check file token", err)
				return
			}
			writeError(w, apperr.New(apperr.Unauthenticated, "invalid or expired file token"), http.StatusUnauthorized)
			return
		}
		tokenCtx = c
	}

	coll, err := h.db.Collection(collName)
	if err != nil {
		if apperr.Is(err, apperr.NotFound) {
			notFound(w)
		} else {
			h.internal(w, r, "find collection", err)
		}
		return
	}
	recs, err := h.db.FindByIDs(ctx, coll, []string{recordID})
	if err != nil {
		h.internal(w, r, "find record", err)
		return
	}
	if len(recs) == 0 {
		notFound(w)
		return
	}
	field := fileFieldOf(coll, recs[0], name)
	if field == nil {
		notFound(w)
		return
	}

	viewCtx := ctx
	switch {
	case tokenCtx != nil:
		viewCtx = tokenCtx
	case field.Protected:
		// Only a file token opens a protected file, whatever the view
		// rule: without one, a public rule would make "protected" void.
		notFound(w)
		return
	}
	if field.Hidden && !auth.IsSuperuser(viewCtx) {
		notFound(w)
		return
	}
	allowed, err := access.CanView(viewCtx, h.db, coll, recordID, auth.ViewerFrom(viewCtx),
		access.Info{Method: http.MethodGet, Context: "protectedFile"})
	if err != nil {
		switch apperr.CodeOf(err) {
		case apperr.NotFound, apperr.Forbidden, apperr.Unauthenticated:
			notFound(w)
		default:
			h.internal(w, r, "check view rule", err)
		}
		return
	}
	if !allowed {
		notFound(w)
		return
	}

	f, err := h.store.Open(ctx, coll.ID, recordID, name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			notFound(w)
		} else {
			h.internal(w, r, "open file", err)
		}
		return
	}
	defer func() { f.Close() }()
	ctype, err := objectType(f, name)
	if err != nil {
		h.internal(w, r, "read file", err)
		return
	}
	servedName := name

	if size := q.Get("thumb"); size != "" && thumbableTypes[ctype] &&
		(slices.Contains(DefaultThumbs, size) || slices.Contains(field.Thumbs, size)) {
		tf, err := h.store.Thumb(ctx, coll.ID, recordID, name, size)
		if err != nil {
			slog.WarnContext(ctx, "files: serving the original, thumbnail failed", "collection", coll.Name,
				"record", recordID, "file", name, "thumb", size, "err", err)
		} else if tctype, err := objectType(tf, name); err != nil {
			tf.Close()
			slog.WarnContext(ctx, "files: serving the original, thumbnail unreadable", "file", name, "err", err)
		} else {
			f.Close()
			f, ctype = tf, tctype
			servedName = size + "_" + name
		}
	}

	download, _ := strconv.ParseBool(q.Get("download"))
	disposition := "attachment"
	if !download && inlineTypes[ctype] {
		disposition = "inline"
	}
	hd := w.Header()
	hd.Set("Content-Type", contentTypeHeader(ctype))
	hd.Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": servedName}))
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Security-Policy", contentSecurityPolicy)
	hd.Del("X-Frame-Options") // uploaded files may be embedded
	// Stored names never change content (new uploads get new names), so
	// caches may keep them; files behind a rule or a token stay private.
	if coll.ViewRule != nil && *coll.ViewRule == "" && !field.Protected && !field.Hidden {
		hd.Set("Cache-Control", "public, max-age=2592000, stale-while-revalidate=86400")
	} else {
		hd.Set("Cache-Control", "private, max-age=2592000, stale-while-revalidate=86400")
		hd.Add("Vary", "Authorization")
	}
	serveObject(w, r, servedName, f)
}

// objectType returns the media type of an opened object: the one stored
// with it (S3), else sniffed from its first bytes (the local disk).
func objectType(o Object, name string) (string, error) {
	if t := o.Info().ContentType; t != "" {
		return baseType(t), nil
	}
	// ReadAt: from S3 a request for these bytes alone.
	head := make([]byte, sniffLen)
	n, err := o.ReadAt(head, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the start: %w", err)
	}
	return detectContentType(head[:n], name), nil
}

// contentTypeHeader adds a charset to text types.
func contentTypeHeader(t string) string {
	if textual(t) {
		return t + "; charset=utf-8"
	}
	return t
}

// parseFilePath splits /files/{collection}/{recordId}/{filename} (each
// segment percent-decoded). Anything else, or a segment that is empty,
// hidden, "." or "..", or holds a slash, backslash or NUL after decoding,
// is refused.
func parseFilePath(u *url.URL) (coll, recordID, name string, ok bool) {
	rest, found := strings.CutPrefix(u.EscapedPath(), "/files/")
	if !found {
		return "", "", "", false
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 {
		return "", "", "", false
	}
	for i, p := range parts {
		s, err := url.PathUnescape(p)
		if err != nil || !validSegment(s) {
			return "", "", "", false
		}
		parts[i] = s
	}
	return parts[0], parts[1], parts[2], true
}

// fileFieldOf returns the FILE field of c whose value in rec is or holds
// name, or nil.
func fileFieldOf(c *db.Collection, rec db.Record, name string) *db.Field {
	for _, f := range c.Fields {
		if f.Type != db.FieldFile {
			continue
		}
		switch v := rec[f.Name].(type) {
		case string:
			if v == name {
				return f
			}
		case []string:
			if slices.Contains(v, name) {
				return f
			}
		case []any:
			for _, x := range v {
				if s, _ := x.(string); s == name {
					return f
				}
			}
		}
	}
	return nil
}

// errorBody is a GraphQL-shaped error, like the rest of the HTTP API's.
type errorBody struct {
	Errors []errorItem `json:"errors"`
}

type errorItem struct {
	Message    string         `json:"message"`
	Extensions map[string]any `json:"extensions"`
}

func writeError(w http.ResponseWriter, e *apperr.Error, status int) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(errorBody{Errors: []errorItem{{
		Message:    e.Message,
		Extensions: map[string]any{"code": string(e.Code)},
	}}})
}

func notFound(w http.ResponseWriter) {
	writeError(w, apperr.New(apperr.NotFound, "file not found"), http.StatusNotFound)
}

func (h *handler) internal(w http.ResponseWriter, r *http.Request, what string, err error) {
	slog.ErrorContext(r.Context(), "files: "+what, "path", r.URL.Path, "err", err)
	writeError(w, apperr.New(apperr.Internal, "internal server error"), http.StatusInternalServerError)
}
