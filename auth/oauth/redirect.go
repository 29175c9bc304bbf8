package oauth

import "github.com/monobase/monobase/cors"

// AllowedRedirect reports whether target, where the redirect flow sends
// the browser back with its token, is an absolute http(s) URL on one of
// origins (scheme, host and port; paths and "*" are not considered, a
// default port may be written or not). It is the one check of redirect
// targets: Handler passes the server's own origin and what
// Handler.Origins returns (settings.meta.appUrl and the allowed CORS
// origins but "*").
func AllowedRedirect(target string, origins []string) bool {
	want := OriginOf(target)
	if want == "" {
		return false
	}
	for _, o := range origins {
		if o = OriginOf(o); o != "" && o == want {
			return true
		}
	}
	return false
}

// OriginOf returns the origin of an absolute http(s) URL as
// scheme://host[:port], lower-cased, without a default port; "" for
// anything else (a relative URL, another scheme, user info in it). It is
// cors.OriginOf, the one way origins are compared.
func OriginOf(raw string) string { return cors.OriginOf(raw) }
