package transport

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/gqlerr"
)

// Batched requests: a POST whose JSON body is an array of operations (as
// Apollo's BatchHttpLink sends) is answered with an array of their
// results, in the same order. The batch costs one unit of the /graphql
// path rate rule per operation (a 20-operation batch costs 20): the
// first when the request arrives, as for any request, the others once the
// array is read and before any operation runs; when they do not fit the
// whole batch is refused with HTTP 429 and RATE_LIMITED. Each operation
// then runs on its own, one after
// the other: its own cost limits, rate limits and errors (a parse error or
// a refused field in one leaves the others alone), and its own
// transaction for a mutation. The body limits apply to the whole body; an
// array of more than Limits.MaxBatchOperations operations, or an empty
// one, is refused as a whole with HTTP 400 before anything runs, and so is
// a body that is not valid JSON. A subscription in a batch gets an error
// (it needs a WebSocket or SSE). The answer is HTTP 200 whatever the
// operations' errors are (429 when a rate limit refused one of them, as
// the rate limiter marks the request).

// DefaultMaxBatchOperations is the default of Limits.MaxBatchOperations.
const DefaultMaxBatchOperations = 20

// isBatch reports whether body is a JSON array (its first byte other than
// white space is '[').
func isBatch(body []byte) bool {
	b := bytes.TrimLeft(body, " \t\r\n")
	return len(b) > 0 && b[0] == '['
}

// doBatch answers the batched request r, whose body is body, on ctx.
func (t postJSON) doBatch(w http.ResponseWriter, r *http.Request, ctx context.Context, exec graphql.GraphExecutor, body []byte, start graphql.TraceTiming) {
	max := DefaultMaxBatchOperations
	if t.limits != nil {
		max = t.limits.Load().MaxBatchOperations
	}
	var ops []json.RawMessage
	if err := json.Unmarshal(body, &ops); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		msg := gqlerror.Errorf("json request body could not be decoded: %s", jsonErrorText(err))
		writeResponse(w, exec.DispatchError(ctx, gqlerror.List{msg}))
		return
	}
	if len(ops) == 0 || len(ops) > max {
		msg := "a batch holds at least one operation"
		if len(ops) > max {
			msg = fmt.Sprintf("a batch may hold at most %d operations (this one has %d): split it", max, len(ops))
		}
		w.WriteHeader(http.StatusBadRequest)
		writeResponse(w, &graphql.Response{Errors: gqlerror.List{{Message: msg,
			Extensions: map[string]any{"code": string(apperr.Invalid)}}}})
		return
	}
	if err := takeBatch(exec, ctx, len(ops)-1); err != nil {
		// The rate limiter's Middleware answers it with 429 and Retry-After.
		writeResponse(w, &graphql.Response{Errors: gqlerror.List{gqlerr.Present(ctx, err)}})
		return
	}
	out := make([]byte, 0, 256*len(ops))
	out = append(out, '[')
	for i, op := range ops {
		if i > 0 {
			out = append(out, ',')
		}
		out = appendResponseJSON(out, runBatched(ctx, r, exec, op, start))
	}
	out = append(out, ']')
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	_, _ = w.Write(out)
}

// BatchCoster is what an Engine implements when a batch's extra
// operations cost rate-limit units: TakeBatch takes n more units for the
// request of ctx, or returns the error that refuses the whole batch.
type BatchCoster interface {
	TakeBatch(ctx context.Context, n int) error
}

// takeBatch takes the n extra units of a batch when exec counts them.
func takeBatch(exec graphql.GraphExecutor, ctx context.Context, n int) error {
	if c, ok := exec.(BatchCoster); ok {
		return c.TakeBatch(ctx, n)
	}
	return nil
}

// runBatched runs one operation of a batch and returns its response.
func runBatched(ctx context.Context, r *http.Request, exec graphql.GraphExecutor, op json.RawMessage, read graphql.TraceTiming) *graphql.Response {
	ctx = graphql.StartOperationTrace(ctx)
	params := &graphql.RawParams{}
	if !decodeParams(op, params) {
		*params = graphql.RawParams{}
		dec := json.NewDecoder(bytes.NewReader(op))
		dec.UseNumber()
		if err := dec.Decode(params); err != nil {
			msg := gqlerror.Errorf("json request body could not be decoded: %s", jsonErrorText(err))
			return exec.DispatchError(ctx, gqlerror.List{msg})
		}
	}
	params.Headers = r.Header
	params.ReadTime = read
	oc, errs := exec.CreateOperationContext(ctx, params)
	if errs != nil {
		return exec.DispatchError(graphql.WithOperationContext(ctx, oc), errs)
	}
	if oc.Operation != nil && oc.Operation.Operation == ast.Subscription {
		return &graphql.Response{Errors: gqlerror.List{{
			Message:    "a subscription cannot be part of a batch: subscribe over a WebSocket or SSE",
			Extensions: map[string]any{"code": string(apperr.Invalid)},
		}}}
	}
	responses, ctx := exec.DispatchOperation(ctx, oc)
	resp := responses(ctx)
	if resp == nil {
		resp = &graphql.Response{Data: []byte("null")}
	}
	return resp
}

// appendResponseJSON appends resp encoded as writeResponse writes it.
func appendResponseJSON(dst []byte, resp *graphql.Response) []byte {
	if resp == nil || resp.Label != "" || resp.Path != nil || resp.HasNext != nil {
		b, err := json.Marshal(resp)
		if err != nil {
			b = []byte(`{"errors":[{"message":"the response could not be encoded"}],"data":null}`)
		}
		return append(dst, b...)
	}
	dst = appendResponseHead(dst, resp.Errors)
	if len(resp.Data) == 0 {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, resp.Data...)
	}
	if len(resp.Extensions) > 0 {
		if b, err := json.Marshal(resp.Extensions); err == nil {
			dst = append(append(dst, `,"extensions":`...), b...)
		}
	}
	return append(dst, '}')
}
