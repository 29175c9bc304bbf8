// Package pgdsn completes the PostgreSQL connection strings Monobase is
// given (a postgres:// URL or libpq's key=value pairs) before lib/pq sees
// them: the parameters Monobase sets, and libpq's default sslmode.
package pgdsn

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
)

// IsURL reports whether s is a postgres:// or postgresql:// URL.
func IsURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Complete returns dsn with params set, and with sslmode=prefer when
// neither dsn nor PGSSLMODE picks an sslmode: libpq's default (and pgx's,
// which Monobase used before lib/pq), where lib/pq's own, "require",
// refuses servers without TLS.
func Complete(dsn string, params map[string]string) (string, error) {
	prefer := os.Getenv("PGSSLMODE") == ""
	if !IsURL(dsn) {
		var b strings.Builder
		b.WriteString(dsn)
		if prefer && !sslmodeRe.MatchString(dsn) {
			b.WriteString(" sslmode=prefer")
		}
		for _, k := range slices.Sorted(maps.Keys(params)) {
			fmt.Fprintf(&b, " %s='%s'", k, quote.Replace(params[k]))
		}
		return b.String(), nil
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "", errors.New("the URL does not parse") // url's error would show the password
	}
	q := u.Query()
	if prefer && !q.Has("sslmode") {
		q.Set("sslmode", "prefer")
	}
	for k, v := range params {
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// sslmodeRe finds an sslmode in key=value pairs.
var sslmodeRe = regexp.MustCompile(`(^|\s)sslmode\s*=`)

// quote escapes a value for libpq's single quotes.
var quote = strings.NewReplacer(`\`, `\\`, `'`, `\'`)
