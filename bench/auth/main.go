// Command auth measures the auth figures of issue 11 against a running
// server on the loopback interface (run.sh starts one in a throwaway data
// folder):
//
//	signin      p50/p99 of password sign-in with -clients concurrent
//	            clients in a closed loop, each with its own user. All come
//	            from 127.0.0.1, so the rate limit rules are switched off for
//	            the run (and restored after): bcrypt dominates.
//	signin-ips  the same with the default rules on and each client on its
//	            own loopback address (127.0.0.11, .12, ...), waiting
//	            Retry-After when refused.
//	signin-flood the default rules on, every client on 127.0.0.1 and never
//	            waiting: what a refusal costs, and that the limit keeps
//	            bcrypt's share of the CPU small.
//	mail        the time from a userRequestPasswordReset request to the
//	            email reaching an SMTP server (a sink this command runs on
//	            127.0.0.1), over -mails requests sent one after another from
//	            -mail-ips loopback addresses (the per-address budgets of the
//	            email flows stay on). It points settings.smtp at the sink:
//	            use a throwaway data folder.
//
// It refuses any host that is not loopback, and every run is bounded by
// -duration (at most 2m) or -mails (at most 2,000).
//
//	go run ./bench/auth -admin-email admin@example.com -admin-password admin-password -scenario signin
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"
)

type config struct {
	url                       string
	adminEmail, adminPassword string
	scenarios                 []string
	clients                   int
	duration                  time.Duration
	mails, mailIPs            int
}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "auth:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "auth:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (*config, error) {
	cfg := &config{}
	fs := flag.NewFlagSet("auth", flag.ContinueOnError)
	fs.StringVar(&cfg.url, "url", "http://127.0.0.1:8090", "server base URL (loopback only)")
	fs.StringVar(&cfg.adminEmail, "admin-email", os.Getenv("MONOBASE_ADMIN_EMAIL"), "superuser email (env MONOBASE_ADMIN_EMAIL)")
	fs.StringVar(&cfg.adminPassword, "admin-password", os.Getenv("MONOBASE_ADMIN_PASSWORD"), "superuser password (env MONOBASE_ADMIN_PASSWORD)")
	scenarios := fs.String("scenario", "signin,signin-ips,signin-flood,mail", "comma-separated: signin, signin-ips, signin-flood, mail")
	fs.IntVar(&cfg.clients, "clients", 64, "concurrent sign-in clients (each its own user)")
	fs.DurationVar(&cfg.duration, "duration", 10*time.Second, "measuring time of each sign-in scenario (at most 2m)")
	fs.IntVar(&cfg.mails, "mails", 200, "password reset requests of the mail scenario (at most 2000)")
	fs.IntVar(&cfg.mailIPs, "mail-ips", 10, "loopback addresses the mail requests come from (the email flows allow 20 a minute per address)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for _, s := range strings.Split(*scenarios, ",") {
		s = strings.TrimSpace(s)
		if !slices.Contains([]string{"signin", "signin-ips", "signin-flood", "mail"}, s) {
			return nil, fmt.Errorf("-scenario: unknown scenario %q", s)
		}
		cfg.scenarios = append(cfg.scenarios, s)
	}
	switch {
	case cfg.adminEmail == "" || cfg.adminPassword == "":
		return nil, errors.New("-admin-email and -admin-password are required (the setup uses the admin API)")
	case cfg.clients < 1 || cfg.clients > 200:
		return nil, errors.New("-clients must be between 1 and 200")
	case cfg.duration <= 0 || cfg.duration > 2*time.Minute:
		return nil, errors.New("-duration must be between 0 and 2m")
	case cfg.mails < 1 || cfg.mails > 2000:
		return nil, errors.New("-mails must be between 1 and 2000")
	case cfg.mailIPs < 1 || cfg.mailIPs > 200:
		return nil, errors.New("-mail-ips must be between 1 and 200")
	}
	u, err := url.Parse(cfg.url)
	if err != nil {
		return nil, fmt.Errorf("-url: %w", err)
	}
	if ip := net.ParseIP(u.Hostname()); u.Scheme != "http" || ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("-url: refusing %q: load goes to http://127.x.x.x only", cfg.url)
	}
	cfg.url = strings.TrimRight(cfg.url, "/")
	return cfg, nil
}

func run(ctx context.Context, cfg *config, out io.Writer) error {
	admin := newClient(cfg.url, "", 4)
	var auth struct{ AuthWithPassword struct{ Token string } }
	if err := admin.mustDo(ctx, "/graphql/admin", `mutation($e: String!, $p: String!) { authWithPassword(email: $e, password: $p) { token } }`,
		map[string]any{"e": cfg.adminEmail, "p": cfg.adminPassword}, &auth); err != nil {
		return fmt.Errorf("superuser sign-in: %w", err)
	}
	admin.token = auth.AuthWithPassword.Token
	// Each scenario sets the rate limit rules it needs; the ones found are
	// put back at the end.
	saved, err := admin.rateLimits(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if err := admin.setRateLimits(context.WithoutCancel(ctx), saved); err != nil {
			fmt.Fprintln(out, "restore the rate limits:", err)
		}
	}()
	for _, sc := range cfg.scenarios {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var err error
		switch sc {
		case "signin", "signin-ips", "signin-flood":
			err = signInScenario(ctx, cfg, admin, out, sc)
		case "mail":
			err = mailScenario(ctx, cfg, admin, out)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", sc, err)
		}
	}
	return nil
}

// loopbackIP returns the i-th extra loopback address, 127.0.0.(11+i): the
// server sees each as another client.
func loopbackIP(i int) string { return fmt.Sprintf("127.0.%d.%d", (11+i)/250, (11+i)%250) }

// stats summarizes durations.
type stats struct {
	n                  int
	p50, p90, p99, max time.Duration
}

func summarize(d []time.Duration) stats {
	if len(d) == 0 {
		return stats{}
	}
	s := slices.Clone(d)
	slices.Sort(s)
	at := func(q float64) time.Duration { return s[min(len(s)-1, int(q*float64(len(s))))] }
	return stats{n: len(s), p50: at(0.50), p90: at(0.90), p99: at(0.99), max: s[len(s)-1]}
}

func (s stats) String() string {
	f := func(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) }
	return fmt.Sprintf("n=%d p50=%s p90=%s p99=%s max=%s", s.n, f(s.p50), f(s.p90), f(s.p99), f(s.max))
}
