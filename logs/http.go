package logs

import (
	"bufio"
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/monobase/monobase/internal/lifetime"
)

// request is one request being served: the response writer that records
// the status, and what the layers below tell the log about it (SetAuth,
// SetOperation, the errors logged with its context). One allocation per
// request holds both.
type request struct {
	http.ResponseWriter
	status   int
	hijacked bool

	mu               sync.Mutex // the fields below; the engine sets them from its goroutines
	authColl, authID string
	opType, opName   string
	errs             []string
	errBytes         int
	level            slog.Level // the highest level logged with the request's context
}

type requestKey struct{}

// requestFrom returns the request of ctx, or nil.
func requestFrom(ctx context.Context) *request {
	r, _ := ctx.Value(requestKey{}).(*request)
	return r
}

// SetAuth records who made the request of ctx: the auth collection and
// record id of its viewer. It does nothing outside Middleware.
func SetAuth(ctx context.Context, collection, id string) {
	if r := requestFrom(ctx); r != nil {
		r.mu.Lock()
		r.authColl, r.authID = collection, id
		r.mu.Unlock()
	}
}

// SetOperation records the GraphQL operation of the request of ctx: its
// type (query, mutation, subscription) and name ("" when anonymous). The
// first one recorded stays. It does nothing outside Middleware.
func SetOperation(ctx context.Context, typ, name string) {
	if r := requestFrom(ctx); r != nil {
		r.mu.Lock()
		if r.opType == "" {
			r.opType, r.opName = typ, name
		}
		r.mu.Unlock()
	}
}

// Bounds of the error text one request entry keeps.
const (
	maxErrors    = 5
	maxErrorText = 8 << 10
)

// addError keeps text, an error logged while the request ran, within the
// bounds, and raises the request's level to level.
func (r *request) addError(level slog.Level, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.level = max(r.level, level)
	if len(r.errs) >= maxErrors || r.errBytes >= maxErrorText {
		return
	}
	text = truncate(text, maxErrorText-r.errBytes)
	r.errs = append(r.errs, text)
	r.errBytes += len(text)
}

// Middleware queues one entry per request once the request is answered
// (a WebSocket's when it closes): method, URL, status, duration, the
// client's addresses, who made it, its GraphQL operation and the internal
// errors logged with its context (Handler). Nothing is encoded or written
// on the request's path. While the logs are off (maxDays 0) it only calls
// next.
func (s *Service) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		set := s.settings.Load()
		if set.MaxDays <= 0 || s.closed.Load() {
			next.ServeHTTP(w, r)
			return
		}
		start := s.cfg.Now()
		rq := &request{ResponseWriter: w}
		ctx := context.WithValue(r.Context(), requestKey{}, rq)
		if r.Header.Get("Upgrade") == "" {
			next.ServeHTTP(rq, r.WithContext(ctx))
			s.requestDone(rq, r, start, set)
			return
		}
		// A WebSocket's entry is queued when it closes, which may be after
		// its handler returned (internal/lifetime).
		ctx, life := lifetime.Of(ctx)
		life.OnEnd(func() { s.requestDone(rq, r, start, set) })
		next.ServeHTTP(rq, r.WithContext(ctx))
		if life.Taken() {
			rq.ResponseWriter = nil // answered: the socket lives on without it
			return
		}
		s.requestDone(rq, r, start, set)
	})
}

// requestDone queues the entry of a finished request.
func (s *Service) requestDone(rq *request, r *http.Request, start time.Time, set *Settings) {
	now := s.cfg.Now()
	e := entry{created: now, status: rq.status, execTime: now.Sub(start), method: r.Method, uri: r.RequestURI}
	if e.uri == "" {
		e.uri = r.URL.RequestURI()
	}
	switch {
	case rq.hijacked:
		e.status = http.StatusSwitchingProtocols
	case e.status == 0:
		e.status = http.StatusOK
	}
	rq.mu.Lock()
	e.authColl, e.authID = rq.authColl, rq.authID
	e.opType, e.opName = rq.opType, rq.opName
	if len(rq.errs) > 0 {
		e.errText = strings.Join(rq.errs, "\n")
	}
	e.level = rq.level
	rq.mu.Unlock()
	switch {
	case e.status >= 500:
		e.level = max(e.level, slog.LevelError)
	case e.status >= 400:
		e.level = max(e.level, slog.LevelWarn)
	}
	if int(e.level) < set.MinLevel {
		return
	}
	if set.LogIP {
		e.remoteAddr = r.RemoteAddr
		if s.cfg.UserIP != nil {
			e.userIP = s.cfg.UserIP(r)
		}
	}
	if !set.LogAuthID {
		e.authID = ""
	}
	s.enqueue(&e)
}

// WriteHeader records the first status.
func (r *request) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *request) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(p)
}

// Flush keeps streaming responses (server-sent events, multipart) working.
func (r *request) Flush() {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	_ = http.NewResponseController(r.ResponseWriter).Flush()
}

// Hijack keeps WebSocket upgrades working.
func (r *request) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(r.ResponseWriter).Hijack()
	if err == nil {
		r.hijacked = true
	}
	return conn, rw, err
}

// Unwrap gives http.ResponseController the writer underneath.
func (r *request) Unwrap() http.ResponseWriter { return r.ResponseWriter }
