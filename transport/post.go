package transport

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/monobase/monobase/apperr"
)

// postJSON is gqlgen's POST transport (application/json bodies) with a
// response writer that sends the executor's JSON as it is: gqltransport.POST
// marshals the response with encoding/json, which validates and compacts
// the whole data document again. Errors and status codes are gqlgen's,
// except that a body that is not JSON is never echoed in the error (gqlgen
// quotes the whole body), and a body that cannot be read answers 413, 408
// or 400 (gqlgen: 200). A body that is a JSON array is a batch (batch.go).
type postJSON struct {
	limits *atomic.Pointer[Limits] // the Handler's, for the batch cap (nil: the default)
}

var _ graphql.Transport = postJSON{}

// Supports implements graphql.Transport: a POST with a JSON body that is
// not a WebSocket upgrade (gqltransport.POST's test, without parsing the
// media type's parameters: mime.ParseMediaType allocates a map).
func (t postJSON) Supports(r *http.Request) bool {
	return r.Method == http.MethodPost && r.Header.Get("Upgrade") == "" && isJSON(r)
}

// Do implements graphql.Transport.
func (t postJSON) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	t.serve(w, r, r.Context(), exec)
}

// serve answers r on ctx (the Handler passes the engine's request
// context without copying r for it).
func (t postJSON) serve(w http.ResponseWriter, r *http.Request, ctx context.Context, exec graphql.GraphExecutor) {
	start := graphql.Now()
	body, err := io.ReadAll(r.Body)
	contentType := responseContentType(r)
	w.Header().Set("Content-Type", contentType)
	if err != nil {
		status, msg := readErrorStatus(err)
		w.WriteHeader(status)
		writeResponse(w, exec.DispatchError(ctx, gqlerror.List{msg}))
		return
	}
	if isBatch(body) {
		t.doBatch(w, r, ctx, exec, body, graphql.TraceTiming{Start: start, End: graphql.Now()})
		return
	}
	params := &graphql.RawParams{}
	if !decodeParams(body, params) {
		*params = graphql.RawParams{}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(params); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			msg := gqlerror.Errorf("json request body could not be decoded: %s", jsonErrorText(err))
			writeResponse(w, exec.DispatchError(ctx, gqlerror.List{msg}))
			return
		}
	}
	params.Headers = r.Header
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}
	if p, ok := exec.(Prepared); ok && p.RunPrepared(ctx, params, func(resp *graphql.Response) { writeResponse(w, resp) }) {
		return
	}
	ctx = graphql.StartOperationTrace(ctx) // the executor's timings start here
	oc, errs := exec.CreateOperationContext(ctx, params)
	if errs != nil {
		w.WriteHeader(requestErrorStatus(contentType, errs))
		writeResponse(w, exec.DispatchError(graphql.WithOperationContext(ctx, oc), errs))
		return
	}
	var responses graphql.ResponseHandler
	responses, ctx = exec.DispatchOperation(ctx, oc)
	writeResponse(w, responses(ctx))
}

// readErrorStatus returns the status and error for a body that could not
// be read: 413 past the size limit, 408 past the read deadline (a client
// that sends too slowly), else 400.
func readErrorStatus(err error) (int, *gqlerror.Error) {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		e := gqlerror.Errorf("the request body is larger than %d bytes", tooLarge.Limit)
		e.Extensions = map[string]any{"code": string(apperr.TooLarge)}
		return http.StatusRequestEntityTooLarge, e
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return http.StatusRequestTimeout, gqlerror.Errorf("the request body did not arrive in time")
	}
	return http.StatusBadRequest, gqlerror.Errorf("the request body could not be read")
}

// jsonErrorText describes a JSON decoding error without quoting the body
// beyond the one character a syntax error names.
func jsonErrorText(err error) string {
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		return fmt.Sprintf("%s (at byte %d)", syntax.Error(), syntax.Offset)
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		return fmt.Sprintf("%s has the wrong type (a JSON %s)", typ.Field, typ.Value)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "the body ends early"
	}
	return "not a JSON object"
}

// requestErrorStatus is gqlgen's status for errors found before execution:
// a request error (parse, validation, a cost limit) is 422, or 400 for
// application/graphql-response+json; others 200.
func requestErrorStatus(contentType string, errs gqlerror.List) int {
	if errcode.GetErrorKind(errs) != errcode.KindProtocol {
		return http.StatusOK
	}
	if contentType == "application/graphql-response+json" {
		return http.StatusBadRequest
	}
	return http.StatusUnprocessableEntity
}

// responseContentType is gqltransport.POST's choice of content type from the
// Accept header (application/json by default).
func responseContentType(r *http.Request) string {
	const (
		appJSON  = "application/json"
		gqlJSON  = "application/graphql-response+json"
		anyType  = "*/*"
		anyApp   = "application/*"
		fallback = gqlJSON
	)
	accept := r.Header.Get("Accept")
	switch accept {
	case "", appJSON, anyType: // the usual ones, without parsing
		return appJSON
	}
	for part := range strings.SplitSeq(accept, ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case anyType, anyApp, appJSON:
			return appJSON
		case gqlJSON:
			return gqlJSON
		}
	}
	return fallback
}

// appendResponseHead appends the start of a response as encoding/json
// writes a graphql.Response, up to its data: `{"errors":[…],"data":`, the
// errors only when there are some.
func appendResponseHead(dst []byte, errs gqlerror.List) []byte {
	dst = append(dst, '{')
	if len(errs) > 0 {
		b, err := json.Marshal(errs)
		if err != nil {
			b = []byte(`[{"message":"the errors could not be encoded"}]`)
		}
		dst = append(dst, `"errors":`...)
		dst = append(dst, b...)
		dst = append(dst, ',')
	}
	return append(dst, `"data":`...)
}

// AppendResponse appends the response of data and errs as encoding/json
// writes a graphql.Response: {"errors":[…],"data":…}, the errors only when
// there are some, data as it is (an engine's subscription fan-out encodes
// an event once this way for every Route.Send).
func AppendResponse(dst, data []byte, errs gqlerror.List) []byte {
	dst = appendResponseHead(dst, errs)
	return append(append(dst, data...), '}')
}

// writeResponse writes resp as encoding/json would (errors, data,
// extensions), with the data document copied as it is.
func writeResponse(w http.ResponseWriter, resp *graphql.Response) {
	if resp == nil || resp.Label != "" || resp.Path != nil || resp.HasNext != nil {
		b, err := json.Marshal(resp)
		if err != nil {
			b = []byte(`{"errors":[{"message":"the response could not be encoded"}],"data":null}`)
		}
		_, _ = w.Write(b)
		return
	}
	head := appendResponseHead(make([]byte, 0, 64), resp.Errors)
	data := []byte(resp.Data)
	if len(data) == 0 {
		data = []byte("null")
	}
	tail := []byte{'}'}
	if len(resp.Extensions) > 0 {
		b, err := json.Marshal(resp.Extensions)
		if err == nil {
			tail = append(append([]byte(`,"extensions":`), b...), '}')
		}
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(head)+len(data)+len(tail)))
	_, _ = w.Write(head)
	_, _ = w.Write(data)
	_, _ = w.Write(tail)
}
