package server

// This file is HTTPS: certificates from ACME (Let's Encrypt) for
// `serve --https DOMAIN[,DOMAIN]`, with the :80 listener that redirects to
// https and answers the HTTP-01 challenges, or a given certificate with
// `--tls-cert FILE --tls-key FILE`.
//
// Either way the main listener serves TLS (http.Server.ServeTLS, HTTP/2
// included), so requests carry r.TLS: the OAuth2 flow (auth/oauth) then
// builds https callback URLs and sets Secure cookies.

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// AutocertDir is the folder of the data folder where --https keeps its
// ACME account key and certificates.
const AutocertDir = ".autocert"

// DefaultHTTPSAddr is the TLS listener's address with --https.
const DefaultHTTPSAddr = ":443"

// DefaultRedirectAddr is --http's default with --https: the plain
// listener that redirects to https and answers ACME's HTTP-01 challenges.
const DefaultRedirectAddr = ":80"

// tlsState is the serve command's part for HTTPS.
type tlsState struct {
	config  *tls.Config       // nil: plain HTTP
	manager *autocert.Manager // --https only
	// The --https plain listener: redirects and HTTP-01 challenges.
	redirect   *http.Server
	redirectLn net.Listener
	served     chan error
}

// parseDomains splits --https's comma-separated list, refusing what is not
// a host name (a scheme, a port, a path, an IP address).
func parseDomains(list string) ([]string, error) {
	var out []string
	for _, d := range strings.Split(list, ",") {
		d = strings.ToLower(strings.TrimSpace(d))
		if d == "" {
			continue
		}
		if strings.ContainsAny(d, ":/ @") || net.ParseIP(d) != nil || strings.Trim(d, ".") != d {
			return nil, fmt.Errorf("%q is not a domain name (give names such as example.com, without scheme or port)", d)
		}
		out = append(out, d)
	}
	if len(out) == 0 {
		return nil, errors.New("no domain given")
	}
	return out, nil
}

// checkTLSFlags refuses combinations that cannot work.
func (c *ServeCommand) checkTLSFlags() error {
	switch {
	case len(c.HTTPS) > 0 && (c.TLSCert != "" || c.TLSKey != ""):
		return errors.New("--https gets certificates itself: it does not take --tls-cert/--tls-key")
	case (c.TLSCert == "") != (c.TLSKey == ""):
		return errors.New("--tls-cert and --tls-key go together")
	case len(c.HTTPS) == 0 && c.HTTPSAddr != "":
		return errors.New("--https-addr is the listener of --https")
	case len(c.HTTPS) == 0 && c.ACMEDirectory != "":
		return errors.New("--acme-directory is for --https")
	}
	return nil
}

// setupTLS prepares the TLS configuration of the main listener, if any:
// the ACME manager (--https) or the given certificate (--tls-cert).
func (c *ServeCommand) setupTLS() error {
	if err := c.checkTLSFlags(); err != nil {
		return err
	}
	switch {
	case len(c.HTTPS) > 0:
		m := &autocert.Manager{
			Prompt:     autocert.AcceptTOS,
			HostPolicy: autocert.HostWhitelist(c.HTTPS...),
			Cache:      autocert.DirCache(filepath.Join(c.Dir, AutocertDir)),
		}
		if c.ACMEDirectory != "" {
			m.Client = &acme.Client{DirectoryURL: c.ACMEDirectory}
		}
		c.tls.manager = m
		c.tls.config = m.TLSConfig()
		c.tls.config.MinVersion = tls.VersionTLS12
	case c.TLSCert != "":
		kp, err := newKeyPair(c.TLSCert, c.TLSKey, c.logger())
		if err != nil {
			return err
		}
		c.tls.config = &tls.Config{GetCertificate: kp.get, MinVersion: tls.VersionTLS12}
	}
	return nil
}

// listen opens the main listener: --http's address, or with --https
// --https-addr's, in which case --http's is the plain listener of
// redirects and HTTP-01 challenges.
func (c *ServeCommand) listen() (net.Listener, error) {
	if err := c.setupTLS(); err != nil {
		return nil, err
	}
	addr := c.HTTP
	if c.tls.manager != nil {
		addr = cmp.Or(c.HTTPSAddr, DefaultHTTPSAddr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	if c.tls.manager == nil {
		return ln, nil
	}
	rln, err := net.Listen("tcp", c.HTTP)
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("listen on %s (the http listener of --https): %w", c.HTTP, err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	c.tls.redirectLn = rln
	c.tls.redirect = &http.Server{
		Handler:           c.tls.manager.HTTPHandler(toHTTPS(port)),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       time.Minute,
		ErrorLog:          slog.NewLogLogger(c.logger().Handler(), slog.LevelWarn),
	}
	c.tls.served = make(chan error, 1)
	go func() { c.tls.served <- c.tls.redirect.Serve(rln) }()
	return ln, nil
}

// serve serves the main listener, over TLS when it is set up.
func (c *ServeCommand) serve(ln net.Listener) error {
	if c.tls.config == nil {
		return c.srv.Serve(ln)
	}
	c.srv.TLSConfig = c.tls.config
	return c.srv.ServeTLS(ln, "", "")
}

// closeTLS stops the --https plain listener.
func (c *ServeCommand) closeTLS(ctx context.Context) error {
	if c.tls.redirect == nil {
		return nil
	}
	if err := c.tls.redirect.Shutdown(ctx); err != nil {
		_ = c.tls.redirect.Close()
		return fmt.Errorf("shutdown the http listener: %w", err)
	}
	if err := <-c.tls.served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve http: %w", err)
	}
	return nil
}

// RedirectAddr returns the address of the --https plain listener, "" when
// there is none.
func (c *ServeCommand) RedirectAddr() string {
	if c.tls.redirectLn == nil {
		return ""
	}
	return c.tls.redirectLn.Addr().String()
}

// toHTTPS sends GET and HEAD requests to the same URL over https on port
// (left out when 443), and refuses other methods with 400: their body has
// already crossed the network in the clear.
func toHTTPS(port string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			writeJSONError(w, http.StatusBadRequest, "use https")
			return
		}
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if port != "443" {
			host = net.JoinHostPort(host, port)
		}
		http.Redirect(w, r, "https://"+host+r.URL.RequestURI(), http.StatusMovedPermanently)
	})
}

// keyPair serves the certificate of --tls-cert/--tls-key, read again when
// either file changes (a renewal needs no restart). A new pair that does
// not load is logged and the previous one kept.
type keyPair struct {
	certFile, keyFile string
	log               *slog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	modTime time.Time // the later of the two files' when cert was read
	badTime time.Time // the same for the last pair that did not load
}

// newKeyPair loads the pair; it fails when it cannot.
func newKeyPair(certFile, keyFile string, log *slog.Logger) (*keyPair, error) {
	k := &keyPair{certFile: certFile, keyFile: keyFile, log: log}
	mod, err := k.modified()
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load --tls-cert/--tls-key: %w", err)
	}
	k.cert, k.modTime = &cert, mod
	return k, nil
}

// modified returns the later modification time of the two files.
func (k *keyPair) modified() (time.Time, error) {
	var latest time.Time
	for _, f := range []string{k.certFile, k.keyFile} {
		fi, err := os.Stat(f)
		if err != nil {
			return time.Time{}, fmt.Errorf("read --tls-cert/--tls-key: %w", err)
		}
		if fi.ModTime().After(latest) {
			latest = fi.ModTime()
		}
	}
	return latest, nil
}

// get implements tls.Config.GetCertificate.
func (k *keyPair) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	mod, err := k.modified()
	if err != nil || mod.Equal(k.modTime) || mod.Equal(k.badTime) {
		return k.cert, nil // a file being replaced: keep serving the last pair
	}
	cert, err := tls.LoadX509KeyPair(k.certFile, k.keyFile)
	if err != nil {
		// Perhaps half written: the next change is tried again.
		k.badTime = mod
		k.log.Warn("tls: the changed certificate does not load; serving the previous one", "err", err)
		return k.cert, nil
	}
	k.cert, k.modTime = &cert, mod
	k.log.Info("tls: certificate reloaded", "file", k.certFile)
	return k.cert, nil
}

// flagGiven reports whether the flag name was set on the command line.
func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}
