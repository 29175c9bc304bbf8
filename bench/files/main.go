// Command files measures file throughput with the files on the local disk
// and in an S3 bucket: creates of a record with one file (a GraphQL
// multipart request) from N clients, then downloads of the stored files
// from M clients. With -pocketbase it measures a PocketBase server the same
// way (its REST API), each backend, in the same run.
//
// It starts a real S3 protocol server in-process (internal/s3test, objects
// in memory) unless -s3 gives the URL of one, and switches each server
// between its disk and the bucket through its settings API (Monobase:
// updateSettings s3; PocketBase: PATCH /api/settings s3). The targets run
// in alternating rounds; the report gives each measure's median over the
// rounds and the ratios. Loopback addresses only; each measure is bounded
// in time (-duration, at most 30 s) and count (-max-requests), and the
// bench collection is dropped after each upload measure, so the
// in-memory bucket holds at most -max-requests files.
//
//	go run ./bench/files -admin-email admin@example.com -admin-password admin-password
package main

import (
	"crypto/rand"
	"flag"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/monobase/monobase/files"
	"github.com/monobase/monobase/internal/s3test"
)

// client is shared by every request: keep-alive connections to loopback.
var client = &http.Client{
	Timeout:   60 * time.Second,
	Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 128, DisableCompression: true},
}

type config struct {
	mb, pb          string // base URLs ("" pb: no PocketBase)
	email, password string
	pbEmail, pbPass string
	s3URL           string
	size            int
	clients         []int
	dlClients       int
	duration        time.Duration
	maxRequests     int
	rounds          int
	backends        []string
}

func main() {
	var c config
	flag.StringVar(&c.mb, "url", "http://127.0.0.1:8090", "Monobase base URL (loopback only)")
	flag.StringVar(&c.pb, "pocketbase", "", "PocketBase base URL to compare with (loopback only; empty: none)")
	flag.StringVar(&c.email, "admin-email", os.Getenv("MONOBASE_ADMIN_EMAIL"), "Monobase superuser email")
	flag.StringVar(&c.password, "admin-password", os.Getenv("MONOBASE_ADMIN_PASSWORD"), "Monobase superuser password")
	flag.StringVar(&c.pbEmail, "pb-email", "", "PocketBase superuser email (default: -admin-email)")
	flag.StringVar(&c.pbPass, "pb-password", "", "PocketBase superuser password (default: -admin-password)")
	flag.StringVar(&c.s3URL, "s3", "", "URL of an S3 server with the buckets bench-mb and bench-pb (loopback only; empty: start one in-process)")
	flag.IntVar(&c.size, "size", 1<<20, "bytes per file")
	clients := flag.String("clients", "1,16", "upload concurrency levels")
	flag.IntVar(&c.dlClients, "download-clients", 16, "download concurrency")
	flag.DurationVar(&c.duration, "duration", 3*time.Second, "measuring time per measure (at most 30s)")
	flag.IntVar(&c.maxRequests, "max-requests", 400, "most uploads per measure (downloads: 50 times as many)")
	flag.IntVar(&c.rounds, "rounds", 3, "rounds over the targets (1 to 10)")
	backends := flag.String("backends", "local,s3", "backends to measure")
	flag.Parse()
	c.duration = min(c.duration, 30*time.Second)
	c.rounds = max(1, min(c.rounds, 10))
	c.maxRequests = max(1, min(c.maxRequests, 5000))
	c.backends = strings.Split(*backends, ",")
	for _, s := range strings.Split(*clients, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n > 256 {
			fmt.Fprintf(os.Stderr, "files: -clients: %q is not 1 to 256\n", s)
			os.Exit(2)
		}
		c.clients = append(c.clients, n)
	}
	if c.pbEmail == "" {
		c.pbEmail, c.pbPass = c.email, c.password
	}
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "files:", err)
		os.Exit(1)
	}
}

// checkLoopback refuses any host but this machine.
func checkLoopback(flagName, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", flagName, err)
	}
	if h := u.Hostname(); h != "localhost" {
		if ip := net.ParseIP(h); ip == nil || !ip.IsLoopback() {
			return fmt.Errorf("%s: refusing host %q: loopback addresses only", flagName, h)
		}
	}
	return nil
}

func run(c config) error {
	for flagName, u := range map[string]string{"-url": c.mb, "-pocketbase": c.pb, "-s3": c.s3URL} {
		if u != "" {
			if err := checkLoopback(flagName, u); err != nil {
				return err
			}
		}
	}
	s3URL := c.s3URL
	if s3URL == "" {
		srv, err := s3test.Start("bench-mb", "bench-pb")
		if err != nil {
			return err
		}
		defer srv.Close()
		s3URL = srv.URL
	}
	bucket := func(name string) files.S3Settings {
		return files.S3Settings{Bucket: name, Region: s3test.Region, Endpoint: s3URL,
			AccessKey: s3test.AccessKey, Secret: s3test.Secret, ForcePathStyle: true}
	}
	type tgt struct {
		t      target
		bucket files.S3Settings
	}
	targets := []tgt{{&monobase{base: strings.TrimRight(c.mb, "/")}, bucket("bench-mb")}}
	if c.pb != "" {
		targets = append(targets, tgt{&pocketbase{base: strings.TrimRight(c.pb, "/")}, bucket("bench-pb")})
	}
	for _, t := range targets {
		email, pass := c.email, c.password
		if t.t.Name() == "pocketbase" {
			email, pass = c.pbEmail, c.pbPass
		}
		if err := t.t.SignIn(email, pass); err != nil {
			return err
		}
	}
	content := make([]byte, c.size)
	_, _ = rand.Read(content) // incompressible

	results := map[string][]float64{} // "target backend measure" -> per round
	var order []string
	record := func(key string, v float64) {
		if _, ok := results[key]; !ok {
			order = append(order, key)
		}
		results[key] = append(results[key], v)
	}
	fmt.Printf("%-10s %-6s %-14s %5s %9s %9s %9s %9s %s\n", "server", "store", "measure", "round", "req/s", "MiB/s", "p50", "p99", "first error")
	for r := range c.rounds {
		for i := range targets {
			t := targets[(i+r)%len(targets)] // alternate who goes first
			for _, be := range c.backends {
				if err := t.t.SetS3(t.bucket, be == "s3"); err != nil {
					return fmt.Errorf("%s: switch to %s: %w", t.t.Name(), be, err)
				}
				body, ctype := t.t.UploadBody(content)
				var urls []string
				for _, n := range c.clients {
					if err := t.t.Reset(2 * c.size); err != nil {
						return fmt.Errorf("%s: reset the collection: %w", t.t.Name(), err)
					}
					m := measure(n, c.duration, c.maxRequests, func() (string, error) { return t.t.Upload(body, ctype) })
					m.print(t.t.Name(), be, fmt.Sprintf("upload x%d", n), r+1, c.size)
					record(fmt.Sprintf("%s %s upload-x%d", t.t.Name(), be, n), m.rate())
					urls = m.outputs
				}
				if len(urls) == 0 {
					return fmt.Errorf("%s %s: no file uploaded to download", t.t.Name(), be)
				}
				m := measure(c.dlClients, c.duration, 50*c.maxRequests, func() (string, error) {
					return "", download(urls[mrand.IntN(len(urls))], c.size)
				})
				m.print(t.t.Name(), be, fmt.Sprintf("download x%d", c.dlClients), r+1, c.size)
				record(fmt.Sprintf("%s %s download-x%d", t.t.Name(), be, c.dlClients), m.rate())
				if err := t.t.Reset(2 * c.size); err != nil { // frees the bucket's memory
					return fmt.Errorf("%s: reset the collection: %w", t.t.Name(), err)
				}
			}
		}
	}
	report(results, order, c.size)
	return nil
}

// download GETs url and checks that it serves size bytes.
func download(url string, size int) error {
	res, err := client.Get(url)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	n, err := discard(res)
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK || n != int64(size) {
		return fmt.Errorf("GET %s: HTTP %d, %d bytes", url, res.StatusCode, n)
	}
	return nil
}

// report prints the median of each measure over the rounds, and the
// ratios s3/local and monobase/pocketbase of the medians.
func report(results map[string][]float64, order []string, size int) {
	med := map[string]float64{}
	fmt.Printf("\nmedians over the rounds (req/s; MiB/s for %d-byte files)\n", size)
	for _, k := range order {
		med[k] = median(results[k])
		fmt.Printf("  %-36s %8.1f req/s %8.1f MiB/s  (rounds: %s)\n", k, med[k], med[k]*float64(size)/(1<<20), joinF(results[k]))
	}
	fmt.Println("ratios of the medians")
	for _, k := range order {
		f := strings.Fields(k)
		if f[1] == "s3" {
			if local, ok := med[f[0]+" local "+f[2]]; ok && local > 0 {
				fmt.Printf("  %-10s %-14s s3/local        %.2f\n", f[0], f[2], med[k]/local)
			}
		}
		if f[0] == "monobase" {
			if pb, ok := med["pocketbase "+f[1]+" "+f[2]]; ok && pb > 0 {
				fmt.Printf("  %-10s %-14s monobase/pocketbase %.2f\n", f[1], f[2], med[k]/pb)
			}
		}
	}
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func joinF(v []float64) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = strconv.FormatFloat(x, 'f', 1, 64)
	}
	return strings.Join(parts, " ")
}
