package mail_test

import (
	"context"
	"errors"
	"github.com/monobase/monobase/internal/dbtest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/mail"
	"github.com/monobase/monobase/mail/mailtest"
)

// wait bounds how long a test waits for a delivery (a safety net, not a
// timing assertion).
const wait = 10 * time.Second

func client(srv *mailtest.Server, mutate func(*mail.SMTP)) *mail.SMTPClient {
	smtpCfg := mail.SMTP{Enabled: true, Host: srv.Host, Port: srv.Port, AuthMethod: "PLAIN", LocalName: "monobase.test"}
	if mutate != nil {
		mutate(&smtpCfg)
	}
	meta := mail.Meta{AppName: "Acme", AppURL: "https://acme.test", SenderName: "Acme Support", SenderAddress: "support@acme.test"}
	return &mail.SMTPClient{
		Settings:  func(context.Context) (mail.Settings, error) { return mail.Settings{Meta: meta, SMTP: smtpCfg}, nil },
		TLSConfig: srv.ClientTLS(),
	}
}

func TestSMTPTransports(t *testing.T) {
	cases := []struct {
		name    string
		opt     mailtest.Options
		mutate  func(*mail.SMTP)
		wantTLS bool
	}{
		{"plain", mailtest.Options{}, nil, false},
		{"plain with AUTH PLAIN", mailtest.Options{Username: "u", Password: "p@ss"}, func(c *mail.SMTP) { c.Username, c.Password = "u", "p@ss" }, false},
		{"STARTTLS with AUTH LOGIN", mailtest.Options{StartTLS: true, Username: "u", Password: "p@ss"},
			func(c *mail.SMTP) { c.Username, c.Password, c.AuthMethod = "u", "p@ss", "LOGIN" }, true},
		{"implicit TLS with AUTH PLAIN", mailtest.Options{ImplicitTLS: true, Username: "u", Password: "p@ss"},
			func(c *mail.SMTP) { c.Username, c.Password, c.TLS = "u", "p@ss", true }, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := mailtest.Start(t, tc.opt)
			err := client(srv, tc.mutate).Send(context.Background(), mail.Message{To: "bob@example.com", Subject: "Héllo\u00a0there", Body: "line one\nline two"})
			if err != nil {
				t.Fatalf("send: %v", err)
			}
			got := srv.Next(t, wait)
			if got.From != "support@acme.test" || len(got.To) != 1 || got.To[0] != "bob@example.com" {
				t.Fatalf("envelope = %q -> %q", got.From, got.To)
			}
			if got.TLS != tc.wantTLS || got.User != tc.opt.Username {
				t.Fatalf("tls = %v, user = %q; want %v, %q", got.TLS, got.User, tc.wantTLS, tc.opt.Username)
			}
			for _, want := range []string{`From: "Acme Support" <support@acme.test>`, "To: <bob@example.com>", "Subject: =?utf-8?q?", "\r\n\r\nline one\r\nline two\r\n"} {
				if !strings.Contains(got.Data, want) {
					t.Fatalf("message lacks %q:\n%s", want, got.Data)
				}
			}
		})
	}
}

func TestSMTPWrongPasswordNotInError(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{Username: "u", Password: "right"})
	err := client(srv, func(c *mail.SMTP) { c.Username, c.Password = "u", "s3cret-wrong" }).Send(context.Background(), mail.Message{To: "a@b.test", Subject: "x", Body: "y"})
	if err == nil || strings.Contains(err.Error(), "s3cret-wrong") {
		t.Fatalf("err = %v; want an AUTH error without the password", err)
	}
}

func TestSMTPDisabledAndHeaderInjection(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	if err := client(srv, func(c *mail.SMTP) { c.Enabled = false }).Send(context.Background(), mail.Message{To: "a@b.test"}); !errors.Is(err, mail.ErrDisabled) {
		t.Fatalf("disabled: err = %v", err)
	}
	c := client(srv, nil)
	if err := c.Send(context.Background(), mail.Message{To: "a@b.test", Subject: "x\r\nBcc: evil@x.test", Body: "y"}); err == nil {
		t.Fatal("a subject with CRLF was sent")
	}
	if err := c.Send(context.Background(), mail.Message{To: "a@b.test\r\nBcc: evil@x.test", Body: "y"}); err == nil {
		t.Fatal("a recipient with CRLF was sent")
	}
	if srv.Pending() != 0 {
		t.Fatal("a refused message reached the server")
	}
}

// flaky fails its first n sends, then delivers through next.
type flaky struct {
	mu    sync.Mutex
	n     int
	calls int
	next  mail.Sender
}

func (f *flaky) Send(ctx context.Context, m mail.Message) error {
	f.mu.Lock()
	f.calls++
	fail := f.calls <= f.n
	f.mu.Unlock()
	if fail {
		return errors.New("temporary failure")
	}
	return f.next.Send(ctx, m)
}

func TestQueueRetriesThenDelivers(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	f := &flaky{n: 2, next: client(srv, nil)}
	q := mail.NewQueue(f, mail.QueueConfig{Attempts: 3, Backoff: time.Millisecond})
	defer q.Close(context.Background())
	if !q.Enqueue(mail.Message{To: "a@b.test", Subject: "retry", Body: "z"}) {
		t.Fatal("enqueue refused")
	}
	got := srv.Next(t, wait)
	if !strings.Contains(got.Data, "Subject: retry") {
		t.Fatalf("message = %s", got.Data)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls != 3 {
		t.Fatalf("attempts = %d, want 3", f.calls)
	}
}

func TestQueueGivesUpAndIsBounded(t *testing.T) {
	results := make(chan error, 10)
	block := make(chan struct{})
	s := senderFunc(func(ctx context.Context, m mail.Message) error {
		<-block
		return errors.New("server down")
	})
	q := mail.NewQueue(s, mail.QueueConfig{Size: 2, Attempts: 2, Backoff: time.Millisecond})
	q.Sent = func(_ mail.Message, err error) { results <- err }
	defer q.Close(context.Background())
	// One message is taken by the sender (blocked), two wait; then the
	// queue is full.
	accepted := 0
	for i := 0; i < 6; i++ {
		if q.Enqueue(mail.Message{To: "a@b.test"}) {
			accepted++
		}
	}
	if accepted < 2 || accepted > 3 {
		t.Fatalf("accepted %d of 6 with a queue of 2", accepted)
	}
	close(block)
	for i := 0; i < accepted; i++ {
		select {
		case err := <-results:
			if err == nil {
				t.Fatal("a failing send was reported delivered")
			}
		case <-time.After(wait):
			t.Fatal("the queue did not give up")
		}
	}
}

type senderFunc func(ctx context.Context, m mail.Message) error

func (f senderFunc) Send(ctx context.Context, m mail.Message) error { return f(ctx, m) }

func TestRenderPlaceholders(t *testing.T) {
	meta := mail.Meta{AppName: "Acme", AppURL: "https://acme.test/"}
	m, err := mail.Render(mail.Verification, nil, meta, "a@b.test", mail.Vars{Token: "TOK", Record: map[string]any{"name": "{RECORD:name}", "password": "hash"}})
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Verify your Acme email" || !strings.Contains(m.Body, "https://acme.test/_/#/auth/confirm-verification/TOK\n") {
		t.Fatalf("rendered %+v", m)
	}
	if _, err := mail.Render("NOPE", nil, meta, "a@b.test", mail.Vars{Token: "t"}); err == nil {
		t.Fatal("unknown template rendered")
	}
}

func TestSettingsRoundTripAndValidation(t *testing.T) {
	ctx := context.Background()
	d, err := dbtest.Open(t, ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	s, err := mail.Load(ctx, d)
	if err != nil || s.Meta != mail.DefaultMeta || s.SMTP != mail.DefaultSMTP {
		t.Fatalf("defaults = %+v, %v", s, err)
	}
	s.Meta.AppName = "Acme"
	s.SMTP.Password = "pw"
	if err := mail.Save(ctx, d, s); err != nil {
		t.Fatal(err)
	}
	if got, _ := mail.Load(ctx, d); got != s {
		t.Fatalf("loaded %+v, saved %+v", got, s)
	}
	bad := s
	bad.Meta.AppURL = "javascript:alert(1)"
	bad.SMTP.Port = 0
	err = mail.Save(ctx, d, bad)
	var ae *apperr.Error
	if !errors.As(err, &ae) || ae.Code != apperr.Invalid || ae.Fields["meta.appUrl"].Code == "" || ae.Fields["smtp.port"].Code == "" {
		t.Fatalf("err = %#v", err)
	}
	if got, _ := mail.Load(ctx, d); got != s {
		t.Fatal("an invalid save changed the settings")
	}
}

func TestRenderCollectionTemplates(t *testing.T) {
	meta := mail.Meta{AppName: "Acme", AppURL: "https://acme.test"}
	c := &db.Collection{Name: "users", Type: db.TypeAuth, Auth: &db.AuthOptions{EmailTemplates: &db.EmailTemplates{
		OTP: &db.EmailTemplate{Subject: "{APP_NAME} code", Body: "code {OTP} for {RECORD:email}"},
	}}}
	m, err := mail.Render(mail.OTP, c, meta, "a@b.test", mail.Vars{OTP: "12345678", Record: map[string]any{"email": "a@b.test"}})
	if err != nil || m.Subject != "Acme code" || m.Body != "code 12345678 for a@b.test" {
		t.Fatalf("override: %+v, %v", m, err)
	}
	// Kinds without an override, and a nil collection, use the defaults.
	for _, kind := range []mail.Kind{mail.OTP, mail.AuthAlert, mail.ResetPassword} {
		var coll *db.Collection
		if kind != mail.OTP {
			coll = c
		}
		m, err := mail.Render(kind, coll, meta, "a@b.test", mail.Vars{OTP: "87654321", Token: "TOK", Record: map[string]any{"email": "a@b.test"}})
		if err != nil || m.Subject != strings.ReplaceAll(mail.Defaults[kind].Subject, "{APP_NAME}", "Acme") {
			t.Fatalf("%s: %+v, %v", kind, m, err)
		}
		if strings.Contains(m.Body, "{") {
			t.Fatalf("%s: a placeholder is left in %q", kind, m.Body)
		}
	}
}
