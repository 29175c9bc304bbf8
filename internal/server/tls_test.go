package server

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/monobase/monobase/auth/oauth/oauthtest"
	"github.com/monobase/monobase/ratelimit"
)

// selfSigned writes a self-signed certificate for 127.0.0.1 and localhost
// named cn, and its key, as PEM files in dir, and returns their paths and
// a pool that trusts it.
func selfSigned(t *testing.T, dir, cn string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// servedCN returns the common name of the certificate addr serves to a
// client trusting pool.
func servedCN(t *testing.T, addr string, pool *x509.CertPool) string {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("TLS to %s: %v", addr, err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].Subject.CommonName
}

func TestTLSCertificate(t *testing.T) {
	dir, certDir := t.TempDir(), t.TempDir()
	certFile, keyFile, pool := selfSigned(t, certDir, "first")
	mustCLI(t, "--dir", dir, "superuser", "upsert", "admin@example.com", "admin-password")
	srv, _ := startServerWith(t, dir, func(c *ServeCommand) {
		c.RateLimits = &ratelimit.Settings{}
		c.TLSCert, c.TLSKey = certFile, keyFile
	})
	base := srv.URL()
	if !strings.HasPrefix(base, "https://127.0.0.1:") {
		t.Fatalf("URL %q", base)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	post := func(path, token, query string) map[string]any {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"query": query})
		req, _ := http.NewRequest(http.MethodPost, base+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		defer res.Body.Close()
		var out struct {
			Data   map[string]any
			Errors []any
		}
		if err := json.NewDecoder(res.Body).Decode(&out); err != nil || len(out.Errors) > 0 || res.TLS == nil {
			t.Fatalf("POST %s: %d %v %v (TLS %v)", path, res.StatusCode, err, out.Errors, res.TLS != nil)
		}
		return out.Data
	}
	auth := post("/graphql/admin", "", `mutation { authWithPassword(email: "admin@example.com", password: "admin-password") { token } }`)
	admin := auth["authWithPassword"].(map[string]any)["token"].(string)
	post("/graphql/admin", admin, `mutation { createCollection(input: {name: "posts", listRule: "", viewRule: "", createRule: "",
		fields: [{name: "title", type: TEXT}]}) { id } }`)

	t.Run("only over TLS, with the given certificate", func(t *testing.T) {
		if cn := servedCN(t, srv.Addr(), pool); cn != "first" {
			t.Fatalf("served %q", cn)
		}
		res, err := http.Get("http://" + srv.Addr() + "/health") // plain HTTP to the TLS port
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest { // net/http's answer to plain HTTP on TLS
			t.Fatalf("plain HTTP answered %d", res.StatusCode)
		}
		if _, err := http.Get(base + "/health"); err == nil {
			t.Fatal("a client that does not trust the certificate got an answer")
		}
	})

	t.Run("query, mutation and a wss:// subscription", func(t *testing.T) {
		dialer := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}, TLSClientConfig: &tls.Config{RootCAs: pool}}
		conn, _, err := dialer.Dial("wss://"+srv.Addr()+"/graphql", nil)
		if err != nil {
			t.Fatalf("dial wss: %v", err)
		}
		defer conn.Close()
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		var msg struct {
			Type    string         `json:"type"`
			Payload map[string]any `json:"payload"`
		}
		_ = conn.WriteJSON(map[string]any{"type": "connection_init", "payload": map[string]any{}})
		if err := conn.ReadJSON(&msg); err != nil || msg.Type != "connection_ack" {
			t.Fatalf("ack: %v %q", err, msg.Type)
		}
		_ = conn.WriteJSON(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{
			"query": "subscription { postChanged { action record { title } } }"}})
		// The subscription runs once the metrics say so.
		deadline := time.Now().Add(10 * time.Second)
		for {
			req, _ := http.NewRequest(http.MethodGet, base+"/metrics", nil)
			req.Header.Set("Authorization", "Bearer "+admin)
			res, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if strings.Contains(string(body), "\nmonobase_subscriptions_active 1\n") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the subscription did not start: %s", body)
			}
			time.Sleep(20 * time.Millisecond)
		}
		post("/graphql", "", `mutation { createPost(input: {title: "over tls"}) { id } }`)
		if err := conn.ReadJSON(&msg); err != nil || msg.Type != "next" || !strings.Contains(toJSON(msg.Payload), "over tls") {
			t.Fatalf("event: %v %q %v", err, msg.Type, msg.Payload)
		}
		data := post("/graphql", "", `{ posts { title } }`)
		if toJSON(data) != `{"posts":[{"title":"over tls"}]}` {
			t.Fatalf("query: %s", toJSON(data))
		}
	})

	t.Run("OAuth2 callbacks and cookies are https", func(t *testing.T) {
		idp := oauthtest.New(t)
		post("/graphql/admin", admin, `mutation { updateCollection(idOrName: "users", input: {name: "users", type: AUTH, createRule: "", authRule: "",
			oauth2: {enabled: true, providers: [{name: "acme", clientId: "`+oauthtest.ClientID+`", clientSecret: "`+oauthtest.ClientSecret+`",
			authUrl: "`+idp.URL+`/authorize", tokenUrl: "`+idp.URL+`/token", userInfoUrl: "`+idp.URL+`/userinfo"}]}}) { id } }`)
		idp.AddUser("ann", map[string]any{"sub": "u-ann", "email": "ann@example.com", "email_verified": true})
		idp.SignInAs("ann")
		jar, _ := cookiejar.New(nil)
		var toProvider *url.URL
		cookies := &cookieTap{next: client.Transport}
		b := &http.Client{Jar: jar, Transport: cookies, CheckRedirect: func(r *http.Request, via []*http.Request) error {
			if r.URL.Path == "/authorize" {
				toProvider = r.URL
			}
			if r.URL.Path == "/done" {
				return http.ErrUseLastResponse
			}
			return nil
		}}
		res, err := b.Get(base + "/auth/users/acme/login?redirect=" + url.QueryEscape(base+"/done"))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if toProvider == nil || toProvider.Query().Get("redirect_uri") != base+"/auth/users/acme/callback" {
			t.Fatalf("sent to the provider with %v", toProvider)
		}
		loc := res.Header.Get("Location")
		if !strings.HasPrefix(loc, base+"/done#") || !strings.Contains(loc, "token=") {
			t.Fatalf("back at %d %q", res.StatusCode, loc)
		}
		if len(cookies.set) == 0 {
			t.Fatal("the flow set no cookie")
		}
		for _, ck := range cookies.set {
			if !strings.Contains(ck, "; Secure") {
				t.Errorf("cookie not Secure: %s", ck)
			}
		}
	})

	t.Run("a renewed certificate is served without a restart", func(t *testing.T) {
		newDir := t.TempDir()
		c2, k2, pool2 := selfSigned(t, newDir, "second")
		for _, pair := range [][2]string{{c2, certFile}, {k2, keyFile}} {
			raw, _ := os.ReadFile(pair[0])
			if err := os.WriteFile(pair[1], raw, 0o600); err != nil {
				t.Fatal(err)
			}
			later := time.Now().Add(time.Minute)
			_ = os.Chtimes(pair[1], later, later)
		}
		if cn := servedCN(t, srv.Addr(), pool2); cn != "second" {
			t.Fatalf("served %q after the renewal", cn)
		}
	})
}

// cookieTap records the Set-Cookie headers of the server's answers.
type cookieTap struct {
	next http.RoundTripper
	set  []string
}

func (c *cookieTap) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := c.next.RoundTrip(r)
	if err == nil && r.URL.Scheme == "https" {
		c.set = append(c.set, res.Header.Values("Set-Cookie")...)
	}
	return res, err
}

// toJSON renders v as JSON.
func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestTLSFlags(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		env  map[string]string
		bad  string // part of the message; "" when accepted
		want func(c *ServeCommand) bool
	}{
		{name: "https with its defaults", args: []string{"--https", "Example.com, www.example.com"},
			want: func(c *ServeCommand) bool {
				return strings.Join(c.HTTPS, ",") == "example.com,www.example.com" && c.HTTP == DefaultRedirectAddr && c.HTTPSAddr == ""
			}},
		{name: "https with the ports moved", args: []string{"--https", "example.com", "--http", ":8080", "--https-addr", ":8443"},
			want: func(c *ServeCommand) bool { return c.HTTP == ":8080" && c.HTTPSAddr == ":8443" }},
		{name: "https from the environment, --http from it too", env: map[string]string{"MONOBASE_HTTPS": "example.com", "MONOBASE_HTTP": ":8080"},
			want: func(c *ServeCommand) bool { return c.HTTP == ":8080" && len(c.HTTPS) == 1 }},
		{name: "a certificate", args: []string{"--tls-cert", "c.pem", "--tls-key", "k.pem"},
			want: func(c *ServeCommand) bool {
				return c.TLSCert == "c.pem" && c.TLSKey == "k.pem" && c.HTTP == DefaultHTTP
			}},
		{name: "a URL is not a domain", args: []string{"--https", "https://example.com"}, bad: "not a domain"},
		{name: "a port is not a domain", args: []string{"--https", "example.com:443"}, bad: "not a domain"},
		{name: "an IP is not a domain", args: []string{"--https", "10.1.2.3"}, bad: "not a domain"},
		{name: "no domain", args: []string{"--https", " , "}, bad: "no domain"},
		{name: "both kinds", args: []string{"--https", "example.com", "--tls-cert", "c.pem", "--tls-key", "k.pem"}, bad: "does not take"},
		{name: "a cert without key", args: []string{"--tls-cert", "c.pem"}, bad: "go together"},
		{name: "https-addr alone", args: []string{"--https-addr", ":8443"}, bad: "listener of --https"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var stderr bytes.Buffer
			cmd := NewServeCommand(io.Discard, &stderr)
			err := cmd.ParseFlags(c.args, func(k string) string { return c.env[k] })
			if c.bad != "" {
				if err == nil || !strings.Contains(stderr.String(), c.bad) {
					t.Fatalf("err %v, stderr %q; want a refusal with %q", err, stderr.String(), c.bad)
				}
				return
			}
			if err != nil || !c.want(cmd) {
				t.Fatalf("err %v, command %+v", err, cmd)
			}
		})
	}
}

func TestTLSCertificateMissing(t *testing.T) {
	c := NewServeCommand(io.Discard, io.Discard)
	c.Dir, c.HTTP = t.TempDir(), "127.0.0.1:0"
	c.TLSCert, c.TLSKey = filepath.Join(c.Dir, "nope.pem"), filepath.Join(c.Dir, "nope.key")
	withTestDB(t, c)
	err := c.Run(t.Context())
	if err == nil {
		_ = c.Close()
		t.Fatal("started without its certificate")
	}
	if !strings.Contains(err.Error(), "--tls-cert") {
		t.Fatalf("error %v", err)
	}
}
