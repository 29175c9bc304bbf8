package mail

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/mail"
	"net/smtp"
	"strconv"
	"strings"
	"time"
)

// Message is one email, plain text.
type Message struct {
	To      string
	Subject string
	Body    string
}

// Sender delivers a message now.
type Sender interface {
	// Send delivers m or returns why it could not.
	Send(ctx context.Context, m Message) error
}

// ErrDisabled is returned by SMTPClient.Send while smtp.enabled is false.
var ErrDisabled = errors.New("mail: smtp is not enabled in the settings")

// SMTPClient sends through the SMTP server of the current settings.
type SMTPClient struct {
	// Settings returns the settings to use; it is called for every message
	// so that a change applies to the next send.
	Settings func(ctx context.Context) (Settings, error)
	// TLSConfig is the base TLS configuration (nil: the system roots);
	// ServerName is set from smtp.host. Tests set RootCAs here.
	TLSConfig *tls.Config
	// Timeout bounds one delivery, connection included (default 30 s).
	Timeout time.Duration
}

// Send delivers m through the configured server: implicit TLS when
// smtp.tls, else a plain connection upgraded with STARTTLS when offered;
// AUTH PLAIN or LOGIN when a username is set. It returns ErrDisabled while
// smtp is off, and a wrapped error naming the step that failed otherwise
// (never the password).
func (c *SMTPClient) Send(ctx context.Context, m Message) error {
	s, err := c.Settings(ctx)
	if err != nil {
		return fmt.Errorf("mail: load settings: %w", err)
	}
	if !s.SMTP.Enabled {
		return ErrDisabled
	}
	data, err := compose(s.Meta, m)
	if err != nil {
		return err
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cfg := s.SMTP
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	tlsCfg := &tls.Config{}
	if c.TLSConfig != nil {
		tlsCfg = c.TLSConfig.Clone()
	}
	tlsCfg.ServerName = cfg.Host
	var conn net.Conn
	if cfg.TLS {
		conn, err = (&tls.Dialer{Config: tlsCfg}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return fmt.Errorf("mail: connect to %s: %w", addr, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	cl, err := smtp.NewClient(conn, cfg.Host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("mail: greeting from %s: %w", addr, err)
	}
	defer cl.Close()
	local := cfg.LocalName
	if local == "" {
		local = "localhost"
	}
	if err := cl.Hello(local); err != nil {
		return fmt.Errorf("mail: EHLO: %w", err)
	}
	if ok, _ := cl.Extension("STARTTLS"); ok && !cfg.TLS {
		if err := cl.StartTLS(tlsCfg); err != nil {
			return fmt.Errorf("mail: STARTTLS: %w", err)
		}
	}
	if cfg.Username != "" {
		var a smtp.Auth
		if strings.EqualFold(cfg.AuthMethod, "LOGIN") {
			a = &loginAuth{user: cfg.Username, pass: cfg.Password}
		} else {
			a = smtp.PlainAuth("", cfg.Username, cfg.Password, cfg.Host)
		}
		if err := cl.Auth(a); err != nil {
			return fmt.Errorf("mail: AUTH as %s: %w", cfg.Username, err)
		}
	}
	if err := cl.Mail(s.Meta.SenderAddress); err != nil {
		return fmt.Errorf("mail: MAIL FROM: %w", err)
	}
	if err := cl.Rcpt(m.To); err != nil {
		return fmt.Errorf("mail: RCPT TO: %w", err)
	}
	w, err := cl.Data()
	if err != nil {
		return fmt.Errorf("mail: DATA: %w", err)
	}
	if _, err := w.Write(data); err != nil {
		return fmt.Errorf("mail: write message: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("mail: end of message: %w", err)
	}
	if err := cl.Quit(); err != nil {
		return fmt.Errorf("mail: QUIT: %w", err)
	}
	return nil
}

// compose returns the RFC 5322 message: headers (the subject Q-encoded) and
// a plain text UTF-8 body with CRLF line ends. An address or subject with a
// line break is refused (no header injection).
func compose(meta Meta, m Message) ([]byte, error) {
	to, err := mail.ParseAddress(m.To)
	if err != nil || hasNewline(m.To) {
		return nil, fmt.Errorf("mail: invalid recipient address")
	}
	if hasNewline(m.Subject) {
		return nil, errors.New("mail: subject with a line break")
	}
	from := mail.Address{Name: meta.SenderName, Address: meta.SenderAddress}
	var id [12]byte
	_, _ = rand.Read(id[:])
	host := "monobase"
	if i := strings.LastIndexByte(meta.SenderAddress, '@'); i >= 0 {
		host = meta.SenderAddress[i+1:]
	}
	var b strings.Builder
	hdr := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	hdr("From", from.String())
	hdr("To", to.String())
	hdr("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	hdr("Date", time.Now().UTC().Format(time.RFC1123Z))
	hdr("Message-ID", "<"+hex.EncodeToString(id[:])+"@"+host+">")
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", `text/plain; charset="utf-8"`)
	hdr("Content-Transfer-Encoding", "8bit")
	b.WriteString("\r\n")
	body := strings.ReplaceAll(strings.ReplaceAll(m.Body, "\r\n", "\n"), "\n", "\r\n")
	b.WriteString(body)
	if !strings.HasSuffix(body, "\r\n") {
		b.WriteString("\r\n")
	}
	return []byte(b.String()), nil
}

// loginAuth is AUTH LOGIN, which net/smtp does not have. Like PlainAuth it
// refuses to send the password over an unencrypted connection except to
// localhost.
type loginAuth struct{ user, pass string }

func (a *loginAuth) Start(info *smtp.ServerInfo) (string, []byte, error) {
	local := info.Name == "localhost" || info.Name == "127.0.0.1" || info.Name == "::1"
	if !info.TLS && !local {
		return "", nil, errors.New("unencrypted connection")
	}
	return "LOGIN", nil, nil
}

func (a *loginAuth) Next(fromServer []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	switch strings.ToLower(strings.TrimSpace(string(fromServer))) {
	case "username:":
		return []byte(a.user), nil
	case "password:":
		return []byte(a.pass), nil
	}
	return nil, fmt.Errorf("unexpected server challenge")
}
