// Command uploads measures how large uploads slow other writes down: it
// runs plain creates for a while alone, then while a few clients upload
// large files, and prints the write rate and the slowest create of each
// phase. It sends load to loopback addresses only, and every phase is
// bounded in time (at most 30 s).
//
//	go run ./bench/uploads -admin-email admin@example.com -admin-password admin-password
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	base := flag.String("url", "http://127.0.0.1:8090", "server base URL (loopback only)")
	email := flag.String("admin-email", os.Getenv("MONOBASE_ADMIN_EMAIL"), "superuser email")
	password := flag.String("admin-password", os.Getenv("MONOBASE_ADMIN_PASSWORD"), "superuser password")
	d := flag.Duration("duration", 3*time.Second, "measuring time per phase (at most 30s)")
	writers := flag.Int("writers", 4, "concurrent plain-create clients")
	uploaders := flag.Int("uploaders", 2, "concurrent upload clients")
	size := flag.Int("size", 30<<20, "bytes per uploaded file")
	flag.Parse()
	if err := run(*base, *email, *password, min(*d, 30*time.Second), *writers, *uploaders, *size); err != nil {
		fmt.Fprintln(os.Stderr, "uploads:", err)
		os.Exit(1)
	}
}

// checkLoopback refuses any host but this machine.
func checkLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("-url: %w", err)
	}
	if h := u.Hostname(); h != "localhost" {
		if ip := net.ParseIP(h); ip == nil || !ip.IsLoopback() {
			return fmt.Errorf("-url: refusing host %q: loopback addresses only", h)
		}
	}
	return nil
}

// post sends one request and fails on a non-200 answer or GraphQL errors.
func post(path, contentType string, body io.Reader, token string, out any) error {
	req, err := http.NewRequest(http.MethodPost, path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", contentType)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	var env struct {
		Data   json.RawMessage
		Errors []any
	}
	if err := json.Unmarshal(b, &env); err != nil || res.StatusCode != http.StatusOK || len(env.Errors) > 0 {
		return fmt.Errorf("HTTP %d: %.300s", res.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(env.Data, out)
	}
	return nil
}

func gql(base, path, token, query string, vars map[string]any, out any) error {
	b, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	return post(base+path, "application/json", bytes.NewReader(b), token, out)
}

func run(base, email, password string, d time.Duration, writers, uploaders, size int) error {
	if err := checkLoopback(base); err != nil {
		return err
	}
	var auth struct{ AuthWithPassword struct{ Token string } }
	if err := gql(base, "/graphql/admin", "", `mutation($e: String!, $p: String!) { authWithPassword(email: $e, password: $p) { token } }`,
		map[string]any{"e": email, "p": password}, &auth); err != nil {
		return fmt.Errorf("sign in: %w", err)
	}
	tok := auth.AuthWithPassword.Token
	// Every request comes from 127.0.0.1: the rate limit rules (on by
	// default, 20 creates per 5 s) would refuse most of them. The change is
	// saved in the data folder.
	if err := gql(base, "/graphql/admin", tok, `mutation { updateSettings(input: {rateLimits: {enabled: false}}) { rateLimits { enabled } } }`, nil, nil); err != nil {
		return fmt.Errorf("switch the rate limits off: %w", err)
	}
	for _, name := range []string{"bench_up_notes", "bench_up_files"} {
		_ = gql(base, "/graphql/admin", tok, `mutation($n: String!) { deleteCollection(idOrName: $n) }`, map[string]any{"n": name}, nil)
	}
	for _, q := range []string{
		`mutation { createCollection(input: {name: "bench_up_notes", createRule: "", fields: [{name: "title", type: TEXT}]}) { id } }`,
		`mutation { createCollection(input: {name: "bench_up_files", createRule: "", fields: [{name: "file", type: FILE, maxSelect: 1, maxSize: 33554432}]}) { id } }`,
	} {
		if err := gql(base, "/graphql/admin", tok, q, nil, nil); err != nil {
			return fmt.Errorf("create collections: %w", err)
		}
	}
	alone := phase(base, d, writers, 0, size)
	with := phase(base, d, writers, uploaders, size)
	fmt.Printf("%-28s %10s %12s %8s\n", "phase", "creates/s", "slowest", "uploads")
	for _, r := range []struct {
		name string
		res  result
	}{{"creates alone", alone}, {fmt.Sprintf("with %d uploads of %d MiB", uploaders, size>>20), with}} {
		fmt.Printf("%-28s %10.0f %12v %8d\n", r.name, float64(r.res.creates)/r.res.elapsed.Seconds(), r.res.slowest.Round(time.Millisecond), r.res.uploads)
		if r.res.err != nil {
			fmt.Println("  first error:", r.res.err)
		}
	}
	return nil
}

type result struct {
	creates, uploads int64
	slowest, elapsed time.Duration // elapsed: the writers' measuring time
	err              error
}

// phase runs writers plain-create clients and uploaders upload clients for d.
func phase(base string, d time.Duration, writers, uploaders, size int) result {
	var res result
	var mu sync.Mutex
	var creates, uploads atomic.Int64
	fail := func(err error) {
		mu.Lock()
		if res.err == nil {
			res.err = err
		}
		mu.Unlock()
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var wg sync.WaitGroup
	file := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	for range uploaders {
		wg.Go(func() {
			for ctx.Err() == nil {
				var body bytes.Buffer
				w := multipart.NewWriter(&body)
				_ = w.WriteField("operations", `{"query":"mutation($f: Upload) { createBenchUpFile(input: {file: $f}) { id } }","variables":{"f":null}}`)
				_ = w.WriteField("map", `{"0":["variables.f"]}`)
				p, _ := w.CreateFormFile("0", "big.bin")
				_, _ = p.Write(file)
				_ = w.Close()
				if err := post(base+"/graphql", w.FormDataContentType(), &body, "", nil); err != nil {
					fail(fmt.Errorf("upload: %w", err))
					return
				}
				uploads.Add(1)
			}
		})
	}
	if uploaders > 0 {
		time.Sleep(200 * time.Millisecond) // the uploads are under way
	}
	start := time.Now()
	var wgW sync.WaitGroup
	for range writers {
		wgW.Go(func() {
			for ctx.Err() == nil {
				t0 := time.Now()
				err := gql(base, "/graphql", "", `mutation { createBenchUpNote(input: {title: "x"}) { id } }`, nil, nil)
				if err != nil && !errors.Is(err, context.DeadlineExceeded) {
					fail(fmt.Errorf("create: %w", err))
					return
				}
				took := time.Since(t0)
				creates.Add(1)
				mu.Lock()
				res.slowest = max(res.slowest, took)
				mu.Unlock()
			}
		})
	}
	wgW.Wait()
	res.elapsed = time.Since(start)
	wg.Wait()
	res.creates, res.uploads = creates.Load(), uploads.Load()
	return res
}
