package oauth

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/go-pkgz/auth/v2/logger"
	"github.com/go-pkgz/auth/v2/provider"
)

// Dev runs go-pkgz/auth's dev OAuth2 server (provider.DevAuthServer) for
// `serve --dev`: a fake provider on its own loopback port whose sign-in
// page asks for any user name, so OAuth2 can be tried offline. It sends
// every sign-in back to serverURL/auth/dev/callback, whatever the
// redirect_uri; Handler serves that path for every collection.
type Dev struct {
	srv    *provider.DevAuthServer
	host   string
	port   int
	cancel context.CancelFunc
	done   chan struct{}
}

// DevEmail is the email the dev provider gives the user name u: u itself
// when it is an address, else u@example.com.
func DevEmail(u string) string {
	if strings.Contains(u, "@") {
		return u
	}
	return u + "@example.com"
}

// StartDev starts the dev server on 127.0.0.1 at a free port, for the
// Monobase server at serverURL. Its sign-in page asks for a user name
// (dev_user by default); the user info gives that name as id and name,
// and DevEmail of it as a verified email. It returns once the server
// accepts connections.
func StartDev(serverURL string) (*Dev, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("dev OAuth2 server: find a port: %w", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if err := ln.Close(); err != nil {
		return nil, fmt.Errorf("dev OAuth2 server: %w", err)
	}
	l := pkgzLogger()
	d := &Dev{host: "127.0.0.1", port: port, done: make(chan struct{})}
	d.srv = &provider.DevAuthServer{L: l, GetEmailFn: DevEmail,
		Provider: provider.NewDev(provider.Params{L: l, URL: strings.TrimSuffix(serverURL, "/"), Host: d.host, Port: port, Cid: "dev", Csecret: "dev"})}
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	go func() {
		defer close(d.done)
		d.srv.Run(ctx)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", d.Addr(), 200*time.Millisecond)
		if err == nil {
			_ = c.Close()
			return d, nil
		}
		select {
		case <-d.done:
			return nil, fmt.Errorf("dev OAuth2 server on %s stopped at start", d.Addr())
		default:
		}
		if time.Now().After(deadline) {
			d.Close()
			return nil, fmt.Errorf("dev OAuth2 server on %s did not start: %w", d.Addr(), err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Addr returns the dev server's host:port.
func (d *Dev) Addr() string { return net.JoinHostPort(d.host, strconv.Itoa(d.port)) }

// URL returns the dev server's base URL.
func (d *Dev) URL() string { return "http://" + d.Addr() }

// Close stops the dev server and waits for it.
func (d *Dev) Close() {
	d.cancel()
	<-d.done
}

// pkgzLogger passes go-pkgz/auth's errors to slog as warnings and its
// warnings (a server stopping) as debug lines, and drops the rest, which
// quotes request URLs (codes, states).
func pkgzLogger() logger.L {
	return logger.Func(func(format string, args ...any) {
		switch {
		case strings.HasPrefix(format, "[ERROR]"):
			slog.Warn("go-pkgz/auth: " + strings.TrimSpace(fmt.Sprintf(format, args...)))
		case strings.HasPrefix(format, "[WARN]"):
			slog.Debug("go-pkgz/auth: " + strings.TrimSpace(fmt.Sprintf(format, args...)))
		}
	})
}
