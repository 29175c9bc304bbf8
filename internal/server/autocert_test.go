package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/monobase/monobase/internal/acmetest"
	"github.com/monobase/monobase/ratelimit"
)

// The tests of `serve --https` run the real autocert flow against an ACME
// CA in process (internal/acmetest, x/crypto's own test CA): the CA checks
// the challenge by connecting to the server's listeners on 127.0.0.1, as
// Let's Encrypt would connect to the domain. What they cannot show is that
// Let's Encrypt itself accepts the server: that needs the internet and a
// domain pointing at the server.

const acmeDomain = "monobase.test"

// serveHTTPS starts `serve --https acmeDomain` on dir with both listeners
// on free loopback ports, getting certificates from the ACME directory
// dirURL.
func serveHTTPS(t *testing.T, dir, dirURL string) *ServeCommand {
	t.Helper()
	srv, _ := startServerWith(t, dir, func(c *ServeCommand) {
		c.RateLimits = &ratelimit.Settings{}
		c.HTTPS = []string{acmeDomain}
		c.HTTPSAddr = "127.0.0.1:0"
		c.ACMEDirectory = dirURL
	})
	return srv
}

// handshake opens a TLS connection to addr for serverName, trusting roots
// (nil: verifying nothing), and returns the served certificate.
func handshake(addr, serverName string, roots *x509.CertPool) (*x509.Certificate, error) {
	conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: serverName, RootCAs: roots, InsecureSkipVerify: roots == nil})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0], nil
}

// domainClient is an HTTP client that reaches acmeDomain at addr, trusting
// roots.
func domainClient(addr string, roots *x509.CertPool) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: roots},
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func TestHTTPSAutocert(t *testing.T) {
	for _, challenge := range []string{"http-01", "tls-alpn-01"} {
		t.Run(challenge, func(t *testing.T) {
			ca := acmetest.NewCAServer(t).ChallengeTypes(challenge).Start()
			dir := t.TempDir()
			srv := serveHTTPS(t, dir, ca.URL())
			if challenge == "http-01" {
				ca.Resolve(acmeDomain, srv.RedirectAddr()) // the CA fetches the token from the :80 listener
			} else {
				ca.Resolve(acmeDomain, srv.Addr()) // the CA handshakes with the :443 listener
			}

			// The first handshake for the domain gets a certificate issued.
			cert, err := handshake(srv.Addr(), acmeDomain, ca.Roots())
			if err != nil {
				t.Fatalf("handshake for %s: %v", acmeDomain, err)
			}
			if err := cert.VerifyHostname(acmeDomain); err != nil {
				t.Fatal(err)
			}
			res, err := domainClient(srv.Addr(), ca.Roots()).Get("https://" + acmeDomain + "/health")
			if err != nil {
				t.Fatalf("GET /health over https: %v", err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				t.Fatalf("health: %d", res.StatusCode)
			}
			// Kept in the data folder, with the account key.
			entries, _ := os.ReadDir(filepath.Join(dir, AutocertDir))
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			if !contains(names, acmeDomain) || !contains(names, "acme_account+key") {
				t.Fatalf("%s holds %v", AutocertDir, names)
			}
		})
	}
}

func TestHTTPSAutocertWiring(t *testing.T) {
	ca := acmetest.NewCAServer(t).ChallengeTypes("http-01").Start()
	dir := t.TempDir()
	srv := serveHTTPS(t, dir, ca.URL())
	ca.Resolve(acmeDomain, srv.RedirectAddr())
	if _, err := handshake(srv.Addr(), acmeDomain, ca.Roots()); err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(srv.Addr())
	if srv.URL() != "https://"+acmeDomain+":"+port {
		t.Errorf("URL %q", srv.URL())
	}

	t.Run("a name not listed gets no certificate", func(t *testing.T) {
		_, err := handshake(srv.Addr(), "other.test", nil)
		if err == nil {
			t.Fatal("handshake for other.test succeeded")
		}
	})

	plain := domainClient(srv.RedirectAddr(), nil)
	get := func(method, host, path string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+host+path, nil)
		res, err := plain.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res, string(body)
	}
	t.Run("the http listener redirects to https", func(t *testing.T) {
		res, _ := get(http.MethodGet, acmeDomain, "/graphql?query=%7B__typename%7D")
		want := "https://" + acmeDomain + ":" + port + "/graphql?query=%7B__typename%7D"
		if res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Location") != want {
			t.Fatalf("%d to %q, want 301 to %q", res.StatusCode, res.Header.Get("Location"), want)
		}
		if res, _ := get(http.MethodPost, acmeDomain, "/graphql"); res.StatusCode != http.StatusBadRequest {
			t.Fatalf("POST over http: %d", res.StatusCode)
		}
	})
	t.Run("the http listener answers ACME challenges through the manager", func(t *testing.T) {
		// A token the manager has in its cache (as for a challenge under
		// way) is served; an unknown one is not; another host is refused
		// by the host policy.
		if err := os.WriteFile(filepath.Join(dir, AutocertDir, "tok123+http-01"), []byte("tok123.thumbprint"), 0o600); err != nil {
			t.Fatal(err)
		}
		if res, body := get(http.MethodGet, acmeDomain, "/.well-known/acme-challenge/tok123"); res.StatusCode != http.StatusOK || body != "tok123.thumbprint" {
			t.Fatalf("known token: %d %q", res.StatusCode, body)
		}
		if res, _ := get(http.MethodGet, acmeDomain, "/.well-known/acme-challenge/unknown"); res.StatusCode != http.StatusNotFound {
			t.Fatalf("unknown token: %d", res.StatusCode)
		}
		if res, _ := get(http.MethodGet, "other.test", "/.well-known/acme-challenge/tok123"); res.StatusCode != http.StatusForbidden {
			t.Fatalf("another host: %d", res.StatusCode)
		}
	})
	t.Run("after a restart the certificate comes from the cache", func(t *testing.T) {
		issued, _ := handshake(srv.Addr(), acmeDomain, ca.Roots())
		if err := srv.Close(); err != nil {
			t.Fatal(err)
		}
		// Nothing answers at this directory: only the cache can serve.
		again := serveHTTPS(t, dir, "http://127.0.0.1:1/directory")
		cert, err := handshake(again.Addr(), acmeDomain, ca.Roots())
		if err != nil {
			t.Fatalf("handshake after the restart: %v", err)
		}
		if !cert.Equal(issued) {
			t.Fatal("another certificate after the restart")
		}
		if !strings.HasPrefix(again.URL(), "https://"+acmeDomain) {
			t.Fatalf("URL %q", again.URL())
		}
	})
}
