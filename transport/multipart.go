package transport

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"sync/atomic"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// multipartForm is gqlgen's transport.MultipartForm (the GraphQL multipart
// request spec: an "operations" part, a "map" part, then one part per file,
// with the same error messages and statuses) with two differences:
//   - files that do not fit in memory are spooled into tempDir (the file
//     store's temporary folder, which the server empties at start, so a crash
//     mid-upload leaves nothing behind) instead of os.TempDir();
//   - memory is bounded per request (maxMemory in all, not per file and not
//     decided by a Content-Length the client may omit), a body over
//     maxUploadSize is a 413 PAYLOAD_TOO_LARGE, and a map path that does not
//     fit the variables is a 422 instead of a panic.
type multipartForm struct {
	limits    *atomic.Pointer[Limits] // MaxUploadBytes is maxUploadSize
	maxMemory int64
	tempDir   func() string // "" or nil: os.TempDir()
}

var _ graphql.Transport = multipartForm{}

// Supports implements graphql.Transport: POST multipart/form-data.
func (f multipartForm) Supports(r *http.Request) bool {
	if r.Header.Get("Upgrade") != "" {
		return false
	}
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && r.Method == http.MethodPost && mediaType == "multipart/form-data"
}

// spool holds the temporary files of one request.
type spool struct {
	dir   string
	names []string
	open  []*os.File
}

// create returns a new temporary file in the spool's folder.
func (s *spool) create() (*os.File, error) {
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return nil, fmt.Errorf("create temporary folder: %w", err)
	}
	tmp, err := os.CreateTemp(s.dir, "upload-*")
	if err != nil {
		return nil, fmt.Errorf("create temporary file: %w", err)
	}
	s.names = append(s.names, tmp.Name())
	return tmp, nil
}

// cleanup closes and removes every temporary file.
func (s *spool) cleanup() {
	for _, f := range s.open {
		_ = f.Close()
	}
	for _, n := range s.names {
		_ = os.Remove(n)
	}
}

// Do implements graphql.Transport.
func (f multipartForm) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	w.Header().Set("Content-Type", "application/json")
	start := graphql.Now()
	maxUploadSize := f.limits.Load().MaxUploadBytes
	if r.ContentLength > maxUploadSize {
		tooLarge(w, maxUploadSize)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxUploadSize)
	defer r.Body.Close()
	fail := func(err error, format string, args ...any) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			tooLarge(w, maxUploadSize)
			return
		}
		w.WriteHeader(http.StatusUnprocessableEntity)
		writeJSONErrors(w, &gqlerror.Error{Message: fmt.Sprintf(format, args...)})
	}

	mr, err := r.MultipartReader()
	if err != nil {
		fail(err, "failed to parse multipart form")
		return
	}
	part, err := mr.NextPart()
	if err != nil || part.FormName() != "operations" {
		fail(err, "first part must be operations")
		return
	}
	var params graphql.RawParams
	dec := json.NewDecoder(part)
	dec.UseNumber()
	if err := dec.Decode(&params); err != nil {
		fail(err, "operations form field could not be decoded")
		return
	}
	part, err = mr.NextPart()
	if err != nil || part.FormName() != "map" {
		fail(err, "second part must be map")
		return
	}
	uploadsMap := map[string][]string{}
	if err := json.NewDecoder(part).Decode(&uploadsMap); err != nil {
		fail(err, "map form field could not be decoded")
		return
	}

	sp := &spool{dir: os.TempDir()}
	if f.tempDir != nil {
		if d := f.tempDir(); d != "" {
			sp.dir = d
		}
	}
	defer sp.cleanup()
	memLeft := f.maxMemory
	for {
		part, err = mr.NextPart()
		if err == io.EOF {
			break
		} else if err != nil {
			fail(err, "failed to parse part")
			return
		}
		key := part.FormName()
		paths := uploadsMap[key]
		if len(paths) == 0 {
			fail(nil, "invalid empty operations paths list for key %s", key)
			return
		}
		delete(uploadsMap, key)
		uploads, err := f.readFile(part, sp, &memLeft, len(paths))
		if err != nil {
			fail(err, "failed to read file for key %s", key)
			return
		}
		for i, path := range paths {
			if gerr := addUpload(&params, uploads[i], key, path); gerr != nil {
				w.WriteHeader(http.StatusUnprocessableEntity)
				writeJSONErrors(w, gerr)
				return
			}
		}
	}
	for key := range uploadsMap {
		fail(nil, "failed to get key %s from form", key)
		return
	}

	params.Headers = r.Header
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}
	rc, gerr := exec.CreateOperationContext(r.Context(), &params)
	if gerr != nil {
		resp := exec.DispatchError(graphql.WithOperationContext(r.Context(), rc), gerr)
		if errcode.GetErrorKind(gerr) == errcode.KindProtocol {
			w.WriteHeader(http.StatusUnprocessableEntity)
		}
		b, _ := json.Marshal(resp)
		_, _ = w.Write(b)
		return
	}
	responses, ctx := exec.DispatchOperation(r.Context(), rc)
	writeResponse(w, responses(ctx))
}

// readFile reads one file part: into memory while the request's memory
// budget *memLeft lasts, else into a temporary file of sp. It returns n
// uploads of it, each with its own read position.
func (f multipartForm) readFile(part *multipart.Part, sp *spool, memLeft *int64, n int) ([]graphql.Upload, error) {
	up := graphql.Upload{Filename: part.FileName(), ContentType: part.Header.Get("Content-Type")}
	var buf bytes.Buffer
	m, err := io.CopyN(&buf, part, *memLeft+1)
	if err != nil && err != io.EOF {
		return nil, err
	}
	out := make([]graphql.Upload, n)
	if m <= *memLeft {
		*memLeft -= m
		b := buf.Bytes()
		for i := range out {
			out[i] = up
			out[i].File = bytes.NewReader(b)
			out[i].Size = m
		}
		return out, nil
	}
	*memLeft = 0 // what is read so far goes to the file too
	tmp, err := sp.create()
	if err != nil {
		return nil, err
	}
	size, err := io.Copy(tmp, io.MultiReader(&buf, part))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	for i := range out {
		fh, err := os.Open(tmp.Name())
		if err != nil {
			return nil, fmt.Errorf("open temporary file: %w", err)
		}
		sp.open = append(sp.open, fh)
		out[i] = up
		out[i].File = fh
		out[i].Size = size
	}
	return out, nil
}

// addUpload is RawParams.AddUpload, with a path that does not fit the
// variables (a list index into an object, an index out of range) an error
// rather than a panic.
func addUpload(params *graphql.RawParams, up graphql.Upload, key, path string) (gerr *gqlerror.Error) {
	defer func() {
		if recover() != nil {
			gerr = gqlerror.Errorf("invalid operations paths for key %s", key)
		}
	}()
	return params.AddUpload(up, key, path)
}

// writeJSONErrors writes a response of errs alone.
func writeJSONErrors(w io.Writer, errs ...*gqlerror.Error) {
	b, _ := json.Marshal(&graphql.Response{Errors: errs})
	_, _ = w.Write(b)
}
