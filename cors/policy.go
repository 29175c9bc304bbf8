package cors

import (
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/monobase/monobase/apperr"
)

// Policy applies the settings group cors. Set changes it while requests
// run; it is safe for concurrent use.
type Policy struct {
	// fixed is set when the command line gave the list (--origins): Set
	// then refuses every change.
	fixed bool
	cur   atomic.Pointer[compiled]
}

// compiled is one Settings, ready for lookups; never changed once stored.
type compiled struct {
	s   Settings
	any bool            // Any is listed
	set map[string]bool // the listed origins, normalized
}

// NewPolicy returns a policy applying s (invalid settings allow no
// origin). fixed says that the command line set s: Set then refuses any
// change.
func NewPolicy(s Settings, fixed bool) *Policy {
	p := &Policy{}
	if err := p.Set(s); err != nil {
		p.cur.Store(&compiled{s: Settings{AllowedOrigins: []string{}}})
	}
	p.fixed = fixed
	return p
}

// Fixed reports whether the command line set the list, so that Set
// refuses changes.
func (p *Policy) Fixed() bool { return p.fixed }

// Set applies s to the requests that follow (a preflight, a response's
// headers, a WebSocket upgrade, an OAuth2 redirect). Invalid settings, or
// any change while the list is fixed, are refused with a BAD_USER_INPUT
// error naming the field, and change nothing.
func (p *Policy) Set(s Settings) error {
	if p.fixed {
		return FixedError()
	}
	if err := s.Validate(); err != nil {
		return err
	}
	c := &compiled{s: s.Normalized(), set: map[string]bool{}}
	for _, o := range c.s.AllowedOrigins {
		if o == Any {
			c.any = true
		} else {
			c.set[o] = true
		}
	}
	p.cur.Store(c)
	return nil
}

// FixedError is the BAD_USER_INPUT error of a change to cors while the
// command line sets it.
func FixedError() error {
	var fe apperr.FieldErrors
	fe.Add("cors.allowedOrigins", "fixed",
		"set by --origins (or MONOBASE_ORIGINS) when the server started; restart without it to change the list here")
	return fe.Err("invalid settings")
}

// Settings returns the settings in force.
func (p *Policy) Settings() Settings { return p.cur.Load().s.Normalized() }

// Allowed reports whether a page of origin (an Origin header) may call
// the server: origin is listed (compared as OriginOf writes it), or Any
// is. An empty origin is never allowed here; callers treat a request
// without Origin as not cross-origin.
func (p *Policy) Allowed(origin string) bool {
	if origin == "" {
		return false
	}
	c := p.cur.Load()
	if c.any {
		return true
	}
	if len(c.set) == 0 {
		return false
	}
	if c.set[origin] { // browsers send origins already in this form
		return true
	}
	norm := OriginOf(origin)
	return norm != "" && c.set[norm]
}

// RedirectOrigins returns the listed origins without Any: the OAuth2
// redirect flow may send a browser back to these with its token. Any
// allows no redirect target (a token must never go to any site).
func (p *Policy) RedirectOrigins() []string {
	s := p.cur.Load().s
	out := make([]string, 0, len(s.AllowedOrigins))
	for _, o := range s.AllowedOrigins {
		if o != Any {
			out = append(out, o)
		}
	}
	return out
}

// The response headers of Handler.
const (
	allowMethods = "GET, HEAD, POST, OPTIONS"
	// maxAge is how long a browser may cache a preflight, in seconds
	// (Chromium caps it at 2 hours, Firefox at 1 day).
	maxAge = "7200"
	// exposeHeaders are the response headers a page may read besides the
	// CORS-safelisted ones.
	exposeHeaders = "Retry-After, Content-Disposition, Content-Range, Accept-Ranges, ETag, WWW-Authenticate"
	// maxRequestHeaders bounds Access-Control-Request-Headers echoed back.
	maxRequestHeaders = 2048
)

// Handler serves the requests whose path is one of prefixes (a prefix
// ending in "/" matches everything under it and the path without its
// slash; another matches itself and what is under it after a "/") with
// CORS, and passes the others to next untouched:
//
//   - A preflight (OPTIONS with Origin and Access-Control-Request-Method)
//     from an allowed origin is answered 204 with Access-Control-Allow-Origin
//     (the origin echoed), -Allow-Methods, -Allow-Headers (the requested
//     ones echoed) and -Max-Age; from another origin, 403 with no CORS
//     header. A preflight never reaches next (so it takes no rate limit
//     budget and needs no token).
//   - Any other request from an allowed origin gets
//     Access-Control-Allow-Origin and -Expose-Headers before next runs, so
//     next's errors (401, 429, ...) are readable by the page too; from
//     another origin it runs without them (the browser then hides the
//     answer from the page).
//   - Every response carries Vary: Origin, for caches.
//
// WebSocket upgrades pass untouched: their origin check is the
// transport's (Allowed).
func (p *Policy) Handler(next http.Handler, prefixes ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !matches(r.URL.Path, prefixes) || r.Header.Get("Upgrade") != "" {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		if h["Vary"] == nil {
			h["Vary"] = varyOrigin[:1:1] // shared, no allocation: an Add copies it
		} else {
			h.Add("Vary", "Origin")
		}
		origin := r.Header.Get("Origin")
		preflight := r.Method == http.MethodOptions && origin != "" && r.Header.Get("Access-Control-Request-Method") != ""
		if preflight {
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
		}
		if origin == "" || !p.Allowed(origin) {
			if preflight {
				h.Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusForbidden)
				_, _ = w.Write([]byte(`{"errors":[{"message":"origin not allowed (settings.cors.allowedOrigins)","extensions":{"code":"FORBIDDEN"}}]}` + "\n"))
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		h.Set("Access-Control-Allow-Origin", origin)
		if !preflight {
			h.Set("Access-Control-Expose-Headers", exposeHeaders)
			next.ServeHTTP(w, r)
			return
		}
		h.Set("Access-Control-Allow-Methods", allowMethods)
		if req := r.Header.Get("Access-Control-Request-Headers"); req != "" && len(req) <= maxRequestHeaders && isTokenList(req) {
			h.Set("Access-Control-Allow-Headers", req)
		}
		h.Set("Access-Control-Max-Age", maxAge)
		w.WriteHeader(http.StatusNoContent)
	})
}

// varyOrigin is the Vary header of most responses (never written to:
// its capacity of 1 makes an append copy it).
var varyOrigin = []string{"Origin"}

// matches reports whether path is one of prefixes (see Handler).
func matches(path string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasSuffix(p, "/") {
			if strings.HasPrefix(path, p) || path == p[:len(p)-1] {
				return true
			}
		} else if path == p || strings.HasPrefix(path, p) && path[len(p)] == '/' {
			return true
		}
	}
	return false
}

// isTokenList reports whether s is a comma-separated list of HTTP tokens
// (header names), so that echoing it adds nothing else to the response.
func isTokenList(s string) bool {
	for part := range strings.SplitSeq(s, ",") {
		part = strings.Trim(part, " \t")
		if part == "" {
			return false
		}
		for i := 0; i < len(part); i++ {
			c := part[i]
			ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
				strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
			if !ok {
				return false
			}
		}
	}
	return true
}
