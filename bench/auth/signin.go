package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"
)

const signInOp = `mutation($i: String!, $p: String!) { userAuthWithPassword(identity: $i, password: $p) { token } }`

const benchPassword = "bench-password-1"

// signInScenario runs cfg.clients clients in a closed loop of password
// sign-ins for cfg.duration, each with its own user:
//
//	signin        all from 127.0.0.1, the rules off: bcrypt under load;
//	signin-ips    the default rules on, each client on its own loopback
//	              address, waiting Retry-After when refused (as a
//	              well-behaved client does);
//	signin-flood  the default rules on, all from 127.0.0.1, never waiting:
//	              what a refusal costs and what the limit lets through.
func signInScenario(ctx context.Context, cfg *config, admin *client, out io.Writer, mode string) error {
	perIP, backOff := mode == "signin-ips", mode == "signin-ips"
	emails := make([]string, cfg.clients)
	for i := range emails {
		emails[i] = fmt.Sprintf("bench-signin-%d@example.com", i)
	}
	if err := admin.createUsers(ctx, emails, benchPassword); err != nil {
		return err
	}
	rules := defaultRateLimits
	if mode == "signin" {
		rules = `{enabled: false}`
	}
	if err := admin.setRateLimitsLiteral(ctx, rules); err != nil {
		return err
	}
	clients := make([]*client, cfg.clients)
	for i := range clients {
		ip := ""
		if perIP {
			ip = loopbackIP(i)
		}
		clients[i] = newClient(cfg.url, ip, 1)
		// One unmeasured request each: connections open, the server warm.
		if _, err := clients[i].do(ctx, "/graphql", `{ __typename }`, nil); err != nil {
			return fmt.Errorf("warm-up from %q: %w", ip, err)
		}
	}

	var mu sync.Mutex
	var ok, refused []time.Duration
	var firstErr error
	errs := 0
	stop := time.Now().Add(cfg.duration)
	var wg sync.WaitGroup
	start := time.Now()
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			vars := map[string]any{"i": emails[i], "p": benchPassword}
			for time.Now().Before(stop) && ctx.Err() == nil {
				t0 := time.Now()
				a, err := c.do(ctx, "/graphql", signInOp, vars)
				d := time.Since(t0)
				mu.Lock()
				switch {
				case err == nil && a.Status == 200 && a.code() == "":
					ok = append(ok, d)
				case err == nil && a.Status == 429 && a.code() == "RATE_LIMITED":
					refused = append(refused, d)
				default:
					errs++
					if firstErr == nil {
						firstErr = fmt.Errorf("answer %+v, err %v", a, err)
					}
				}
				mu.Unlock()
				if backOff && err == nil && a.Status == 429 {
					secs, _ := strconv.Atoi(a.RetryAfter)
					time.Sleep(time.Duration(max(1, secs)) * time.Second)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)

	about := map[string]string{
		"signin":       "rules off, all from 127.0.0.1",
		"signin-ips":   "default rules on, one loopback address per client, waiting Retry-After",
		"signin-flood": "default rules on, all from 127.0.0.1, never waiting",
	}
	fmt.Fprintf(out, "%s (%s): %d clients for %v\n", mode, about[mode], cfg.clients, elapsed.Round(time.Millisecond))
	fmt.Fprintf(out, "  signed in: %s (%.1f/s)\n", summarize(ok), float64(len(ok))/elapsed.Seconds())
	if mode != "signin" {
		fmt.Fprintf(out, "  refused (429): %s (%.0f/s)\n", summarize(refused), float64(len(refused))/elapsed.Seconds())
	}
	if errs > 0 {
		fmt.Fprintf(out, "  errors: %d, first: %v\n", errs, firstErr)
	}
	return nil
}
