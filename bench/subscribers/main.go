// Command subscribers is Monobase's realtime load script: it opens N
// graphql-transport-ws subscriptions to postChanged on a running server,
// triggers writes through createPost, and reports per-event delivery latency
// at every subscriber (p50/p99/max), deliveries against the expected count,
// and, given the server's pid, its resident memory per subscriber.
//
// It talks to 127.0.0.1 only and stops on its own after -duration. All its
// sockets come from one address: start the server with
// --max-sockets-per-ip above -n (the default cap is 1,000).
//
//	go run ./bench/subscribers -n 10000 -events 1 -pid $(pgrep -n monobase) \
//	    -admin-email admin@example.com -admin-password secret123
//	go run ./bench/subscribers -n 1000 -events 30000 -rate 1000 -writers 8 -pid ...
//	go run ./bench/subscribers -n 1000 -events 100000 -rate 1000 -send-for 20s -duration 90s -pid ...
//
// With several nodes on one database, -write-url sends the writes to
// another node than the subscribers' (-url): the latency is then the
// cross-node delivery (see bench/README.md, "Several nodes").
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
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// config is the command line.
type config struct {
	url           string
	writeURL      string // the node the writes and the admin calls go to (default url)
	n             int
	token         string
	sources       int
	events        int
	rate          float64
	writers       int
	duration      time.Duration
	sendFor       time.Duration
	settle        time.Duration
	idleWait      time.Duration
	dialers       int
	adminEmail    string
	adminPassword string
	pid           int
	query         string
	owners        bool    // each subscriber is a distinct user (owners.go)
	ownerList     []owner // their ids and tokens, filled by run
	broadcast     bool    // -owners: every write is a memo all owners see
	seedDir       string  // -seed-owners: create the owners in this data folder and exit (seed.go)
}

// portsPerSource is how many connections one source address carries before
// more 127.0.0.x addresses are used (the ephemeral port range is ~28k).
const portsPerSource = 20_000

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("subscribers", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.url, "url", "ws://127.0.0.1:8090/graphql", "the server's GraphQL WebSocket URL (127.0.0.1 only)")
	fs.StringVar(&c.writeURL, "write-url", "", "the GraphQL WebSocket URL of the node the writes (and admin calls) go to, 127.0.0.1 only (default: -url)")
	fs.IntVar(&c.n, "n", 1000, "number of subscribers (one WebSocket each)")
	fs.StringVar(&c.token, "token", "", "auth token for the subscribers and the writes")
	fs.IntVar(&c.sources, "sources", 0, "source addresses 127.0.0.1..127.0.0.K to spread connections over (0: one per 20,000 connections when -n > 20000)")
	fs.IntVar(&c.events, "events", 10, "number of createPost writes to measure")
	fs.Float64Var(&c.rate, "rate", 100, "writes per second (0: as fast as the writers go)")
	fs.IntVar(&c.writers, "writers", 4, "concurrent HTTP writers")
	fs.DurationVar(&c.duration, "duration", 60*time.Second, "hard cap on the whole run")
	fs.DurationVar(&c.sendFor, "send-for", 0, "stop starting writes after this long, even if fewer than -events were made (0: no limit)")
	fs.DurationVar(&c.settle, "settle", 10*time.Second, "how long to wait for deliveries after the last write")
	fs.DurationVar(&c.idleWait, "idle-wait", 0, "after the warm-up, leave the subscribers idle this long and measure the server's VmRSS again (the garbage of the connections' setup is collected by then: the runtime forces a GC every 2 minutes)")
	fs.IntVar(&c.dialers, "dialers", 64, "concurrent connection attempts")
	fs.StringVar(&c.adminEmail, "admin-email", "", "superuser email: switch the rate limit rules off and create the posts collection through /graphql/admin first")
	fs.StringVar(&c.adminPassword, "admin-password", "", "superuser password")
	fs.IntVar(&c.pid, "pid", 0, "server process id, to report its VmRSS per subscriber")
	fs.StringVar(&c.query, "query", "subscription { postChanged { action record { id } } }", "the subscription document (must select postChanged.record.id)")
	fs.BoolVar(&c.owners, "owners", false, "each subscriber is a distinct signed-in user subscribed to memos under `author = @request.auth.id`; each write is one owner's memo and must reach that owner only (needs -admin-email)")
	fs.BoolVar(&c.broadcast, "broadcast", false, "with -owners: every write is a shared memo that reaches every owner (one rendering per distinct viewer); the warm-up is one such memo")
	fs.StringVar(&c.seedDir, "seed-owners", "", "create the -n owners of -owners in this data folder (the server stopped) with cheap password hashes, then exit")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if err := checkLocalURL(c.url); err != nil {
		return nil, err
	}
	if c.writeURL == "" {
		c.writeURL = c.url
	}
	if err := checkLocalURL(c.writeURL); err != nil {
		return nil, fmt.Errorf("-write-url: %w", err)
	}
	switch {
	case c.n < 1:
		return nil, errors.New("-n must be at least 1")
	case c.events < 0:
		return nil, errors.New("-events must not be negative")
	case c.writers < 1 || c.dialers < 1:
		return nil, errors.New("-writers and -dialers must be at least 1")
	case c.duration <= 0:
		return nil, errors.New("-duration must be positive")
	case c.sendFor < 0:
		return nil, errors.New("-send-for must not be negative")
	case c.sources < 0 || c.sources > 254:
		return nil, errors.New("-sources must be within 0..254")
	case (c.adminEmail == "") != (c.adminPassword == ""):
		return nil, errors.New("-admin-email and -admin-password go together")
	case c.broadcast && !c.owners:
		return nil, errors.New("-broadcast goes with -owners")
	case c.owners && c.adminEmail == "" && c.seedDir == "":
		return nil, errors.New("-owners needs -admin-email and -admin-password (to create the users and sign them in)")
	}
	if c.owners {
		c.query = ownersQuery
	}
	if c.sources == 0 {
		c.sources = 1
		if c.n > portsPerSource {
			c.sources = min((c.n+portsPerSource-1)/portsPerSource, 254)
		}
	}
	return c, nil
}

// checkLocalURL refuses anything but ws(s)://127.0.0.1[:port]/...
func checkLocalURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("-url: %w", err)
	}
	if u.Scheme != "ws" && u.Scheme != "wss" {
		return fmt.Errorf("-url: scheme %q, want ws or wss", u.Scheme)
	}
	if u.Hostname() != "127.0.0.1" {
		return fmt.Errorf("-url: host %q refused: this load script only talks to 127.0.0.1", u.Hostname())
	}
	return nil
}

// httpURL maps the WebSocket URL to the HTTP URL of the same path, plus
// suffix (e.g. "/admin").
func httpURL(wsURL, suffix string) string {
	u, _ := url.Parse(wsURL) // checked by checkLocalURL
	if u.Scheme == "wss" {
		u.Scheme = "https"
	} else {
		u.Scheme = "http"
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + suffix
	return u.String()
}

// sourceAddr returns the local address of connection i: connections are
// spread round-robin over 127.0.0.1..127.0.0.sources; nil for one source
// (the kernel picks 127.0.0.1 anyway).
func sourceAddr(i, sources int) *net.TCPAddr {
	if sources <= 1 {
		return nil
	}
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+i%sources))}
}

// parseVmRSS returns VmRSS in bytes from the text of /proc/PID/status.
func parseVmRSS(status string) (int64, error) {
	for line := range strings.Lines(status) {
		rest, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("unexpected VmRSS line %q", strings.TrimSpace(line))
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("VmRSS: %w", err)
		}
		return kb * 1024, nil
	}
	return 0, errors.New("no VmRSS line")
}

// readRSS returns the resident memory of process pid in bytes.
func readRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read server memory: %w", err)
	}
	return parseVmRSS(string(b))
}

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "subscribers:", err)
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.duration)
	defer cancel()
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	if cfg.seedDir != "" {
		if err := seedOwners(ctx, cfg.seedDir, cfg.n, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "subscribers:", err)
			os.Exit(1)
		}
		return
	}

	ok, err := run(ctx, cfg, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "subscribers:", err)
		os.Exit(1)
	}
	if !ok {
		os.Exit(1)
	}
}

// run does the whole measurement and prints the report to out. It returns
// false when some subscriber failed or some delivery is missing.
func run(ctx context.Context, cfg *config, out io.Writer) (bool, error) {
	start := time.Now()
	w := newWriter(cfg)
	if cfg.adminEmail != "" {
		if err := w.ensurePosts(ctx, cfg.adminEmail, cfg.adminPassword); err != nil {
			return false, err
		}
	}
	var owners *ownerStats
	if cfg.owners {
		t0 := time.Now()
		list, err := w.ensureOwners(ctx, cfg, w.adminToken)
		if err != nil {
			return false, err
		}
		cfg.ownerList, owners = list, &ownerStats{}
		w.token = w.adminToken // the superuser writes every owner's memos
		fmt.Fprintf(out, "owners: %d users ready in %v\n", len(list), time.Since(t0).Round(time.Millisecond))
	}

	var rssBefore int64
	if cfg.pid > 0 {
		var err error
		if rssBefore, err = readRSS(cfg.pid); err != nil {
			return false, err
		}
	}

	st := newStats()
	st.owners = owners
	clients, failed := connectAll(ctx, cfg, st)
	fmt.Fprintf(out, "subscribers: %d connected, %d failed, in %v over %d source address(es)\n",
		len(clients), failed, time.Since(start).Round(time.Millisecond), cfg.sources)
	defer closeAll(clients)
	if len(clients) == 0 {
		st.printFailures(out)
		return false, nil
	}

	var warmed int
	switch {
	case cfg.broadcast:
		warmed = warmUp(ctx, clients, st, func() (string, error) {
			return w.createMemo(ctx, cfg.ownerList[0], "warm-up", true)
		})
	case cfg.owners:
		warmed = warmUpOwners(ctx, w, cfg, clients, st)
	default:
		warmed = warmUp(ctx, clients, st, func() (string, error) { return w.createPost(ctx, "warm-up") })
	}
	fmt.Fprintf(out, "warm-up: %d/%d subscriptions confirmed by a probe event\n", warmed, len(clients))

	if cfg.pid > 0 {
		if rssAfter, err := readRSS(cfg.pid); err == nil {
			fmt.Fprintf(out, "server VmRSS: %s before, %s with %d idle subscribers: %s per subscriber\n",
				mib(rssBefore), mib(rssAfter), len(clients), kib(float64(rssAfter-rssBefore)/float64(len(clients))))
		}
		if cfg.idleWait > 0 {
			time.Sleep(cfg.idleWait)
			if rssIdle, err := readRSS(cfg.pid); err == nil {
				fmt.Fprintf(out, "server VmRSS after %s idle: %s, %s per subscriber\n",
					cfg.idleWait, mib(rssIdle), kib(float64(rssIdle-rssBefore)/float64(len(clients))))
			}
		}
	}

	st.measuring.Store(true)
	sampler := startRSSSampler(ctx, cfg.pid)
	cpu0 := readCPU(cfg.pid)
	sendStart := time.Now()
	sent, sendErrs := w.sendEvents(ctx, cfg, st)
	sendTime := time.Since(sendStart)
	alive := st.alive(clients)
	expected := int64(sent) * int64(alive)
	if cfg.owners && !cfg.broadcast {
		expected = int64(sent) // each to its owner only
	}
	waitDeliveries(ctx, st, expected, cfg.settle)
	cpu1 := readCPU(cfg.pid)
	rss := sampler.stop()
	st.resolvePending()

	rate := float64(sent) / sendTime.Seconds()
	fmt.Fprintf(out, "writes: %d sent, %d failed, in %v (%.0f/s)\n", sent, sendErrs, sendTime.Round(time.Millisecond), rate)
	delivered := int64(st.lat.Count())
	fmt.Fprintf(out, "deliveries: %d/%d expected (%.2f%%) to %d subscribers still open, %d unmatched\n",
		delivered, expected, pct(delivered, expected), alive, st.unmatched.Load())
	fmt.Fprintf(out, "latency (write sent → event received): p50 %v  p90 %v  p99 %v  p99.9 %v  max %v\n",
		st.lat.Quantile(0.5), st.lat.Quantile(0.9), st.lat.Quantile(0.99), st.lat.Quantile(0.999), st.lat.Max())
	if delivered > 0 {
		srv, gen := cpu1.server-cpu0.server, cpu1.self-cpu0.self
		perDelivery := func(d time.Duration) string {
			return fmt.Sprintf("%.1f µs", float64(d.Nanoseconds())/1e3/float64(delivered))
		}
		if cfg.pid > 0 && cpu0.server >= 0 && cpu1.server >= 0 {
			fmt.Fprintf(out, "CPU from the first write to the last delivery: server %v (%s per delivery), load generator %v (%s per delivery), over %v\n",
				srv.Round(time.Millisecond), perDelivery(srv), gen.Round(time.Millisecond), perDelivery(gen), cpu1.wall.Sub(cpu0.wall).Round(time.Millisecond))
		} else {
			fmt.Fprintf(out, "CPU of the load generator from the first write to the last delivery: %v (%s per delivery)\n",
				gen.Round(time.Millisecond), perDelivery(gen))
		}
	}
	if rss.samples > 0 {
		fmt.Fprintf(out, "server VmRSS during writes: first %s, max %s, last %s (%d samples)\n",
			mib(rss.first), mib(rss.max), mib(rss.last), rss.samples)
		series := make([]string, len(rss.every5s))
		for i, v := range rss.every5s {
			series[i] = fmt.Sprintf("%.0f", float64(v)/(1<<20))
		}
		fmt.Fprintf(out, "server VmRSS every 5 s (MiB): %s\n", strings.Join(series, " "))
	}
	wrong, dup := 0, 0
	if owners != nil {
		wrong, dup = owners.check()
		fmt.Fprintf(out, "owners: %d deliveries to another user than the memo's owner, %d duplicates\n", wrong, dup)
	}
	st.printFailures(out)
	if ctx.Err() != nil {
		fmt.Fprintf(out, "stopped early: %v (cap -duration %v)\n", context.Cause(ctx), cfg.duration)
	}
	return failed == 0 && sendErrs == 0 && delivered == expected && alive == len(clients) && wrong == 0 && dup == 0, nil
}

// warmUp sends probe writes (probe) until every client has received an
// event (its subscription is live on the server) or 20 probes went by; it
// returns how many clients are confirmed. graphql-transport-ws does not
// acknowledge a subscribe, so this is the only way to know.
func warmUp(ctx context.Context, clients []*client, st *stats, probe func() (string, error)) int {
	for range 20 {
		id, err := probe()
		if err != nil {
			st.fail("warm-up write: " + err.Error())
		} else {
			st.warm.Store(id, struct{}{})
		}
		deadline := time.Now().Add(time.Second)
		for time.Now().Before(deadline) && ctx.Err() == nil {
			if n := countWarm(clients); n == len(clients) {
				return n
			}
			time.Sleep(10 * time.Millisecond)
		}
		if ctx.Err() != nil {
			break
		}
	}
	return countWarm(clients)
}

// warmUpOwners writes one memo per owner and waits (10 s at most) until
// every client received its own; it returns how many did.
func warmUpOwners(ctx context.Context, w *writer, cfg *config, clients []*client, st *stats) int {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range cfg.writers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(cfg.ownerList) || ctx.Err() != nil {
					return
				}
				id, err := w.createMemo(ctx, cfg.ownerList[i], "warm-up", false)
				if err != nil {
					st.fail("warm-up write: " + err.Error())
					continue
				}
				st.warm.Store(id, struct{}{})
			}
		})
	}
	wg.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil && countWarm(clients) < len(clients) {
		time.Sleep(10 * time.Millisecond)
	}
	return countWarm(clients)
}

func countWarm(clients []*client) int {
	n := 0
	for _, c := range clients {
		if c.warm.Load() {
			n++
		}
	}
	return n
}

// waitDeliveries waits until expected deliveries arrived, or settle passed
// without progress, or ctx ends.
func waitDeliveries(ctx context.Context, st *stats, expected int64, settle time.Duration) {
	last, lastChange := int64(-1), time.Now()
	for ctx.Err() == nil {
		got := st.delivered.Load()
		if got >= expected {
			return
		}
		if got != last {
			last, lastChange = got, time.Now()
		} else if time.Since(lastChange) > settle {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// stats is what all clients record into.
type stats struct {
	lat       histogram
	measuring atomic.Bool  // the measured writes have started
	delivered atomic.Int64 // measured events received (matched or pending)
	unmatched atomic.Int64 // received ids that no write of ours produced
	sent      sync.Map     // record id -> time.Time the write was sent
	owners    *ownerStats  // owners mode only
	warm      sync.Map     // record ids of warm-up writes

	mu       sync.Mutex
	pending  []pending // received before the write's response named the id
	failures map[string]int
}

// pending is a delivery that came in before its write's HTTP response.
type pending struct {
	id   string
	recv time.Time
}

func newStats() *stats { return &stats{failures: make(map[string]int)} }

// received records the delivery of record id at recv.
func (s *stats) received(id string, recv time.Time) {
	if !s.measuring.Load() {
		return // a warm-up event whose write may not have answered yet
	}
	if _, ok := s.warm.Load(id); ok {
		return // a late warm-up event (every warm-up write has answered)
	}
	s.delivered.Add(1)
	if t, ok := s.sent.Load(id); ok {
		s.lat.Record(recv.Sub(t.(time.Time)))
		return
	}
	s.mu.Lock()
	s.pending = append(s.pending, pending{id, recv})
	s.mu.Unlock()
}

// resolvePending matches the early deliveries to their writes, once every
// write has answered.
func (s *stats) resolvePending() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.pending {
		if _, ok := s.warm.Load(p.id); ok {
			s.delivered.Add(-1)
			continue
		}
		t, ok := s.sent.Load(p.id)
		if !ok {
			s.delivered.Add(-1)
			s.unmatched.Add(1)
			continue
		}
		s.lat.Record(p.recv.Sub(t.(time.Time)))
	}
	s.pending = nil
}

// fail counts one failure by its message; past 20 distinct messages (dial
// errors name ports) the rest are counted together.
func (s *stats) fail(msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.failures[msg]; !ok && len(s.failures) >= 20 {
		msg = "(other failures)"
	}
	s.failures[msg]++
}

func (s *stats) printFailures(out io.Writer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for msg, n := range s.failures {
		fmt.Fprintf(out, "failure ×%d: %s\n", n, msg)
	}
}

// alive returns how many clients are still subscribed.
func (s *stats) alive(clients []*client) int {
	n := 0
	for _, c := range clients {
		if !c.done.Load() {
			n++
		}
	}
	return n
}

// rssSampler samples the server's VmRSS once a second.
type rssSampler struct {
	stopc chan struct{}
	done  chan rssSummary
}

type rssSummary struct {
	first, max, last int64
	samples          int
	every5s          []int64 // one sample in five, to show whether it keeps growing
}

func startRSSSampler(ctx context.Context, pid int) *rssSampler {
	s := &rssSampler{stopc: make(chan struct{}), done: make(chan rssSummary, 1)}
	go func() {
		var sum rssSummary
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			if pid > 0 {
				if v, err := readRSS(pid); err == nil {
					if sum.samples == 0 {
						sum.first = v
					}
					sum.max, sum.last = max(sum.max, v), v
					if sum.samples%5 == 0 {
						sum.every5s = append(sum.every5s, v)
					}
					sum.samples++
				}
			}
			select {
			case <-tick.C:
			case <-s.stopc:
				s.done <- sum
				return
			case <-ctx.Done():
				<-s.stopc
				s.done <- sum
				return
			}
		}
	}()
	return s
}

func (s *rssSampler) stop() rssSummary {
	close(s.stopc)
	return <-s.done
}

// cpuSample is the CPU time used so far by the server (-1 when unknown)
// and by this process, at wall time wall.
type cpuSample struct {
	server, self time.Duration
	wall         time.Time
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat times (100 on Linux).
const clockTicks = 100

func readCPU(pid int) cpuSample {
	s := cpuSample{server: -1, wall: time.Now()}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if pid > 0 {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
			if t, err := parseStatCPU(string(b)); err == nil {
				s.server = t
			}
		}
	}
	return s
}

// parseStatCPU returns utime+stime from the text of /proc/PID/stat.
func parseStatCPU(stat string) (time.Duration, error) {
	// The command name (field 2) is in parentheses and may hold spaces.
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("no command name in stat")
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state): utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, errors.New("short stat line")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("stat times %q %q", f[11], f[12])
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

func mib(b int64) string   { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
func kib(b float64) string { return fmt.Sprintf("%.1f KiB", b/1024) }

func pct(a, b int64) float64 {
	if b == 0 {
		return 100
	}
	return 100 * float64(a) / float64(b)
}
