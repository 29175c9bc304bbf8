// Command load is Monobase's HTTP load script (issue 3). Against a running
// server on the loopback interface it creates two public collections through
// the admin API, bench_users and bench_posts (author → bench_users), seeds
// -users users and -posts posts, then measures three scenarios at each
// concurrency of -clients for -duration each:
//
//	byid    query benchPost(id) with a random seeded id
//	page    query benchPosts(limit: 50, offset) with each post's author
//	create  mutation createBenchPost
//
// and prints requests/s, p50, p99 and errors. It refuses any host that is
// not loopback and stops by itself (every run is bounded by -duration and
// -max-requests).
//
//	go run ./cmd/monobase serve --dir /tmp/mbbench           # shell 1
//	go run ./cmd/monobase superuser upsert admin@example.com admin-password --dir /tmp/mbbench
//	go run ./bench/load -admin-email admin@example.com -admin-password admin-password
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

type config struct {
	url           string
	adminEmail    string
	adminPassword string
	users         int
	posts         int
	duration      time.Duration
	warmup        time.Duration
	clients       []int
	scenarios     []string
	maxRequests   int
	keep          bool
	rateLimits    string // "off" or "keep"
}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (*config, error) {
	cfg := &config{}
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.StringVar(&cfg.url, "url", "http://127.0.0.1:8090", "server base URL (loopback only)")
	fs.StringVar(&cfg.adminEmail, "admin-email", os.Getenv("MONOBASE_ADMIN_EMAIL"), "superuser email (env MONOBASE_ADMIN_EMAIL)")
	fs.StringVar(&cfg.adminPassword, "admin-password", os.Getenv("MONOBASE_ADMIN_PASSWORD"), "superuser password (env MONOBASE_ADMIN_PASSWORD)")
	fs.IntVar(&cfg.users, "users", 100, "users to seed")
	fs.IntVar(&cfg.posts, "posts", 1000, "posts to seed")
	fs.DurationVar(&cfg.duration, "duration", 5*time.Second, "measuring time per scenario and concurrency")
	fs.DurationVar(&cfg.warmup, "warmup", 500*time.Millisecond, "unmeasured warm-up before each measurement")
	clients := fs.String("clients", "1,16,64", "comma-separated concurrency levels")
	scenarios := fs.String("scenarios", "byid,page,create", "comma-separated scenarios: byid, page, create")
	fs.IntVar(&cfg.maxRequests, "max-requests", 2_000_000, "upper bound of requests per measurement")
	fs.BoolVar(&cfg.keep, "keep", false, "reuse existing bench_* collections and their data instead of recreating them")
	fs.StringVar(&cfg.rateLimits, "rate-limits", "off", "off: switch the server's rate limit rules off (settings.rateLimits) before the setup, since every request comes from 127.0.0.1; keep: leave them")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for _, s := range strings.Split(*clients, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n > 1024 {
			return nil, fmt.Errorf("-clients: %q is not a number from 1 to 1024", s)
		}
		cfg.clients = append(cfg.clients, n)
	}
	for _, s := range strings.Split(*scenarios, ",") {
		s = strings.TrimSpace(s)
		if _, ok := scenarioQueries[s]; !ok {
			return nil, fmt.Errorf("-scenarios: unknown scenario %q", s)
		}
		cfg.scenarios = append(cfg.scenarios, s)
	}
	switch {
	case cfg.adminEmail == "" || cfg.adminPassword == "":
		return nil, errors.New("-admin-email and -admin-password are required (the setup uses the admin API)")
	case cfg.users < 1 || cfg.posts < 1:
		return nil, errors.New("-users and -posts must be at least 1")
	case cfg.duration <= 0 || cfg.duration > 5*time.Minute:
		return nil, errors.New("-duration must be between 0 and 5m")
	case cfg.maxRequests < 1:
		return nil, errors.New("-max-requests must be at least 1")
	case cfg.rateLimits != "off" && cfg.rateLimits != "keep":
		return nil, errors.New("-rate-limits must be off or keep")
	}
	if err := checkLoopback(cfg.url); err != nil {
		return nil, err
	}
	cfg.url = strings.TrimRight(cfg.url, "/")
	return cfg, nil
}

// checkLoopback refuses every URL whose host is not localhost or a loopback
// address: this script sends load, and only to this machine.
func checkLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("-url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("-url: scheme %q is not http or https", u.Scheme)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("-url: refusing host %q: load is sent to loopback addresses only (127.0.0.0/8, ::1, localhost)", host)
}

// client posts GraphQL requests over reused keep-alive connections.
type client struct {
	http  *http.Client
	base  string
	token string
}

func newClient(base string, maxConns int) *client {
	tr := &http.Transport{
		Proxy:               nil,
		MaxIdleConns:        maxConns * 2,
		MaxIdleConnsPerHost: maxConns * 2,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
	}
	return &client{http: &http.Client{Transport: tr, Timeout: 30 * time.Second}, base: base}
}

type gqlRequest struct {
	Query     string         `json:"query"`
	Variables map[string]any `json:"variables,omitempty"`
}

// raw posts one request and returns the body; a non-200 status or a
// response with "errors" is an error.
func (c *client) raw(ctx context.Context, path string, body []byte, buf *bytes.Buffer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	buf.Reset()
	if _, err := buf.ReadFrom(res.Body); err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d: %.300s", res.StatusCode, buf.Bytes())
	}
	if bytes.Contains(buf.Bytes(), []byte(`"errors"`)) {
		return fmt.Errorf("GraphQL errors: %.300s", buf.Bytes())
	}
	return nil
}

// do posts query and decodes data into out (may be nil).
func (c *client) do(ctx context.Context, path, query string, vars map[string]any, out any) error {
	body, err := json.Marshal(gqlRequest{Query: query, Variables: vars})
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := c.raw(ctx, path, body, &buf); err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(buf.Bytes(), &env); err != nil {
		return fmt.Errorf("decode response: %w", err)
	}
	return json.Unmarshal(env.Data, out)
}

func run(ctx context.Context, cfg *config, out io.Writer) error {
	maxClients := slices.Max(cfg.clients)
	c := newClient(cfg.url, maxClients)

	res, err := c.http.Get(cfg.url + "/health")
	if err != nil {
		return fmt.Errorf("server not reachable at %s: %w", cfg.url, err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s/health answered %d", cfg.url, res.StatusCode)
	}

	admin := *c
	var auth struct {
		AuthWithPassword struct{ Token string } `json:"authWithPassword"`
	}
	if err := c.do(ctx, "/graphql/admin", `mutation($e: String!, $p: String!) { authWithPassword(email: $e, password: $p) { token } }`,
		map[string]any{"e": cfg.adminEmail, "p": cfg.adminPassword}, &auth); err != nil {
		return fmt.Errorf("superuser sign-in: %w", err)
	}
	admin.token = auth.AuthWithPassword.Token
	if cfg.rateLimits == "off" {
		// The rules (on by default) would refuse most of the load: it all
		// comes from one address. The change is saved in the data folder.
		if err := admin.do(ctx, "/graphql/admin", `mutation { updateSettings(input: {rateLimits: {enabled: false}}) { rateLimits { enabled } } }`, nil, nil); err != nil {
			return fmt.Errorf("switch the rate limits off: %w", err)
		}
		fmt.Fprintln(out, "rate limit rules switched off on the server (settings.rateLimits.enabled = false)")
	}

	start := time.Now()
	data, err := setup(ctx, &admin, c, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "set up %d users and %d posts in %s\n", len(data.users), len(data.posts), time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(out, "load generator: GOMAXPROCS=%d, %s per run (+%s warm-up), same machine as the server\n\n",
		runtime.GOMAXPROCS(0), cfg.duration, cfg.warmup)

	const row = "%-8s %7v %9v %9v %10v %10v %7v\n"
	fmt.Fprintf(out, row, "scenario", "clients", "requests", "req/s", "p50", "p99", "errors")
	for _, sc := range cfg.scenarios {
		for _, n := range cfg.clients {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if cfg.warmup > 0 {
				measure(ctx, c, sc, n, cfg.warmup, cfg.maxRequests, data)
			}
			r := measure(ctx, c, sc, n, cfg.duration, cfg.maxRequests, data)
			fmt.Fprintf(out, row, sc, n, r.count, fmt.Sprintf("%.0f", r.rps), fmtDur(r.p50), fmtDur(r.p99), r.errors)
			if r.firstErr != nil {
				fmt.Fprintf(out, "  first error: %v\n", r.firstErr)
			}
		}
	}
	return nil
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000)
	default:
		return fmt.Sprintf("%dµs", d.Microseconds())
	}
}

// seeded holds the ids the scenarios pick from.
type seeded struct {
	users []string
	posts []string
}

// setup (re)creates the bench collections and seeds them in batches of
// aliased mutations.
func setup(ctx context.Context, admin, anon *client, cfg *config) (*seeded, error) {
	var existing struct {
		Users *struct{ ID string } `json:"users"`
		Posts *struct{ ID string } `json:"posts"`
	}
	if err := admin.do(ctx, "/graphql/admin", `{ users: collection(idOrName: "bench_users") { id } posts: collection(idOrName: "bench_posts") { id } }`, nil, &existing); err != nil {
		return nil, fmt.Errorf("look up bench collections: %w", err)
	}
	if cfg.keep && existing.Users != nil && existing.Posts != nil {
		return loadSeeded(ctx, anon)
	}
	if existing.Posts != nil {
		if err := admin.do(ctx, "/graphql/admin", `mutation { deleteCollection(idOrName: "bench_posts") }`, nil, nil); err != nil {
			return nil, fmt.Errorf("drop bench_posts: %w", err)
		}
	}
	if existing.Users != nil {
		if err := admin.do(ctx, "/graphql/admin", `mutation { deleteCollection(idOrName: "bench_users") }`, nil, nil); err != nil {
			return nil, fmt.Errorf("drop bench_users: %w", err)
		}
	}
	for _, q := range []string{
		`mutation { createCollection(input: {name: "bench_users", listRule: "", viewRule: "", createRule: "", updateRule: "", deleteRule: "",
			fields: [{name: "name", type: TEXT, required: true}, {name: "bio", type: TEXT}]}) { id } }`,
		`mutation { createCollection(input: {name: "bench_posts", listRule: "", viewRule: "", createRule: "", updateRule: "", deleteRule: "",
			fields: [{name: "title", type: TEXT, required: true}, {name: "body", type: EDITOR},
				{name: "views", type: NUMBER, onlyInt: true}, {name: "published", type: BOOL},
				{name: "author", type: RELATION, collection: "bench_users", maxSelect: 1}]}) { id } }`,
	} {
		if err := admin.do(ctx, "/graphql/admin", q, nil, nil); err != nil {
			return nil, fmt.Errorf("create bench collections: %w", err)
		}
	}

	s := &seeded{}
	const batch = 50
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < cfg.users; i += batch {
		var b strings.Builder
		b.WriteString("mutation {")
		for j := i; j < min(i+batch, cfg.users); j++ {
			fmt.Fprintf(&b, ` u%d: createBenchUser(input: {name: "User %d", bio: "Writes benchmark posts."}) { id }`, j, j)
		}
		b.WriteString(" }")
		var got map[string]struct{ ID string }
		if err := anon.do(ctx, "/graphql", b.String(), nil, &got); err != nil {
			return nil, fmt.Errorf("seed users: %w", err)
		}
		for j := i; j < min(i+batch, cfg.users); j++ {
			s.users = append(s.users, got["u"+strconv.Itoa(j)].ID)
		}
	}
	for i := 0; i < cfg.posts; i += batch {
		var b strings.Builder
		b.WriteString("mutation {")
		for j := i; j < min(i+batch, cfg.posts); j++ {
			fmt.Fprintf(&b, ` p%d: createBenchPost(input: {title: "Post %d", body: "<p>Some body text for post %d.</p>", views: %d, published: %t, author: %q}) { id }`,
				j, j, j, rnd.IntN(10000), j%2 == 0, s.users[rnd.IntN(len(s.users))])
		}
		b.WriteString(" }")
		var got map[string]struct{ ID string }
		if err := anon.do(ctx, "/graphql", b.String(), nil, &got); err != nil {
			return nil, fmt.Errorf("seed posts: %w", err)
		}
		for j := i; j < min(i+batch, cfg.posts); j++ {
			s.posts = append(s.posts, got["p"+strconv.Itoa(j)].ID)
		}
	}
	return s, nil
}

// loadSeeded reads the ids of existing bench data (-keep).
func loadSeeded(ctx context.Context, anon *client) (*seeded, error) {
	var got struct {
		BenchUsers []struct{ ID string } `json:"benchUsers"`
		BenchPosts []struct{ ID string } `json:"benchPosts"`
	}
	if err := anon.do(ctx, "/graphql", `{ benchUsers(limit: 1000) { id } benchPosts(limit: 1000) { id } }`, nil, &got); err != nil {
		return nil, fmt.Errorf("read existing bench data: %w", err)
	}
	s := &seeded{}
	for _, u := range got.BenchUsers {
		s.users = append(s.users, u.ID)
	}
	for _, p := range got.BenchPosts {
		s.posts = append(s.posts, p.ID)
	}
	if len(s.users) == 0 || len(s.posts) == 0 {
		return nil, errors.New("-keep: the bench collections are empty; run without -keep")
	}
	return s, nil
}

// scenarioQueries are the measured operations.
var scenarioQueries = map[string]string{
	"byid":   `query($id: ID!) { benchPost(id: $id) { id title views published created } }`,
	"page":   `query($o: Int!) { benchPosts(limit: 50, offset: $o) { id title views published author { id name } } }`,
	"create": `mutation($t: String!, $a: ID!) { createBenchPost(input: {title: $t, views: 0, author: $a}) { id } }`,
}

type result struct {
	count    int
	errors   int
	rps      float64
	p50, p99 time.Duration
	firstErr error
}

// measure runs n workers issuing scenario sc back to back for d (or until
// maxRequests) and returns throughput and latency percentiles.
func measure(ctx context.Context, c *client, sc string, n int, d time.Duration, maxRequests int, data *seeded) result {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	query := scenarioQueries[sc]
	type workerOut struct {
		lat      []time.Duration
		errors   int
		firstErr error
	}
	outs := make([]workerOut, n)
	var budget sync.Mutex
	remaining := maxRequests
	take := func() bool {
		budget.Lock()
		defer budget.Unlock()
		if remaining == 0 {
			return false
		}
		remaining--
		return true
	}
	var wg sync.WaitGroup
	start := time.Now()
	for w := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			var buf bytes.Buffer
			o := &outs[w]
			for i := 0; ctx.Err() == nil && take(); i++ {
				var vars map[string]any
				switch sc {
				case "byid":
					vars = map[string]any{"id": data.posts[rnd.IntN(len(data.posts))]}
				case "page":
					pages := max(1, len(data.posts)/50)
					vars = map[string]any{"o": rnd.IntN(pages) * 50}
				case "create":
					vars = map[string]any{"t": fmt.Sprintf("Load post %d-%d", w, i), "a": data.users[rnd.IntN(len(data.users))]}
				}
				body, _ := json.Marshal(gqlRequest{Query: query, Variables: vars})
				t0 := time.Now()
				err := c.raw(ctx, "/graphql", body, &buf)
				if ctx.Err() != nil {
					break // cut off by the end of the run: not counted
				}
				o.lat = append(o.lat, time.Since(t0))
				if err != nil {
					o.errors++
					if o.firstErr == nil {
						o.firstErr = err
					}
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)

	var r result
	var all []time.Duration
	for _, o := range outs {
		all = append(all, o.lat...)
		r.errors += o.errors
		if r.firstErr == nil {
			r.firstErr = o.firstErr
		}
	}
	r.count = len(all)
	r.rps = float64(r.count) / elapsed.Seconds()
	if len(all) > 0 {
		slices.Sort(all)
		r.p50 = all[len(all)*50/100]
		r.p99 = all[min(len(all)-1, len(all)*99/100)]
	}
	return r
}
