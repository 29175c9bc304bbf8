// Command baseline is the bare ceiling that Monobase's HTTP figures are
// compared with: net/http, modernc SQLite (WAL, one writer connection, a
// pool of readers, prepared statements) and encoding/json, with no GraphQL,
// no rules and no dynamic schema.
//
// It seeds the same data as bench/load (bench_users and bench_posts with
// an author relation) and answers exactly the requests of bench/load run
// with -keep, recognising each operation by its text, so that the same
// load generator drives both servers:
//
//	go run ./bench/baseline -http 127.0.0.1:8091 -dir /tmp/mbbaseline      # shell 1
//	go run ./bench/load -url http://127.0.0.1:8091 -keep -admin-email x -admin-password y
//
// It listens on loopback addresses only.
package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite"
)

func main() {
	addr := flag.String("http", "127.0.0.1:8091", "listen address (loopback only)")
	dir := flag.String("dir", "", "data folder (required; data.db is recreated)")
	users := flag.Int("users", 100, "users to seed")
	posts := flag.Int("posts", 1000, "posts to seed")
	flag.Parse()
	if err := run(*addr, *dir, *users, *posts); err != nil {
		fmt.Fprintln(os.Stderr, "baseline:", err)
		os.Exit(1)
	}
}

func run(addr, dir string, users, posts int) error {
	if dir == "" {
		return errors.New("-dir is required")
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-http: %w", err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("-http: refusing %q: loopback addresses only", host)
	}
	s, err := open(dir)
	if err != nil {
		return err
	}
	defer s.close()
	if err := s.seed(users, posts); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	log.Printf("baseline: %d users, %d posts, serving http://%s", users, posts, ln.Addr())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

type server struct {
	w, r                             *sql.DB
	byID, page, insert, authorExists *sql.Stmt
	allUsers, allPosts               *sql.Stmt
}

func open(dir string) (*server, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "data.db")
	for _, suffix := range []string{"", "-wal", "-shm"} {
		_ = os.Remove(path + suffix)
	}
	const pragmas = "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
	w, err := sql.Open("sqlite", path+pragmas+"&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	if _, err := w.Exec(`CREATE TABLE bench_users (id TEXT PRIMARY KEY, created TEXT, updated TEXT, name TEXT, bio TEXT);
		CREATE TABLE bench_posts (id TEXT PRIMARY KEY, created TEXT, updated TEXT, title TEXT, body TEXT, views REAL, published INTEGER,
			author TEXT REFERENCES bench_users(id));
		CREATE INDEX bench_posts_author ON bench_posts (author)`); err != nil {
		return nil, fmt.Errorf("create tables: %w", err)
	}
	r, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)&_pragma=query_only(1)")
	if err != nil {
		return nil, err
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	s := &server{w: w, r: r}
	for _, p := range []struct {
		db  *sql.DB
		dst **sql.Stmt
		sql string
	}{
		{r, &s.byID, `SELECT id, title, views, published, created FROM bench_posts WHERE id = ?`},
		// A page in insertion order (as Monobase's default order), then
		// joined to the authors of its 50 rows.
		{r, &s.page, `SELECT p.id, p.title, p.views, p.published, u.id, u.name
			FROM (SELECT rowid AS rn, id, title, views, published, author FROM bench_posts ORDER BY rowid LIMIT 50 OFFSET ?) AS p
			LEFT JOIN bench_users u ON u.id = p.author ORDER BY p.rn`},
		{r, &s.allUsers, `SELECT id FROM bench_users LIMIT 1000`},
		{r, &s.allPosts, `SELECT id FROM bench_posts LIMIT 1000`},
		{w, &s.authorExists, `SELECT 1 FROM bench_users WHERE id = ?`},
		{w, &s.insert, `INSERT INTO bench_posts (id, created, updated, title, body, views, published, author) VALUES (?, ?, ?, ?, '', ?, 0, ?)`},
	} {
		st, err := p.db.Prepare(p.sql)
		if err != nil {
			return nil, fmt.Errorf("prepare: %w", err)
		}
		*p.dst = st
	}
	return s, nil
}

func (s *server) close() {
	_ = s.r.Close()
	_ = s.w.Close()
}

func newID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 15)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func now() string { return time.Now().UTC().Format("2006-01-02T15:04:05.000Z") }

func (s *server) seed(users, posts int) error {
	tx, err := s.w.Begin()
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	ids := make([]string, users)
	for i := range ids {
		ids[i] = newID()
		if _, err := tx.Exec(`INSERT INTO bench_users VALUES (?, ?, ?, ?, ?)`, ids[i], now(), now(), fmt.Sprintf("User %d", i), "Writes benchmark posts."); err != nil {
			return fmt.Errorf("seed users: %w", err)
		}
	}
	for i := range posts {
		if _, err := tx.Exec(`INSERT INTO bench_posts VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, newID(), now(), now(), fmt.Sprintf("Post %d", i),
			fmt.Sprintf("<p>Some body text for post %d.</p>", i), float64(i*7%10000), i%2, ids[i%users]); err != nil {
			return fmt.Errorf("seed posts: %w", err)
		}
	}
	return tx.Commit()
}

type request struct {
	Query     string         `json:"query"`
	Variables map[string]any `json:"variables"`
}

type response struct {
	Data   any   `json:"data"`
	Errors []any `json:"errors,omitempty"`
}

type post struct {
	ID        string  `json:"id"`
	Title     string  `json:"title"`
	Views     float64 `json:"views"`
	Published bool    `json:"published"`
	Created   string  `json:"created,omitempty"`
	Author    *user   `json:"author,omitempty"`
}

type user struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type idOnly struct {
	ID string `json:"id"`
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/health" {
		w.WriteHeader(http.StatusOK)
		return
	}
	var req request
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	data, err := s.answer(r.Context(), &req)
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		_ = json.NewEncoder(w).Encode(response{Errors: []any{map[string]string{"message": err.Error()}}})
		return
	}
	_ = json.NewEncoder(w).Encode(response{Data: data})
}

// answer recognises the operations of bench/load by their text.
func (s *server) answer(ctx context.Context, req *request) (any, error) {
	q := req.Query
	switch {
	case strings.Contains(q, "authWithPassword"):
		return map[string]any{"authWithPassword": map[string]string{"token": "baseline"}}, nil
	case strings.Contains(q, "updateSettings"): // bench/load switching rate limits off: there are none
		return map[string]any{"updateSettings": map[string]any{"rateLimits": map[string]bool{"enabled": false}}}, nil
	case strings.Contains(q, "collection(idOrName"):
		return map[string]any{"users": idOnly{"bench_users"}, "posts": idOnly{"bench_posts"}}, nil
	case strings.Contains(q, "benchUsers(limit: 1000)"):
		u, err := s.ids(ctx, s.allUsers)
		if err != nil {
			return nil, err
		}
		p, err := s.ids(ctx, s.allPosts)
		if err != nil {
			return nil, err
		}
		return map[string]any{"benchUsers": u, "benchPosts": p}, nil
	case strings.Contains(q, "benchPost(id:"):
		id, _ := req.Variables["id"].(string)
		var p post
		err := s.byID.QueryRowContext(ctx, id).Scan(&p.ID, &p.Title, &p.Views, &p.Published, &p.Created)
		if errors.Is(err, sql.ErrNoRows) {
			return map[string]any{"benchPost": nil}, nil
		}
		if err != nil {
			return nil, err
		}
		return map[string]any{"benchPost": &p}, nil
	case strings.Contains(q, "benchPosts(limit: 50"):
		off, _ := req.Variables["o"].(float64)
		rows, err := s.page.QueryContext(ctx, int(off))
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		out := make([]post, 0, 50)
		for rows.Next() {
			var p post
			var uid, uname sql.NullString
			if err := rows.Scan(&p.ID, &p.Title, &p.Views, &p.Published, &uid, &uname); err != nil {
				return nil, err
			}
			if uid.Valid {
				p.Author = &user{ID: uid.String, Name: uname.String}
			}
			out = append(out, p)
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
		return map[string]any{"benchPosts": out}, nil
	case strings.Contains(q, "createBenchPost"):
		t, _ := req.Variables["t"].(string)
		a, _ := req.Variables["a"].(string)
		id, err := s.create(ctx, t, a)
		if err != nil {
			return nil, err
		}
		return map[string]any{"createBenchPost": idOnly{id}}, nil
	}
	return nil, fmt.Errorf("unknown operation %.80q", q)
}

// create does what Monobase does for a create: it checks that the title
// is not blank and, in the write transaction, that the author exists, then
// inserts the post under a new id.
func (s *server) create(ctx context.Context, title, author string) (string, error) {
	if strings.TrimSpace(title) == "" {
		return "", errors.New("title: cannot be blank")
	}
	id, ts := newID(), now()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return "", err
	}
	defer tx.Rollback()
	var one int
	if err := tx.StmtContext(ctx, s.authorExists).QueryRowContext(ctx, author).Scan(&one); err != nil {
		return "", fmt.Errorf("author %q: %w", author, err)
	}
	if _, err := tx.StmtContext(ctx, s.insert).ExecContext(ctx, id, ts, ts, title, 0.0, author); err != nil {
		return "", err
	}
	return id, tx.Commit()
}

func (s *server) ids(ctx context.Context, st *sql.Stmt) ([]idOnly, error) {
	rows, err := st.QueryContext(ctx)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []idOnly
	for rows.Next() {
		var v idOnly
		if err := rows.Scan(&v.ID); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
