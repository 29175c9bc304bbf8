package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/monobase/monobase/auth"
	"github.com/monobase/monobase/auth/oauth"
	"github.com/monobase/monobase/backup"
	"github.com/monobase/monobase/cluster"
	"github.com/monobase/monobase/cors"
	"github.com/monobase/monobase/cron"
	"github.com/monobase/monobase/dashboard"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/dynschema"
	"github.com/monobase/monobase/files"
	"github.com/monobase/monobase/graph"
	"github.com/monobase/monobase/hook"
	"github.com/monobase/monobase/internal/idlemem"
	"github.com/monobase/monobase/internal/lifetime"
	"github.com/monobase/monobase/logs"
	"github.com/monobase/monobase/mail"
	"github.com/monobase/monobase/playground"
	"github.com/monobase/monobase/ratelimit"
	"github.com/monobase/monobase/secrets"
	"github.com/monobase/monobase/subscriptions"
	"github.com/monobase/monobase/transport"
)

// DefaultHTTP is the listen address used when neither --http nor
// MONOBASE_HTTP is given.
const DefaultHTTP = "127.0.0.1:8090"

// DefaultBodyTimeout bounds how long a request may take to send its body,
// so a client that trickles it (slowloris) is cut off.
const DefaultBodyTimeout = time.Minute

// DefaultShutdownTimeout bounds how long in-flight requests may take to
// finish after SIGINT/SIGTERM before their connections are cut.
const DefaultShutdownTimeout = 10 * time.Second

// ServeCommand runs the HTTP server: Run opens the data folder and starts
// serving, Close shuts down gracefully (in-flight requests finish,
// WebSockets get a close frame) and closes the database.
type ServeCommand struct {
	Dir      string
	Database string // --db: a PostgreSQL URL, "" for SQLite in Dir
	// Events is where record changes travel between nodes (--events, env
	// MONOBASE_EVENTS): "" for PostgreSQL LISTEN/NOTIFY, a nats:// URL for
	// NATS. PostgreSQL only (package cluster).
	Events          string
	HTTP            string
	Dev             bool
	ShutdownTimeout time.Duration
	// BodyTimeout is how long a request may take to send its body
	// (default DefaultBodyTimeout); headers have 10 s.
	BodyTimeout time.Duration
	// SignInLimits bound failed password sign-ins per identity and per
	// client IP on /graphql and /graphql/admin (zero fields: the defaults,
	// ratelimit.DefaultPerIdentity and DefaultPerIP).
	SignInLimits ratelimit.SignInLimits
	// RateLimits are the rules of settings.rateLimits while the data
	// folder has none saved (nil: ratelimit.DefaultSettings(), on). Saved
	// settings (updateSettings) always win. Test harnesses that send many
	// requests from 127.0.0.1 pass &ratelimit.Settings{} (off).
	RateLimits *ratelimit.Settings
	// MaxSocketsPerIP bounds the open WebSockets per client IP
	// (transport.Limits.MaxSocketsPerIP; 0: its default, 1000).
	MaxSocketsPerIP int
	// Jobs are scheduled besides the system jobs (crons.go); Close waits
	// for them as for those.
	Jobs []cron.Job
	// Schema are custom GraphQL root fields resolved in Go, part of the
	// /graphql schema (dynschema.Extension).
	Schema []dynschema.Extension
	// Engine, when set, is given the GraphQL engine of each handler tree
	// built (a restore builds a new one): the app's Execute runs on it.
	Engine *atomic.Pointer[dynschema.Engine]
	// Origins, when not nil, are the allowed CORS origins (--origins,
	// MONOBASE_ORIGINS): they replace settings.cors.allowedOrigins for the
	// life of the process, and updateSettings refuses to change them.
	Origins []string
	// Metrics is where GET /metrics is served besides the main listener
	// (for superusers there): "" nowhere else, an address (e.g.
	// 127.0.0.1:9090) for a listener that serves it without
	// authentication, MetricsOff for no metrics at all (metrics.go).
	Metrics string
	// Pprof serves Go's profiles (net/http/pprof) on the Metrics
	// listener, which must then be an address.
	Pprof bool
	// HTTPS are the domains whose certificates come from ACME (Let's
	// Encrypt, or ACMEDirectory), kept in the data folder's AutocertDir:
	// the TLS listener is HTTPSAddr (default DefaultHTTPSAddr) and HTTP
	// is the plain listener that redirects to https (tls.go).
	HTTPS         []string
	HTTPSAddr     string
	ACMEDirectory string // the ACME directory URL ("": Let's Encrypt's)
	// TLSCert and TLSKey are the PEM files of a certificate the HTTP
	// listener serves TLS with (read again when they change).
	TLSCert, TLSKey string
	// Secrets encrypts the stored secrets at rest (ParseFlags sets it from
	// MONOBASE_ENCRYPTION_KEY). Nil or without a key: secrets are stored as
	// they are, and a data folder holding encrypted ones does not start.
	Secrets *secrets.Box

	// Migrations are applied at start; Auto writes one for every
	// collection change (migrate.go).
	Migrations MigrationOptions

	// LogFormat is how logs are written to Stderr: "text" (the default,
	// readable) or "json" (one object per line).
	LogFormat string

	Stdout io.Writer // the start-up banner
	Stderr io.Writer // logs
	// Logger is the server's logger; nil: one built from LogFormat and
	// Dev whose records also reach the request logs (logs.Handler).
	Logger *slog.Logger

	// The current data: the database and what is built on it. A restore
	// replaces them all (reload.go) while holding genMu.
	db        *db.DB
	hub       *subscriptions.Hub
	mail      *mail.Queue   // the emails of the auth flows, sent in the background
	store     *files.Store  // the stored files
	live      liveSettings  // what a settings reload applies to (cluster.go)
	node      *cluster.Node // the other nodes of a PostgreSQL database (nil on SQLite)
	deliverMu sync.Mutex    // one record event at a time to the sessions and the hub
	root      atomic.Pointer[http.Handler]
	genMu     sync.Mutex
	genCtx    context.Context // ends the WebSockets of the current data
	genCancel context.CancelFunc

	backups *backup.Service // lives as long as the server
	gate    gate            // holds requests while a restore swaps the data
	oauth2  *oauth.Providers
	dev     *oauth.Dev // go-pkgz/auth's dev OAuth2 server, in --dev

	// The scheduler lives as long as the server (crons.go). schedulePoll
	// is how often settings.backups is read again (0: DefaultSchedulePoll);
	// pollDone closes when that loop ends; scheduleErr is the last invalid
	// settings.backups logged (guarded by genMu).
	cron         *cron.Scheduler
	schedulePoll time.Duration
	pollDone     chan struct{}
	scheduleErr  string
	logs         *logs.Service // the request logs in auxiliary.db (of the current data)
	setup        graph.Setup   // the dashboard's first run: its one-time link (printBanner)
	// logHandler is the handler of the built Logger (nil when Logger was
	// given); it feeds the current request logs.
	logHandler *logs.Handler

	srv    *http.Server
	ln     net.Listener
	served chan error // receives http.Server.Serve's result

	// shutdown is cancelled when Close starts; WebSocket requests run on a
	// context that ends with it, so gqlgen sends them a close frame.
	shutdown       context.Context
	cancelShutdown context.CancelFunc
	websockets     atomic.Int64 // WebSocket handlers still running

	ms  metricsState // the registry and the --metrics listener (metrics.go)
	tls tlsState     // HTTPS (tls.go)

	closeOnce sync.Once
	closeErr  error

	// Startup holds how long each start-up stage took (logged in --dev).
	Startup StartupTimings

	// Hooks are the app's hooks (root package monobase): the record and
	// auth hooks go to the engine, Request, Serve and Terminate are run
	// here (hooks.go). nil: none.
	Hooks  *hook.Registry
	appMux *http.ServeMux // the routes of the Serve hooks (hooks.go)
}

// StartupTimings are the durations of the start-up stages of Run.
type StartupTimings struct {
	DB     time.Duration // open the database and load the collections
	Auth   time.Duration // the auth service
	Schema time.Duration // build the application schema
	Total  time.Duration // from Run to listening
}

// NewServeCommand returns a command with the defaults, writing its banner
// to stdout and its logs to stderr.
func NewServeCommand(stdout, stderr io.Writer) *ServeCommand {
	return &ServeCommand{
		Dir:             DefaultDir,
		HTTP:            DefaultHTTP,
		ShutdownTimeout: DefaultShutdownTimeout,
		Stdout:          stdout,
		Stderr:          stderr,
	}
}

// RunUntil runs the server until ctx is cancelled (SIGINT/SIGTERM in main),
// then shuts it down gracefully. started, when not nil, is called once the
// server listens.
func (c *ServeCommand) RunUntil(ctx context.Context, started func(*ServeCommand)) error {
	if err := c.Run(ctx); err != nil {
		return err
	}
	if started != nil {
		started(c)
	}
	select {
	case <-ctx.Done():
		c.logger().Info("shutting down")
	case err := <-c.served:
		// The listener failed on its own; report it after cleaning up.
		c.served <- err
	}
	return c.Close()
}

// Run opens the data folder, builds the application schema, starts
// listening on c.HTTP and serves in the background; it returns once the
// server accepts connections. On failure everything opened is closed again.
// ctx bounds the start-up only.
func (c *ServeCommand) Run(ctx context.Context) (err error) {
	log := c.logger()
	c.shutdown, c.cancelShutdown = context.WithCancel(context.Background())
	start := time.Now()

	if c.backups, err = c.newBackups(); err != nil {
		return err
	}
	if err := c.newCrons(); err != nil {
		return err
	}
	c.startMetrics()
	if err := c.startData(ctx); err != nil {
		return err
	}
	d := c.db
	defer func() {
		if err != nil {
			_ = d.Close()
		}
	}()

	ln, err := c.listen()
	if err != nil {
		c.closeNode()
		c.hub.Close()
		c.mail.Close(ctx)
		c.closeLogs(ctx)
		return err
	}
	c.ln = ln
	// fail stops what was started from here on.
	fail := func(err error) error {
		_ = ln.Close()
		_ = c.closeTLS(ctx)
		if c.dev != nil {
			c.dev.Close()
		}
		c.closeNode()
		c.hub.Close()
		c.mail.Close(ctx)
		c.closeLogs(ctx)
		return err
	}
	if c.Dev {
		// go-pkgz/auth's dev provider sends every sign-in back to this
		// server's URL, known only now.
		if c.dev, err = oauth.StartDev(c.URL()); err != nil {
			return fail(err)
		}
		c.oauth2.SetDev(c.dev)
	}
	c.srv = &http.Server{
		Handler:           c.gate.wrap(func() http.Handler { return *c.root.Load() }),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	c.srv.RegisterOnShutdown(func() {
		c.hub.Close()
		c.cancelShutdown()
	})
	if err := c.triggerServe(); err != nil { // the app's routes (hooks.go)
		return fail(err)
	}
	if err := c.listenMetrics(); err != nil {
		return fail(err)
	}
	c.served = make(chan error, 1)
	go func() { c.served <- c.serve(ln) }()
	// After a burst of requests, give the memory back once the server is
	// quiet (internal/idlemem), until shutdown.
	go (&idlemem.Watcher{}).Run(c.shutdown)
	c.startCrons(ctx)
	c.startFilesCleanup(start) // crons.go

	c.Startup.Total = time.Since(start)
	log.Debug("started", "db", c.Startup.DB.Round(time.Microsecond), "auth", c.Startup.Auth.Round(time.Microsecond),
		"schema", c.Startup.Schema.Round(time.Microsecond), "total", c.Startup.Total.Round(time.Microsecond))
	c.printBanner(ctx)
	return nil
}

// buildHandler wires the services of d into the HTTP handler tree.
func (c *ServeCommand) buildHandler(ctx context.Context, d *db.DB) (http.Handler, error) {
	if err := checkSecrets(ctx, d); err != nil {
		return nil, err
	}
	t0 := time.Now()
	authSvc, err := auth.New(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("start auth: %w", err)
	}
	authSvc.SignInLimits = c.SignInLimits
	c.Startup.Auth = time.Since(t0)
	t0 = time.Now()
	c.hub = subscriptions.New(subscriptions.Options{})
	store := files.NewLocal(filepath.Join(c.Dir, backup.StorageDir))
	// Files being written (uploads, thumbnails, multipart spools) live in
	// storage/.tmp; what a stopped process left there is garbage.
	if err := store.CleanTemp(); err != nil {
		c.hub.Close()
		return nil, err
	}
	if err := applyS3(ctx, d, store); err != nil {
		c.hub.Close()
		return nil, err
	}
	rules, err := c.rateLimits(ctx, d)
	if err != nil {
		c.hub.Close()
		return nil, err
	}
	origins, proxy, err := c.corsAndProxy(ctx, d)
	if err != nil {
		c.hub.Close()
		return nil, err
	}
	settings := func(ctx context.Context) (mail.Settings, error) { return mail.Load(ctx, d) }
	c.mail = mail.NewQueue(&mail.SMTPClient{Settings: settings}, mail.QueueConfig{})
	c.oauth2 = oauth.NewProviders(nil)
	if c.dev != nil { // a rebuild after a restore keeps the dev provider
		c.oauth2.SetDev(c.dev)
	}
	engine, err := dynschema.New(ctx, dynschema.Config{DB: d, Auth: authSvc, Files: store, Hub: c.hub, Dev: c.Dev,
		Limits: dynschema.Limits{Transport: transport.Limits{MaxSocketsPerIP: c.MaxSocketsPerIP}},
		Mail:   &mail.Outbox{Queue: c.mail, Settings: settings}, OAuth2: c.oauth2, RateLimits: rules,
		AllowOrigin: origins.Allowed, ClientIP: socketClientIP, Extensions: c.metricsExtensions(), Schema: c.Schema,
		Hooks: c.hookRegistry()})
	if err != nil {
		c.mail.Close(ctx)
		c.hub.Close()
		return nil, fmt.Errorf("build the application schema: %w", err)
	}
	if c.Engine != nil {
		c.Engine.Store(engine) // the app's Execute runs on the tree being served
	}
	if err := c.applyLimits(ctx, d, engine); err != nil {
		c.mail.Close(ctx)
		c.hub.Close()
		return nil, err
	}
	reqLogs, err := c.openLogs(ctx, d)
	if err != nil {
		c.mail.Close(ctx)
		c.hub.Close()
		return nil, err
	}
	// db's change hooks: a collection change rebuilds the application
	// schema inside its transaction (a schema that does not compile refuses
	// it); committed record changes go to the WebSocket sessions (revoked or
	// refreshed viewers), then to the subscription hub.
	c.store = store
	d.OnSchemaChange = engine.PrepareSchema
	hub := c.hub
	deliver := func(ev db.RecordEvent) {
		c.deliverMu.Lock() // local and other nodes' events, one at a time
		defer c.deliverMu.Unlock()
		engine.RecordChanged(ev) // sessions first: a revoked viewer gets no event
		hub.Publish(ev)
	}
	// Other nodes' events arrive through the node (cluster.go).
	c.live = liveSettings{d: d, engine: engine, store: store, rules: rules, origins: origins, proxy: proxy, logs: reqLogs}
	node, err := c.startCluster(ctx, c.live, deliver)
	if err != nil {
		c.closeLogs(ctx)
		c.mail.Close(ctx)
		c.hub.Close()
		return nil, err
	}
	c.node = node
	d.OnRecordChange = func(ev db.RecordEvent) {
		if node == nil || !node.EchoesOwn() {
			deliver(ev) // with LISTEN/NOTIFY it comes back in commit order
		}
		if node != nil {
			node.Committed(ev) // NATS: publish after the commit
		}
	}
	c.Startup.Schema = time.Since(t0)

	mux := http.NewServeMux()
	mux.Handle("/graphql", browserToPlayground(c.trackWebSockets(engine.Handler())))
	mux.Handle("/graphql/admin", graph.NewHandler(d, authSvc, engine.SDL, graph.WithBackups(c.backups), graph.WithRateLimits(rules),
		graph.WithCrons(c.cron), graph.WithCORS(origins), graph.WithTrustedProxy(proxy), graph.WithLimits(engine), graph.WithLogs(reqLogs),
		graph.WithFiles(store), graph.WithSetup(&c.setup)))
	if c.backups != nil {
		mux.Handle(backup.Prefix, backup.Handler(c.backups, authSvc))
	}
	mux.Handle("/files/", files.Handler(store, d, authSvc))
	mux.Handle(oauth.Prefix, oauth.NewHandler(oauth.HandlerConfig{Providers: c.oauth2, Collection: d.Collection,
		SignIn: engine.OAuth2SignIn, Origins: redirectOrigins(d, origins), Key: authSvc.DeriveKey("oauth2 handshake")}))
	mux.Handle(playground.Prefix, playground.Handler())
	mux.Handle(playground.Prefix+"/", playground.Handler())
	mux.Handle("/_/", dashboard.Handler())
	mux.Handle("/_", dashboard.Handler())
	mux.Handle("/{$}", c.withAppRoutes(origins, dashboard.RedirectRoot())) // the app's routes take what no built-in one claims (hooks.go)
	mux.Handle("/", c.withAppRoutes(origins, http.HandlerFunc(notFound)))
	c.wireMetrics(d, engine, mux)

	// The path rules run once the viewer is known (their audience) and
	// before any handler reads a body.
	caller := func(r *http.Request) ratelimit.Caller { return auth.ViewerFrom(r.Context()).RateLimitCaller() }
	var h http.Handler = authSvc.Middleware(logViewer(rules.Paths(caller, c.requestHooks(mux)))) // the Request hooks (hooks.go)
	// CORS answers preflights before the token and the rate limits are
	// looked at, and puts its headers on every answer, errors included.
	h = origins.Handler(h, corsPaths...)
	if c.Dev {
		// Console only: the request log keeps every request already.
		h = accessLog(c.consoleLogger(), h)
	}
	// The request log is outside the panic recovery, so that it sees the
	// 500 and the panic's log record; health probes are not logged.
	h = recoverPanics(c.logger(), h)
	h = reqLogs.Middleware(h)
	h = proxy.Middleware(h) // the client address, for everything inside (the request log's userIp too)
	h = withHealth(h)
	h = withBodyDeadline(cmp.Or(c.BodyTimeout, DefaultBodyTimeout), h)
	h = c.withMetrics(h)
	return h, nil
}

// rateLimits returns the rules of settings.rateLimits: the saved ones,
// else c.RateLimits, else the defaults. Saved settings that are not valid
// (edited by hand) are logged and replaced by c.RateLimits or the
// defaults.
func (c *ServeCommand) rateLimits(ctx context.Context, d *db.DB) (*ratelimit.Rules, error) {
	def := ratelimit.DefaultSettings()
	if c.RateLimits != nil {
		def = *c.RateLimits
	}
	s, err := ratelimit.Load(ctx, d, def)
	if errors.Is(err, ratelimit.ErrInvalidStored) {
		c.logger().Error("the defaults apply until settings.rateLimits are saved again", "err", err)
		err = nil // s is def
	}
	if err != nil {
		return nil, fmt.Errorf("load the rate limits: %w", err)
	}
	return ratelimit.NewRules(s, 0, nil), nil
}

// Addr returns the address the server listens on (useful with port 0).
func (c *ServeCommand) Addr() string {
	if c.ln == nil {
		return ""
	}
	return c.ln.Addr().String()
}

// URL returns the server's base URL, e.g. http://127.0.0.1:8090; with
// --https, https:// and the first domain (with the port unless 443).
func (c *ServeCommand) URL() string {
	switch {
	case c.tls.manager != nil:
		_, port, _ := net.SplitHostPort(c.Addr())
		if port == "443" {
			return "https://" + c.HTTPS[0]
		}
		return "https://" + net.JoinHostPort(c.HTTPS[0], port)
	case c.tls.config != nil:
		return "https://" + displayHost(c.Addr())
	}
	return "http://" + displayHost(c.Addr())
}

// DB returns the open database (nil before Run; a restore replaces it).
func (c *ServeCommand) DB() *db.DB {
	c.genMu.Lock()
	defer c.genMu.Unlock()
	return c.db
}

// Close shuts the server down gracefully: it stops accepting connections
// and scheduling jobs, ends subscriptions and sends WebSockets a close
// frame, waits up to ShutdownTimeout for in-flight requests and running
// jobs (then cancels the jobs' context), then closes the database. It is
// safe to call more than once; later calls return the first result.
func (c *ServeCommand) Close() error {
	c.closeOnce.Do(func() { c.closeErr = c.close() })
	return c.closeErr
}

func (c *ServeCommand) close() error {
	if c.srv == nil {
		if c.db != nil {
			return c.db.Close()
		}
		return nil
	}
	// A restore that is running finishes first, and none starts after
	// this (reload checks c.shutdown), so the data stays as it is now.
	c.genMu.Lock()
	c.cancelShutdown()
	c.genMu.Unlock()
	timeout := c.ShutdownTimeout
	if timeout <= 0 {
		timeout = DefaultShutdownTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cronStopped := make(chan error, 1)
	go func() { cronStopped <- c.stopCrons(ctx) }()

	var errs []error
	if err := c.srv.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("shutdown: %w", err))
		_ = c.srv.Close()
	}
	c.cancelShutdown()
	if err := c.closeMetrics(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := c.closeTLS(ctx); err != nil {
		errs = append(errs, err)
	}
	// http.Server.Shutdown does not wait for hijacked (WebSocket)
	// connections; their handlers end once their close frame is sent.
	for c.websockets.Load() > 0 && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	if err := <-c.served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		errs = append(errs, fmt.Errorf("serve: %w", err))
	}
	if err := <-cronStopped; err != nil {
		errs = append(errs, err)
	}
	if err := c.triggerTerminate(ctx); err != nil { // serving stopped, the database is open (hooks.go)
		errs = append(errs, err)
	}
	if c.mail != nil {
		c.mail.Close(ctx) // the message being sent finishes; queued ones are dropped
	}
	c.closeLogs(ctx) // the queued entries are written
	if c.dev != nil {
		c.dev.Close()
	}
	c.closeNode()
	if err := c.db.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close database: %w", err))
	}
	return errors.Join(errs...)
}

// trackWebSockets runs WebSocket upgrades on a context that is cancelled when
// shutdown starts or a restore replaces the data (gqlgen then sends a close
// frame) and counts them so Close can wait for them. The context does not
// end with the HTTP request: the socket outlives its handler, and
// internal/lifetime tells when it closes.
func (c *ServeCommand) trackWebSockets(next http.Handler) http.Handler {
	stop := c.genCtx
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") == "" {
			next.ServeHTTP(w, r)
			return
		}
		c.websockets.Add(1)
		ctx, life := lifetime.Of(context.WithoutCancel(r.Context()))
		ctx, cancel := context.WithCancel(ctx)
		stopped := context.AfterFunc(stop, cancel)
		end := func() {
			stopped()
			cancel()
			c.websockets.Add(-1)
		}
		life.OnEnd(end)
		life.Allow()
		next.ServeHTTP(w, r.WithContext(ctx))
		if !life.Taken() {
			end()
		}
	})
}

// logger returns the server's logger: c.Logger, else one that writes
// LogFormat to Stderr (debug level in --dev) and feeds the request logs.
func (c *ServeCommand) logger() *slog.Logger {
	if c.Logger == nil {
		c.logHandler = logs.NewHandler(c.stderrHandler())
		c.Logger = slog.New(c.logHandler)
	}
	return c.Logger
}

// consoleLogger is the server's logger without the request log's handler:
// for lines meant for the console only (the --dev access log).
func (c *ServeCommand) consoleLogger() *slog.Logger {
	if l := c.logger(); c.logHandler == nil {
		return l
	}
	return slog.New(c.logHandler.Base())
}

// stderrHandler returns the handler of LogFormat on Stderr.
func (c *ServeCommand) stderrHandler() slog.Handler {
	level := slog.LevelInfo
	if c.Dev {
		level = slog.LevelDebug
	}
	out := c.Stderr
	if out == nil {
		out = io.Discard
	}
	opts := &slog.HandlerOptions{Level: level}
	if c.LogFormat == "json" {
		return slog.NewJSONHandler(out, opts)
	}
	return slog.NewTextHandler(out, opts)
}

// printBanner tells where to open the server and, while there is no
// superuser yet, how to create one.
func (c *ServeCommand) printBanner(ctx context.Context) {
	if c.Stdout == nil {
		return
	}
	base := c.URL()
	fmt.Fprintf(c.Stdout, "Server started at %s\n", base)
	fmt.Fprintf(c.Stdout, "├─ Dashboard:  %s/_/\n", base)
	fmt.Fprintf(c.Stdout, "├─ GraphQL:    %s/graphql\n", base)
	fmt.Fprintf(c.Stdout, "├─ Admin API:  %s/graphql/admin\n", base)
	fmt.Fprintf(c.Stdout, "└─ Playground: %s/playground\n", base)
	if c.Dev {
		fmt.Fprintf(c.Stdout, "Data folder: %s (development mode)\n", c.Dir)
		if c.dev != nil {
			fmt.Fprintf(c.Stdout, "Dev OAuth2 provider \"dev\" (go-pkgz/auth) at %s: %s/auth/{collection}/dev/login?redirect=<app URL>\n",
				c.dev.URL(), base)
		}
	}
	if n, err := countSuperusers(ctx, c.db); err == nil && n == 0 {
		fmt.Fprintf(c.Stdout, "\nNo superuser yet. Create one with:\n  monobase superuser upsert EMAIL PASSWORD\n")
		if c.Dir != DefaultDir {
			fmt.Fprintf(c.Stdout, "  (add --dir %s)\n", c.Dir)
		}
		if tok, err := c.setup.IssueToken(); err == nil {
			fmt.Fprintf(c.Stdout, "or open this one-time link in a browser:\n  %s/_/#/setup?token=%s\n", base, tok)
		}
	}
}

// redirectOrigins returns the origins, besides the server's own, to which
// the OAuth2 redirect flow may send a browser back with its token:
// settings.meta.appUrl's and the allowed CORS origins of p ("*" allows
// none: cors.Policy.RedirectOrigins).
func redirectOrigins(d *db.DB, p *cors.Policy) func(ctx context.Context) []string {
	return func(ctx context.Context) []string {
		origins := p.RedirectOrigins()
		s, err := mail.Load(ctx, d)
		if err != nil {
			slog.ErrorContext(ctx, "oauth2: load settings", "err", err)
			return origins
		}
		return append(origins, s.Meta.AppURL)
	}
}

// countSuperusers returns how many superusers exist.
func countSuperusers(ctx context.Context, d *db.DB) (int64, error) {
	su, err := d.Collection(db.SuperusersCollection)
	if err != nil {
		return 0, fmt.Errorf("find %s: %w", db.SuperusersCollection, err)
	}
	n, err := d.Count(ctx, &db.Query{Collection: su})
	if err != nil {
		return 0, fmt.Errorf("count superusers: %w", err)
	}
	return n, nil
}

// displayHost turns a listen address into one a browser can open:
// unspecified hosts (":8090", "[::]:8090", "0.0.0.0:8090") become 127.0.0.1.
func displayHost(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// browserToPlayground redirects a browser's plain GET /graphql (Accept:
// text/html, no query) to the playground.
func browserToPlayground(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Query().Get("query") == "" &&
			r.Header.Get("Upgrade") == "" && strings.Contains(r.Header.Get("Accept"), "text/html") {
			http.Redirect(w, r, playground.Prefix, http.StatusFound)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// applyS3 puts the stored settings.s3 in force on store: files go to the
// bucket when it is enabled.
func applyS3(ctx context.Context, d *db.DB, store *files.Store) error {
	set, err := files.LoadS3Settings(ctx, d)
	if err != nil {
		return fmt.Errorf("file storage: %w", err)
	}
	if err := store.ApplyS3(set); err != nil {
		return fmt.Errorf("file storage: %w", err)
	}
	return nil
}
