package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/auth"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/gqlerr"
	"github.com/monobase/monobase/internal/boundedcache"
	"github.com/monobase/monobase/logs"
	"github.com/monobase/monobase/querycost"
)

// MaxBodyBytes is the largest request body the admin API reads.
const MaxBodyBytes = 8 << 20

// NewHandler returns the admin API's HTTP handler (POST, GET for queries,
// OPTIONS). It expects the viewer in the request context, so serve it
// behind a.Middleware. sdl returns the application schema as SDL for the
// schemaSDL query (nil: empty).
func NewHandler(d *db.DB, a *auth.Service, sdl func() string, opts ...Option) http.Handler {
	res := &Resolver{db: d, auth: a, sdl: sdl}
	for _, o := range opts {
		o(res)
	}
	srv := handler.New(NewExecutableSchema(Config{Resolvers: res}))
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	var uploadLimit int64
	if res.backups != nil {
		// uploadBackup: a multipart request with the zip, spooled by gqlgen
		// to a temporary file past 1 MiB.
		uploadLimit = res.backups.MaxUpload()
		srv.AddTransport(transport.MultipartForm{MaxUploadSize: uploadLimit, MaxMemory: 1 << 20})
	}
	// 256 admin documents, about 8 MiB of parsed trees
	srv.SetQueryCache(boundedcache.New(256, 8<<20, boundedcache.ParsedSize[*ast.QueryDocument]))
	limits := querycost.Limits{}.WithDefaults()
	srv.SetParserTokenLimit(limits.MaxTokens)
	srv.SetValidationRulesFn(querycost.CappedRules(limits.MaxErrors))
	srv.Use(extension.Introspection{})
	srv.Use(querycost.NewGuard(limits))
	srv.Use(querycost.NewComplexityLimit(limits))
	srv.SetErrorPresenter(func(ctx context.Context, err error) *gqlerror.Error {
		e := gqlerr.Present(ctx, err)
		e.Message = querycost.TruncateMessage(e.Message) // a parse error quotes the request
		return e
	})
	srv.SetRecoverFunc(func(ctx context.Context, p any) error {
		return apperr.Wrap(fmt.Errorf("panic: %v", p), "internal server error")
	})
	srv.AroundOperations(func(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
		if oc := graphql.GetOperationContext(ctx); oc != nil && oc.Operation != nil {
			logs.SetOperation(ctx, string(oc.Operation.Operation), oc.Operation.Name) // for the request's log entry
		}
		return next(ctx)
	})
	srv.AroundFields(requireSuperuser)
	srv.AroundResponses(func(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
		ctx, cancel := context.WithTimeout(ctx, Timeout)
		defer cancel()
		return next(ctx)
	})
	srv.Use(querycost.SignInOnce(isSignIn)) // one password check per operation (signin.go)
	// withLoopback marks direct loopback requests for the first-run setup (setup.go).
	return withLoopback(res.proxy, limitBody(srv, MaxBodyBytes, uploadLimit))
}

// Timeout bounds one admin operation: its resolvers and SQL statements
// stop at it.
const Timeout = 30 * time.Second

// openFields are the root fields open to anonymous callers: sign-in and
// the first-run setup (setup.go).
var openFields = map[string]bool{"Mutation.authWithPassword": true, "Query.setupState": true, "Mutation.createFirstSuperuser": true}

// requireSuperuser is the one access check of the admin API: every root
// field but openFields (and introspection) needs a superuser viewer.
// Anonymous callers get UNAUTHENTICATED, others FORBIDDEN.
func requireSuperuser(ctx context.Context, next graphql.Resolver) (any, error) {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || (fc.Object != "Query" && fc.Object != "Mutation") {
		return next(ctx)
	}
	name := fc.Field.Name
	if strings.HasPrefix(name, "__") || openFields[fc.Object+"."+name] {
		return typedErrors(next(ctx))
	}
	v := auth.ViewerFrom(ctx)
	switch {
	case v == nil:
		return nil, apperr.New(apperr.Unauthenticated, "sign in as a superuser to use the admin API")
	case !v.Superuser:
		return nil, apperr.New(apperr.Forbidden, "the admin API is for superusers only")
	}
	return typedErrors(next(ctx))
}

// typedErrors makes a resolver's untyped error an internal one. gqlgen
// wraps a resolver's error in a *gqlerror.Error before the presenter sees
// it, so without this a plain error (a file path, an SQL message) would
// reach the client as it is instead of "internal server error".
func typedErrors(res any, err error) (any, error) {
	var gqlErr *gqlerror.Error
	if err != nil && apperr.As(err) == nil && !errors.As(err, &gqlErr) {
		err = apperr.Wrap(err, "internal server error")
	}
	return res, err
}

// limitBody refuses bodies over limit with HTTP 413 and a GraphQL-shaped
// PAYLOAD_TOO_LARGE error. Multipart bodies are refused unless uploadLimit
// is set; then a superuser's may reach it and are streamed, not read here.
func limitBody(next http.Handler, limit, uploadLimit int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Method == http.MethodGet || r.Method == http.MethodOptions {
			next.ServeHTTP(w, r)
			return
		}
		if uploadLimit > 0 && isMultipart(r) {
			// Only a superuser may send a file (uploadBackup): anyone else
			// is refused before gqlgen spools the body to disk.
			if v := auth.ViewerFrom(r.Context()); v == nil || !v.Superuser {
				code, status := apperr.Unauthenticated, http.StatusUnauthorized
				if v != nil {
					code, status = apperr.Forbidden, http.StatusForbidden
				}
				w.Header().Set("Connection", "close")
				writeJSONError(w, status, "only a superuser may upload to the admin API", code)
				return
			}
			if r.ContentLength > uploadLimit {
				writeTooLarge(w, uploadLimit)
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, uploadLimit)
			next.ServeHTTP(w, r)
			return
		}
		if r.ContentLength > limit {
			writeTooLarge(w, limit)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				writeTooLarge(w, limit)
				return
			}
			slog.WarnContext(r.Context(), "admin API: read request body", "err", err)
			http.Error(w, "could not read request body", http.StatusBadRequest)
			return
		}
		if !json.Valid(body) {
			// gqlgen's POST quotes the whole body in its error.
			writeJSONError(w, http.StatusBadRequest, "the request body is not valid JSON")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}

// isMultipart reports whether r's body is multipart/form-data.
func isMultipart(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "multipart/form-data"
}

func writeTooLarge(w http.ResponseWriter, limit int64) {
	w.Header().Set("Connection", "close")
	writeJSONError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", limit), apperr.TooLarge)
}

// writeJSONError writes a GraphQL-shaped error with the status and, when
// given, the extensions.code.
func writeJSONError(w http.ResponseWriter, status int, message string, code ...apperr.Code) {
	e := map[string]any{"message": message}
	if len(code) > 0 {
		e["extensions"] = map[string]any{"code": string(code[0])}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []any{e}})
}
