package oauth

import (
	"net/url"
	"strings"
)

// AllowedRedirect reports whether target, where the redirect flow sends
// the browser back with its token, is an absolute http(s) URL on one of
// origins (scheme, host and port; paths and "*" are not considered, a
// default port may be written or not). It is the one check of redirect
// targets: Handler passes the server's own origin and what
// Handler.Origins returns (settings.meta.appUrl; the CORS origins when
// they exist).
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
// anything else (a relative URL, another scheme, user info in it).
func OriginOf(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" || u.User != nil || u.Opaque != "" {
		return ""
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return ""
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if host == "" {
		return ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port == "" || (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		return scheme + "://" + host
	}
	return scheme + "://" + host + ":" + port
}
