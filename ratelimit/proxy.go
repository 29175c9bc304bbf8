package ratelimit

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/db"
)

// proxyParam is the _params key of the settings group trustedProxy.
const proxyParam = "settings.trustedProxy"

// ProxySettings are the settings group trustedProxy: the request headers
// that carry the client IP when Monobase runs behind a reverse proxy.
// With no headers (the default) the client IP is the connection's peer and
// every header is ignored, since anyone can send one.
type ProxySettings struct {
	// Headers are tried in order ("X-Forwarded-For", "X-Real-IP",
	// "CF-Connecting-IP", ...); the first that yields an IP gives it.
	Headers []string `json:"headers"`
	// UseLeftmostIP takes the leftmost valid IP of a list such as
	// X-Forwarded-For ("client, proxy1, proxy2") instead of the rightmost,
	// the one the proxy next to Monobase appended. The leftmost is what
	// the client claims and can be forged unless every proxy in the chain
	// replaces the header.
	UseLeftmostIP bool `json:"useLeftmostIp"`
}

// Bounds of ProxySettings.Validate.
const (
	MaxProxyHeaders      = 10
	maxProxyHeaderLength = 100
)

// Validate returns a BAD_USER_INPUT *apperr.Error naming each invalid
// field (trustedProxy.headers.1, ...), or nil.
func (s ProxySettings) Validate() error {
	var fe apperr.FieldErrors
	if len(s.Headers) > MaxProxyHeaders {
		fe.Add("trustedProxy.headers", "invalid", "at most %d headers", MaxProxyHeaders)
		return fe.Err("invalid settings")
	}
	seen := map[string]bool{}
	for i, h := range s.Headers {
		field := "trustedProxy.headers." + strconv.Itoa(i)
		if !isToken(h) || len(h) > maxProxyHeaderLength {
			fe.Add(field, "invalid", "must be an HTTP header name such as X-Forwarded-For (1 to %d letters, digits or -)", maxProxyHeaderLength)
			continue
		}
		key := http.CanonicalHeaderKey(h)
		if seen[key] {
			fe.Add(field, "duplicate", "the header %s is listed twice", key)
		}
		seen[key] = true
	}
	return fe.Err("invalid settings")
}

// isToken reports whether s is a non-empty HTTP token (a header name).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// clone returns a copy of s with the header names in canonical form
// (x-real-ip becomes X-Real-Ip), sharing no slice with s.
func (s ProxySettings) clone() ProxySettings {
	hs := make([]string, len(s.Headers))
	for i, h := range s.Headers {
		hs[i] = http.CanonicalHeaderKey(h)
	}
	s.Headers = hs
	return s
}

// ErrInvalidProxyStored is wrapped by LoadProxy's error for stored
// settings that do not decode or are not valid.
var ErrInvalidProxyStored = errors.New("the stored settings.trustedProxy are not valid")

// LoadProxy returns the stored trustedProxy settings, none when they were
// never saved. It fails when _params cannot be read, and with
// ErrInvalidProxyStored (and no headers) when what is stored is not valid.
func LoadProxy(ctx context.Context, d *db.DB) (ProxySettings, error) {
	var s ProxySettings
	if ok, err := db.LoadParamJSON(ctx, d, proxyParam, &s, ProxySettings.Validate, ErrInvalidProxyStored); err != nil || !ok {
		return ProxySettings{Headers: []string{}}, err
	}
	return s.clone(), nil
}

// SaveProxy validates s and stores it. Invalid settings are the
// BAD_USER_INPUT error of Validate; a storage failure is wrapped.
func SaveProxy(ctx context.Context, d *db.DB, s ProxySettings) error {
	return db.SaveParamJSON(ctx, d, proxyParam, s.clone(), ProxySettings.Validate)
}

// Proxy applies settings.trustedProxy: Middleware takes the client
// address of each request from the configured headers. Set changes them
// while requests run; it is safe for concurrent use.
type Proxy struct {
	cur atomic.Pointer[ProxySettings]
}

// NewProxy returns a Proxy applying s (invalid settings: no headers).
func NewProxy(s ProxySettings) *Proxy {
	p := &Proxy{}
	if err := p.Set(s); err != nil {
		p.cur.Store(&ProxySettings{Headers: []string{}})
	}
	return p
}

// Set applies s to the requests that follow; invalid settings are refused
// with the BAD_USER_INPUT error of Validate and change nothing.
func (p *Proxy) Set(s ProxySettings) error {
	if err := s.Validate(); err != nil {
		return err
	}
	s = s.clone()
	p.cur.Store(&s)
	return nil
}

// Settings returns the settings in force.
func (p *Proxy) Settings() ProxySettings { return p.cur.Load().clone() }

// Middleware puts the client address of each request into its context,
// for ClientIP, ClientAddr and PeerAddr (and Middleware, which keeps it):
// the IP the first configured header gives, else the connection's peer.
// With headers configured it also believes X-Forwarded-Proto
// (ForwardedHTTPS).
// Serve it outside Middleware (auth.Service.Middleware installs that).
func (p *Proxy) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := &request{remoteAddr: r.RemoteAddr, peerAddr: r.RemoteAddr}
		s := p.cur.Load()
		if ip := s.clientIP(r.Header); ip != "" {
			req.remoteAddr = ip
		}
		if len(s.Headers) > 0 {
			req.https = forwardedHTTPS(r.Header)
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestKey{}, req)))
	})
}

// clientIP returns the client IP that h's trusted headers give, "" when
// none does. As PocketBase does: for each header in order, its last value
// (the one the nearest proxy set) split at commas, the rightmost valid IP
// of it (the leftmost with UseLeftmostIP).
func (s *ProxySettings) clientIP(h http.Header) string {
	for _, name := range s.Headers {
		vals := h[name] // canonical names: no allocation
		if len(vals) == 0 {
			continue
		}
		list := vals[len(vals)-1]
		for n := strings.Count(list, ",") + 1; n > 0; n-- {
			var part string
			if s.UseLeftmostIP {
				part, list, _ = strings.Cut(list, ",")
			} else if i := strings.LastIndexByte(list, ','); i >= 0 {
				part, list = list[i+1:], list[:i]
			} else {
				part, list = list, ""
			}
			if ip, err := netip.ParseAddr(strings.TrimSpace(part)); err == nil {
				return ip.Unmap().WithZone("").String()
			}
		}
	}
	return ""
}

// forwardedHTTPS reports whether the last X-Forwarded-Proto (the nearest
// proxy's) says https.
func forwardedHTTPS(h http.Header) bool {
	vals := h["X-Forwarded-Proto"]
	if len(vals) == 0 {
		return false
	}
	last := vals[len(vals)-1]
	if i := strings.LastIndexByte(last, ','); i >= 0 {
		last = last[i+1:]
	}
	return strings.EqualFold(strings.TrimSpace(last), "https")
}
