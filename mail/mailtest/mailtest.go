// Package mailtest runs a real SMTP server (emersion/go-smtp) on 127.0.0.1
// for tests: plain, STARTTLS or implicit TLS with a throwaway certificate,
// optional AUTH PLAIN and LOGIN, and every received message kept for the
// test to read.
package mailtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Options choose the server's transport and credentials.
type Options struct {
	// ImplicitTLS serves TLS from the first byte; StartTLS offers STARTTLS
	// on a plain connection. Neither: plain only.
	ImplicitTLS, StartTLS bool
	// Username and Password, when set, are required (AUTH PLAIN or LOGIN).
	Username, Password string
}

// Received is one delivered message.
type Received struct {
	From string
	To   []string
	User string // the authenticated user, "" without AUTH
	TLS  bool   // the connection was encrypted
	Data string // the raw message, headers and body
}

// Server is a running SMTP server.
type Server struct {
	Host string
	Port int
	opt  Options
	ca   *x509.CertPool
	msgs chan Received
	srv  *smtp.Server
	ln   net.Listener
	mu   sync.Mutex
}

// Start starts a server on a free port of 127.0.0.1 and stops it when the
// test ends; it fails the test when it cannot listen.
func Start(t testing.TB, opt Options) *Server {
	t.Helper()
	s := &Server{Host: "127.0.0.1", opt: opt, msgs: make(chan Received, 100)}
	cert, pool := selfSigned(t)
	s.ca = pool
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{s: s, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	if opt.StartTLS {
		srv.TLSConfig = tlsCfg
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mailtest: listen: %v", err)
	}
	if opt.ImplicitTLS {
		ln = tls.NewListener(ln, tlsCfg)
	}
	s.ln, s.srv = ln, srv
	s.Port = ln.Addr().(*net.TCPAddr).Port
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

// Addr returns host:port.
func (s *Server) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// ClientTLS returns a client TLS configuration that trusts the server.
func (s *Server) ClientTLS() *tls.Config { return &tls.Config{RootCAs: s.ca} }

// Close stops the server (later connections are refused).
func (s *Server) Close() { _ = s.srv.Close() }

// Next returns the next delivered message, failing the test when none
// arrives within wait.
func (s *Server) Next(t testing.TB, wait time.Duration) Received {
	t.Helper()
	select {
	case m := <-s.msgs:
		return m
	case <-time.After(wait):
		t.Fatalf("mailtest: no message within %s", wait)
		return Received{}
	}
}

// Pending returns how many delivered messages have not been read.
func (s *Server) Pending() int { return len(s.msgs) }

type session struct {
	s    *Server
	conn *smtp.Conn
	user string
	cur  Received
}

func (ss *session) AuthMechanisms() []string {
	if ss.s.opt.Username == "" {
		return nil
	}
	return []string{sasl.Plain, "LOGIN"}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	check := func(user, pass string) error {
		if user != ss.s.opt.Username || pass != ss.s.opt.Password {
			return errors.New("invalid credentials")
		}
		ss.user = user
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, user, pass string) error { return check(user, pass) }), nil
	case "LOGIN":
		return &loginServer{check: check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.opt.Username != "" && ss.user == "" {
		return smtp.ErrAuthRequired
	}
	_, isTLS := ss.conn.TLSConnectionState()
	ss.cur = Received{From: from, User: ss.user, TLS: isTLS}
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.cur.To = append(ss.cur.To, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.cur.Data = string(b)
	ss.s.msgs <- ss.cur
	return nil
}

func (ss *session) Reset()        { ss.cur = Received{} }
func (ss *session) Logout() error { return nil }

// loginServer is the server side of AUTH LOGIN.
type loginServer struct {
	check func(user, pass string) error
	user  string
	step  int
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	l.step++
	switch l.step {
	case 1:
		if resp != nil { // an initial response is the username
			l.user, l.step = string(resp), 2
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 2:
		l.user = string(resp)
		return []byte("Password:"), false, nil
	default:
		return nil, true, l.check(l.user, string(resp))
	}
}

// selfSigned returns a certificate for 127.0.0.1 and localhost and a pool
// that trusts it.
func selfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("mailtest: key: %v", err)
	}
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "mailtest"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost"},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("mailtest: certificate: %v", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("mailtest: parse certificate: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
