// Package cors lets browser apps on other origins use the server: the
// settings group cors (allowedOrigins, stored in _params, checked field by
// field), the Policy that applies it live, the CORS headers and
// preflights of Policy.Handler, and Policy.Allowed, which the WebSocket
// origin check and the OAuth2 redirect check share.
package cors

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"strings"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/db"
)

// settingsParam is the _params key of the settings group cors.
const settingsParam = "settings.cors"

// Any is the entry of AllowedOrigins that allows every origin.
const Any = "*"

// Settings are the settings group cors.
type Settings struct {
	// AllowedOrigins are the origins (scheme://host[:port]) whose pages
	// may call the server; Any allows every origin.
	AllowedOrigins []string `json:"allowedOrigins"`
}

// DefaultSettings returns the settings of a data folder that never saved
// any: every origin in development mode, none otherwise.
func DefaultSettings(dev bool) Settings {
	if dev {
		return Settings{AllowedOrigins: []string{Any}}
	}
	return Settings{AllowedOrigins: []string{}}
}

// Bounds of Validate.
const (
	MaxOrigins      = 100
	maxOriginLength = 500
)

// Validate returns a BAD_USER_INPUT *apperr.Error naming each invalid
// entry (cors.allowedOrigins.2, ...), or nil.
func (s Settings) Validate() error {
	var fe apperr.FieldErrors
	if len(s.AllowedOrigins) > MaxOrigins {
		fe.Add("cors.allowedOrigins", "invalid", "at most %d origins", MaxOrigins)
		return fe.Err("invalid settings")
	}
	seen := map[string]bool{}
	for i, o := range s.AllowedOrigins {
		field := "cors.allowedOrigins." + strconv.Itoa(i)
		norm, msg := normalize(o)
		if msg != "" {
			fe.Add(field, "invalid", "%s", msg)
			continue
		}
		if seen[norm] {
			fe.Add(field, "duplicate", "%s is listed twice", norm)
		}
		seen[norm] = true
	}
	return fe.Err("invalid settings")
}

// normalize returns the entry o as it is kept: Any, or its origin as
// OriginOf writes it. On failure it returns why o is not valid.
func normalize(o string) (string, string) {
	o = strings.TrimSpace(o)
	if o == Any {
		return Any, ""
	}
	const want = `must be "*" or an origin: http(s)://host[:port], without a path, query or fragment`
	if o == "" || len(o) > maxOriginLength {
		return "", want
	}
	u, err := url.Parse(o)
	if err != nil || u.Path != "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(o, "#") {
		if err == nil && u.Path == "/" {
			return "", want + " (drop the trailing /)"
		}
		return "", want
	}
	norm := OriginOf(o)
	if norm == "" || strings.Contains(u.Host, "*") {
		return "", want
	}
	return norm, ""
}

// Normalized returns s with every entry as it is kept (trimmed, origins
// as OriginOf writes them), sharing no slice with s; entries that are not
// valid stay as they are.
func (s Settings) Normalized() Settings {
	out := make([]string, len(s.AllowedOrigins))
	for i, o := range s.AllowedOrigins {
		if norm, msg := normalize(o); msg == "" {
			o = norm
		}
		out[i] = o
	}
	return Settings{AllowedOrigins: out}
}

// OriginOf returns the origin of an absolute http(s) URL as
// scheme://host[:port], lower-cased, without a default port, as browsers
// write the Origin header; "" for anything else (a relative URL, another
// scheme, user info in it).
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

// ParseList splits a comma-separated list of origins (--origins,
// MONOBASE_ORIGINS) into settings: "" is none. The entries are not
// checked; see Validate.
func ParseList(list string) Settings {
	s := Settings{AllowedOrigins: []string{}}
	for o := range strings.SplitSeq(list, ",") {
		if o = strings.TrimSpace(o); o != "" {
			s.AllowedOrigins = append(s.AllowedOrigins, o)
		}
	}
	return s
}

// ErrInvalidStored is wrapped by Load's error for stored settings that do
// not decode or are not valid (edited by hand, say).
var ErrInvalidStored = errors.New("the stored settings.cors are not valid")

// Load returns the stored settings, def when they were never saved. It
// fails when _params cannot be read, and with ErrInvalidStored (and def)
// when what is stored is not valid settings.
func Load(ctx context.Context, d *db.DB, def Settings) (Settings, error) {
	var s Settings
	if ok, err := db.LoadParamJSON(ctx, d, settingsParam, &s, Settings.Validate, ErrInvalidStored); err != nil || !ok {
		return def.Normalized(), err
	}
	return s.Normalized(), nil
}

// Save validates s and stores it, normalized. Invalid settings are the
// BAD_USER_INPUT error of Validate; a storage failure is wrapped.
func Save(ctx context.Context, d *db.DB, s Settings) error {
	return db.SaveParamJSON(ctx, d, settingsParam, s.Normalized(), Settings.Validate)
}
