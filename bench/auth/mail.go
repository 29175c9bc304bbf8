package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// sink is an SMTP server on 127.0.0.1 that notes when each recipient's
// message has arrived (the end of DATA).
type sink struct {
	srv  *smtp.Server
	port int

	mu      sync.Mutex
	waiting map[string]chan time.Time // by lowercased recipient
}

func startSink() (*sink, error) {
	s := &sink{waiting: map[string]chan time.Time{}}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &sinkSession{s: s}, nil }))
	s.srv.Domain = "localhost"
	s.srv.ReadTimeout, s.srv.WriteTimeout = 10*time.Second, 10*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("SMTP sink: %w", err)
	}
	s.port = ln.Addr().(*net.TCPAddr).Port
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// expect returns the channel that receives the arrival time of the next
// message to rcpt.
func (s *sink) expect(rcpt string) chan time.Time {
	ch := make(chan time.Time, 1)
	s.mu.Lock()
	s.waiting[strings.ToLower(rcpt)] = ch
	s.mu.Unlock()
	return ch
}

func (s *sink) arrived(rcpts []string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range rcpts {
		if ch := s.waiting[strings.ToLower(r)]; ch != nil {
			ch <- at
			delete(s.waiting, strings.ToLower(r))
		}
	}
}

type sinkSession struct {
	s     *sink
	rcpts []string
}

func (ss *sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (ss *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.rcpts = append(ss.rcpts, to)
	return nil
}
func (ss *sinkSession) Data(r io.Reader) error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	ss.s.arrived(ss.rcpts, time.Now())
	return nil
}
func (ss *sinkSession) Reset()        { ss.rcpts = nil }
func (ss *sinkSession) Logout() error { return nil }

// mailScenario sends cfg.mails password reset requests one after another,
// each for its own user and waiting for its email, from cfg.mailIPs
// loopback addresses, and reports the time from the request to the email's
// arrival at the SMTP sink.
func mailScenario(ctx context.Context, cfg *config, admin *client, out io.Writer) error {
	s, err := startSink()
	if err != nil {
		return err
	}
	defer s.srv.Close()
	if err := admin.mustDo(ctx, "/graphql/admin", `mutation($port: Int!) { updateSettings(input: {smtp: {enabled: true, host: "127.0.0.1", port: $port, username: "", tls: false}}) { smtp { enabled } } }`,
		map[string]any{"port": s.port}, nil); err != nil {
		return fmt.Errorf("point smtp at the sink: %w", err)
	}
	// The product defaults: the requests stay under them (one per user, 20
	// per address), as real ones from several clients would.
	if err := admin.setRateLimitsLiteral(ctx, defaultRateLimits); err != nil {
		return err
	}
	emails := make([]string, cfg.mails)
	for i := range emails {
		emails[i] = fmt.Sprintf("bench-mail-%d@example.com", i)
	}
	if err := admin.createUsers(ctx, emails, benchPassword); err != nil {
		return err
	}
	clients := make([]*client, cfg.mailIPs)
	for i := range clients {
		clients[i] = newClient(cfg.url, loopbackIP(100+i), 1)
	}
	const op = `mutation($e: String!) { userRequestPasswordReset(email: $e) }`
	var toArrival, toAnswer []time.Duration
	var lost int
	start := time.Now()
	for i, email := range emails {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		arrived := s.expect(email)
		t0 := time.Now()
		a, err := clients[i%len(clients)].do(ctx, "/graphql", op, map[string]any{"e": email})
		if err != nil {
			return fmt.Errorf("request %d: %w", i, err)
		}
		if a.code() != "" {
			return fmt.Errorf("request %d from %s: %s (%s)", i, loopbackIP(100+i%len(clients)), a.Errors[0].Message, a.code())
		}
		toAnswer = append(toAnswer, time.Since(t0))
		select {
		case at := <-arrived:
			toArrival = append(toArrival, at.Sub(t0))
		case <-time.After(10 * time.Second):
			lost++
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	fmt.Fprintf(out, "mail: %d password reset requests, one at a time from %d addresses, in %v\n", len(emails), len(clients), time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(out, "  request -> email at the SMTP server: %s\n", summarize(toArrival))
	fmt.Fprintf(out, "  request -> HTTP answer:              %s\n", summarize(toAnswer))
	if lost > 0 {
		return errors.New(fmt.Sprint(lost, " emails did not arrive within 10 s"))
	}
	return nil
}
