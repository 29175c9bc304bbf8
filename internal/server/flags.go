package server

import (
	"flag"
	"fmt"
	"net"
	"strconv"

	"github.com/monobase/monobase/cors"
	"github.com/monobase/monobase/secrets"
)

// ParseFlags reads --http, --dir, --dev, --origins and
// --max-sockets-per-ip, falling back to MONOBASE_HTTP, MONOBASE_DIR,
// MONOBASE_DEV, MONOBASE_ORIGINS and MONOBASE_MAX_SOCKETS_PER_IP (a flag
// wins over its variable). It returns flag.ErrHelp after printing help, or
// a usage error (an --origins entry that is not an origin, say).
func (c *ServeCommand) ParseFlags(args []string, getenv func(string) string) error {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	if v := getenv("MONOBASE_HTTP"); v != "" {
		c.HTTP = v
	}
	if v := getenv("MONOBASE_DIR"); v != "" && c.Dir == DefaultDir {
		c.Dir = v
	}
	if v := getenv("MONOBASE_DB"); v != "" && c.Database == "" {
		c.Database = v
	}
	if v := getenv("MONOBASE_EVENTS"); v != "" && c.Events == "" {
		c.Events = v
	}
	if v := getenv("MONOBASE_DEV"); v != "" {
		c.Dev = envBool(v)
	}
	if v := getenv("MONOBASE_METRICS"); v != "" {
		c.Metrics = v
	}
	if v := getenv("MONOBASE_PPROF"); v != "" {
		c.Pprof = envBool(v)
	}
	httpsList := getenv("MONOBASE_HTTPS")
	for k, p := range map[string]*string{"MONOBASE_HTTPS_ADDR": &c.HTTPSAddr, "MONOBASE_ACME_DIRECTORY": &c.ACMEDirectory,
		"MONOBASE_TLS_CERT": &c.TLSCert, "MONOBASE_TLS_KEY": &c.TLSKey} {
		if v := getenv(k); v != "" {
			*p = v
		}
	}
	box, err := secrets.FromEnv(getenv)
	if err != nil {
		fmt.Fprintf(c.Stderr, "monobase serve: %v\n", err)
		return fmt.Errorf("%s: %w", secrets.EnvKey, errUsage)
	}
	c.Secrets = box
	if v := getenv("MONOBASE_LOG_FORMAT"); v != "" {
		c.LogFormat = v
	}
	if v := getenv("MONOBASE_MAX_SOCKETS_PER_IP"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			fmt.Fprintf(c.Stderr, "monobase serve: MONOBASE_MAX_SOCKETS_PER_IP=%q is not a count\n", v)
			return fmt.Errorf("MONOBASE_MAX_SOCKETS_PER_IP: %w", errUsage)
		}
		c.MaxSocketsPerIP = n
	}
	if v := getenv("MONOBASE_ORIGINS"); v != "" {
		c.Origins = cors.ParseList(v).AllowedOrigins
	}
	fs := flag.NewFlagSet("monobase serve", flag.ContinueOnError)
	fs.SetOutput(c.Stderr)
	fs.Func("origins", `allowed CORS origins, comma-separated ("*" for any, "" for none); replaces settings.cors while it runs (env MONOBASE_ORIGINS)`,
		func(v string) error {
			c.Origins = cors.ParseList(v).AllowedOrigins
			return nil
		})
	fs.IntVar(&c.MaxSocketsPerIP, "max-sockets-per-ip", c.MaxSocketsPerIP,
		"open WebSockets allowed per client IP, 0 for the default of 1000 (env MONOBASE_MAX_SOCKETS_PER_IP)")
	fs.StringVar(&c.HTTP, "http", c.HTTP, "listen address (env MONOBASE_HTTP)")
	fs.StringVar(&c.Dir, "dir", c.Dir, "data folder (env MONOBASE_DIR)")
	fs.StringVar(&c.Database, "db", c.Database, "the database: a postgres:// URL, or empty for SQLite in the data folder (env MONOBASE_DB)")
	fs.StringVar(&c.Events, "events", c.Events,
		"with several nodes on one PostgreSQL database: where record changes travel, \"postgres\" (LISTEN/NOTIFY, the default) or a nats:// URL (env MONOBASE_EVENTS)")
	fs.StringVar(&c.Metrics, "metrics", c.Metrics,
		"also serve GET /metrics without authentication on this address, e.g. 127.0.0.1:9090 (bind it to a private address), or \"off\" for no metrics (env MONOBASE_METRICS)")
	fs.BoolVar(&c.Pprof, "pprof", c.Pprof,
		"also serve Go's profiles (/debug/pprof/: CPU, heap, goroutines) on the --metrics address, for finding where time and memory go (env MONOBASE_PPROF)")
	fs.StringVar(&httpsList, "https", httpsList,
		"get certificates for these comma-separated domains from Let's Encrypt and serve https on --https-addr, redirecting --http (default :80 then) (env MONOBASE_HTTPS)")
	fs.StringVar(&c.HTTPSAddr, "https-addr", c.HTTPSAddr, "the https listen address of --https (default :443) (env MONOBASE_HTTPS_ADDR)")
	fs.StringVar(&c.ACMEDirectory, "acme-directory", c.ACMEDirectory,
		"the ACME directory URL of --https, e.g. Let's Encrypt's staging one (default: Let's Encrypt's production) (env MONOBASE_ACME_DIRECTORY)")
	fs.StringVar(&c.TLSCert, "tls-cert", c.TLSCert, "serve https on --http with this PEM certificate (chain) file (env MONOBASE_TLS_CERT)")
	fs.StringVar(&c.TLSKey, "tls-key", c.TLSKey, "the PEM private key file of --tls-cert (env MONOBASE_TLS_KEY)")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "log format on stderr: text (readable, the default) or json (one object per line) (env MONOBASE_LOG_FORMAT)")
	c.migrationFlags(fs, getenv) // migrate.go
	fs.BoolVar(&c.Dev, "dev", c.Dev, "development mode: access log, debug logs and go-pkgz/auth's dev OAuth2 provider \"dev\" (env MONOBASE_DEV)")
	fs.Usage = func() {
		fmt.Fprintln(c.Stderr, "Usage: monobase serve [--http ADDR] [--dir DIR] [--dev] [--log-format text|json] [--origins LIST] [--max-sockets-per-ip N] [--metrics ADDR|off [--pprof]]\n"+
			"                      [--https DOMAIN[,DOMAIN] [--https-addr ADDR] | --tls-cert FILE --tls-key FILE]")
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		fmt.Fprintf(c.Stderr, "monobase serve: unexpected argument %q\n", pos[0])
		return fmt.Errorf("serve takes no arguments: %w", errUsage)
	}
	if httpsList != "" {
		domains, err := parseDomains(httpsList)
		if err != nil {
			fmt.Fprintf(c.Stderr, "monobase serve: --https: %v\n", err)
			return fmt.Errorf("--https: %w", errUsage)
		}
		c.HTTPS = domains
		if getenv("MONOBASE_HTTP") == "" && !flagGiven(fs, "http") {
			c.HTTP = DefaultRedirectAddr
		}
	}
	if err := c.checkTLSFlags(); err != nil {
		fmt.Fprintf(c.Stderr, "monobase serve: %v\n", err)
		return fmt.Errorf("%w: %w", err, errUsage)
	}
	if c.Metrics != "" && c.Metrics != MetricsOff {
		if _, _, err := net.SplitHostPort(c.Metrics); err != nil {
			fmt.Fprintf(c.Stderr, "monobase serve: --metrics %q is neither an address (host:port) nor \"off\"\n", c.Metrics)
			return fmt.Errorf("--metrics: %w", errUsage)
		}
	}
	if c.Pprof && (c.Metrics == "" || c.Metrics == MetricsOff) {
		fmt.Fprintln(c.Stderr, "monobase serve: --pprof serves on the --metrics address: give --metrics ADDR too")
		return fmt.Errorf("--pprof: %w", errUsage)
	}
	switch c.LogFormat {
	case "", "text", "json":
	default:
		fmt.Fprintf(c.Stderr, "monobase serve: --log-format %q: want text or json\n", c.LogFormat)
		return fmt.Errorf("--log-format: %w", errUsage)
	}
	if c.MaxSocketsPerIP < 0 {
		fmt.Fprintln(c.Stderr, "monobase serve: --max-sockets-per-ip must not be negative")
		return fmt.Errorf("--max-sockets-per-ip: %w", errUsage)
	}
	if err := c.checkOrigins(); err != nil {
		return err
	}
	return nil
}
