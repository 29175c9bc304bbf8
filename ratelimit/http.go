package ratelimit

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/monobase/monobase/apperr"
)

// request is what Middleware (or Proxy.Middleware before it) puts in the
// request context: the client and peer addresses and, once a limit
// refuses the request, the wait.
type request struct {
	// remoteAddr is the client address: the peer's ("host:port", as in
	// http.Request.RemoteAddr), or the IP a trusted proxy header gave.
	remoteAddr string
	peerAddr   string       // the connection's peer, "host:port"
	https      bool         // a trusted proxy says the client used https
	wait       atomic.Int64 // nanoseconds; 0 while nothing was refused
	// The path rule that admitted the request and its budget's key (set
	// by Paths, for TakeMore); nil when none applied.
	pathRule *limitRule
	pathKey  string
}

type requestKey struct{}

// WithRemoteAddr returns ctx carrying remoteAddr ("host:port", as in
// http.Request.RemoteAddr) as the client address.
func WithRemoteAddr(ctx context.Context, remoteAddr string) context.Context {
	return context.WithValue(ctx, requestKey{}, &request{remoteAddr: remoteAddr, peerAddr: remoteAddr})
}

// ClientIP returns the key of the client address carried by ctx: the IP
// for IPv4, the /64 prefix for IPv6 (one host usually holds a whole /64).
// It returns false when ctx carries no parseable address.
//
// The address is the connection's peer, or behind a reverse proxy the
// client IP its header gives when settings.trustedProxy names that header
// (Proxy.Middleware).
func ClientIP(ctx context.Context) (string, bool) {
	req, _ := ctx.Value(requestKey{}).(*request)
	if req == nil {
		return "", false
	}
	host := hostOf(req.remoteAddr)
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return "", false
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String(), true
	}
	// A host already in canonical form (the usual "127.0.0.1") is the key
	// as it is: no string is built per request.
	var buf [15]byte
	if string(ip.AppendTo(buf[:0])) == host {
		return host, true
	}
	return ip.String(), true
}

// ClientAddr returns the client's IP carried by ctx, whole (ClientIP
// gives the key of its budget): the peer's, or the one a trusted proxy
// header gave; "" when ctx carries none. Request logs record it as userIp.
func ClientAddr(ctx context.Context) string {
	if req, _ := ctx.Value(requestKey{}).(*request); req != nil {
		return hostOf(req.remoteAddr)
	}
	return ""
}

// ForwardedHTTPS reports whether a trusted proxy (settings.trustedProxy
// has headers) said, with X-Forwarded-Proto: https, that the client
// reached it over https: the server then builds https URLs for it (the
// OAuth2 callback) although the proxy spoke plain HTTP to it.
func ForwardedHTTPS(ctx context.Context) bool {
	req, _ := ctx.Value(requestKey{}).(*request)
	return req != nil && req.https
}

// PeerAddr returns the IP of the connection's peer carried by ctx (the
// proxy's, behind one), "" when ctx carries none. Request logs record it
// as remoteIp.
func PeerAddr(ctx context.Context) string {
	if req, _ := ctx.Value(requestKey{}).(*request); req != nil {
		return hostOf(req.peerAddr)
	}
	return ""
}

// hostOf returns the host of a "host:port" address, or addr itself when
// it has no port.
func hostOf(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return host
}

// markLimited records in ctx's request that a limit refused it, for
// Middleware's status; without a request in ctx it does nothing.
func markLimited(ctx context.Context, wait time.Duration) {
	if req, _ := ctx.Value(requestKey{}).(*request); req != nil {
		req.wait.Store(int64(wait))
	}
}

// Middleware puts the client address (r.RemoteAddr) into the request
// context for ClientIP, unless Proxy.Middleware put one there before it.
// For requests other than WebSocket upgrades it
// also turns an answer that would have been 200 into HTTP 429 with a
// Retry-After header (seconds) when a limit refused something while the
// request ran (SignIn.Check); the body is the handler's, with the
// RATE_LIMITED error in it. Over a WebSocket only that error is sent.
func Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := r.Context().Value(requestKey{}).(*request)
		if req == nil {
			req = &request{remoteAddr: r.RemoteAddr, peerAddr: r.RemoteAddr}
			r = r.WithContext(context.WithValue(r.Context(), requestKey{}, req))
		}
		if r.Header.Get("Upgrade") != "" {
			next.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(&limitedWriter{ResponseWriter: w, req: req}, r)
	})
}

// limitedWriter sets the status of a refused request on its first write.
type limitedWriter struct {
	http.ResponseWriter
	req   *request
	wrote bool
}

func (w *limitedWriter) WriteHeader(status int) {
	if !w.wrote {
		w.wrote = true
		if wait := time.Duration(w.req.wait.Load()); wait > 0 && status == http.StatusOK {
			w.Header().Set("Retry-After", strconv.FormatInt(apperr.RetryAfterSeconds(wait), 10))
			status = http.StatusTooManyRequests
		}
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *limitedWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Flush implements http.Flusher when the underlying writer does.
func (w *limitedWriter) Flush() {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *limitedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Paths returns middleware that applies the path rules of r before next
// runs (so before a body is read): a request over the budget of its rule
// is answered with HTTP 429, a Retry-After header and a GraphQL-shaped
// RATE_LIMITED error. caller says who makes the request (its audience and
// budget: a signed-in record's own, else the client IP's).
// Serve it inside Middleware, which carries the client address.
func (r *Rules) Paths(caller func(*http.Request) Caller, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		rs := r.cur.Load()
		if !rs.s.Enabled || len(rs.paths) == 0 {
			next.ServeHTTP(w, req)
			return
		}
		c := caller(req)
		if c.kind == exempt {
			next.ServeHTTP(w, req)
			return
		}
		rule := rs.path(req.URL.Path, c)
		if rule == nil {
			next.ServeHTTP(w, req)
			return
		}
		key, ok := c.key(req.Context(), "")
		if !ok {
			next.ServeHTTP(w, req)
			return
		}
		if err := rule.take(req.Context(), key, "", 1); err != nil {
			writeLimited(w, err)
			return
		}
		if rq, _ := req.Context().Value(requestKey{}).(*request); rq != nil {
			rq.pathRule, rq.pathKey = rule, key
		}
		next.ServeHTTP(w, req)
	})
}

// TakeMore takes n more units of the budget of the path rule that
// admitted the request of ctx (Paths), for a request that turns out to
// carry n more operations (a batched GraphQL request: one unit each). It
// returns nil when no path rule applied; when the n units do not fit it
// counts none, marks the response for HTTP 429 and returns the
// RATE_LIMITED error.
func TakeMore(ctx context.Context, n int) error {
	req, _ := ctx.Value(requestKey{}).(*request)
	if req == nil || req.pathRule == nil || n <= 0 {
		return nil
	}
	return req.pathRule.take(ctx, req.pathKey, "", n)
}

// writeLimited answers a refused request: HTTP 429 with Retry-After and a
// GraphQL-over-HTTP error body carrying the code and retryAfter.
func writeLimited(w http.ResponseWriter, err error) {
	e := apperr.As(err)
	secs := apperr.RetryAfterSeconds(e.RetryAfter)
	body, _ := json.Marshal(map[string]any{"errors": []any{map[string]any{
		"message":    e.Message,
		"extensions": map[string]any{"code": string(e.Code), "retryAfter": secs},
	}}})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	w.WriteHeader(http.StatusTooManyRequests)
	_, _ = w.Write(append(body, '\n'))
}
