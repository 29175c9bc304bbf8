// Command memory measures the idle memory of Monobase and of PocketBase
// holding the same data. For each server it starts the binary on a fresh
// data folder on 127.0.0.1, creates bench_users and bench_posts with the
// same fields (bench/load's), seeds -users users and -posts posts through
// the public API from -clients clients (default 8), reads every post once
// by id and every page of 50 posts with their authors, then leaves the
// server idle and samples its resident memory once a second for -idle.
// It prints, in MiB, the median and the last sample of VmRSS, the last
// one's anonymous and file-backed parts (the binary's code pages are
// file-backed), and for Monobase the Go runtime's view of that memory
// (heap in use, stacks, released) from /metrics.
//
//	go build -o /tmp/monobase ./cmd/monobase
//	go build -o /tmp/memory ./bench/memory
//	/tmp/memory -monobase /tmp/monobase -pocketbase /tmp/pb/pocketbase
//
// Either binary may be "-" to skip it. -env adds environment variables to
// Monobase's (GOGC=100, GOMEMLIMIT=64MiB, ...), to measure their effect.
// PocketBase v0.40.4 is built outside the repository (bench/README.md).
package main

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	adminEmail    = "admin@example.com"
	adminPassword = "admin-password-1"
)

// clients is the number of concurrent requests of every phase (-clients).
var clients = 8

type config struct {
	monobase, pocketbase string
	users, posts         int
	idle                 time.Duration
	env                  []string
}

func main() {
	var c config
	var env string
	flag.StringVar(&c.monobase, "monobase", "-", "Monobase binary (- to skip)")
	flag.StringVar(&c.pocketbase, "pocketbase", "-", "PocketBase binary (- to skip)")
	flag.IntVar(&c.users, "users", 1000, "users to seed")
	flag.IntVar(&c.posts, "posts", 19000, "posts to seed")
	flag.DurationVar(&c.idle, "idle", 30*time.Second, "idle time after the reads, sampled every second")
	flag.IntVar(&clients, "clients", clients, "concurrent requests in the seeding and reading phases")
	flag.StringVar(&env, "env", "", "space-separated NAME=VALUE added to Monobase's environment")
	flag.Parse()
	c.env = strings.Fields(env)
	fmt.Printf("%-10s %8s %8s %10s %10s %10s %10s  %s\n", "server", "records", "seconds", "rss-median", "rss-last", "anon-last", "file-last", "go runtime (MiB)")
	for _, s := range []struct {
		name, bin string
		run       func(config, string) (result, error)
	}{{"monobase", c.monobase, runMonobase}, {"pocketbase", c.pocketbase, runPocketBase}} {
		if s.bin == "-" {
			continue
		}
		r, err := s.run(c, s.bin)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", s.name, err)
			os.Exit(1)
		}
		fmt.Printf("%-10s %8d %8.1f %10.1f %10.1f %10.1f %10.1f  %s\n", s.name, c.users+c.posts, r.seconds,
			mib(r.median.total), mib(r.last.total), mib(r.last.anon), mib(r.last.file), r.runtime)
	}
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

type result struct {
	seconds      float64
	median, last rss
	runtime      string
}

// server is a started binary and what is needed to talk to it.
type server struct {
	cmd  *exec.Cmd
	base string
	dir  string
	log  *bytes.Buffer
}

// start runs the superuser upsert command of bin on a fresh data folder,
// then bin with args ({dir} and {addr} replaced), and waits for its health
// endpoint.
func start(bin string, env []string, args ...string) (*server, error) {
	dir, err := os.MkdirTemp("", "memory-*")
	if err != nil {
		return nil, err
	}
	if out, err := runCLI(bin, "superuser", "upsert", adminEmail, adminPassword, "--dir", dir); err != nil {
		return nil, fmt.Errorf("superuser upsert: %v: %s", err, out)
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	s := &server{base: "http://" + addr, dir: dir, log: &bytes.Buffer{}}
	for i, a := range args {
		args[i] = strings.NewReplacer("{dir}", dir, "{addr}", addr).Replace(a)
	}
	s.cmd = exec.Command(bin, args...)
	s.cmd.Env = append(os.Environ(), env...)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	for range 100 {
		if r, err := http.Get(s.base + "/api/health"); err == nil {
			r.Body.Close()
			return s, nil
		}
		if r, err := http.Get(s.base + "/health"); err == nil {
			r.Body.Close()
			return s, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.stop()
	return nil, fmt.Errorf("%s did not answer: %s", bin, s.log)
}

func (s *server) stop() {
	if s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
	}
	_ = os.RemoveAll(s.dir)
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// send sends a request with in as its JSON body (nil: none) and returns
// the body of a 2xx answer.
func send(method, url, token string, in any) ([]byte, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	if res.StatusCode/100 != 2 {
		return nil, fmt.Errorf("%s %s: %s: %.300s", method, url, res.Status, b)
	}
	return b, nil
}

// call sends a JSON request and decodes a 2xx answer into out (nil: not
// decoded).
func call(method, url, token string, in, out any) error {
	b, err := send(method, url, token, in)
	if err != nil || out == nil {
		return err
	}
	return json.Unmarshal(b, out)
}

// parallel runs f(0..n-1) from the clients, stopping at the first error.
func parallel(n int, f func(i int) error) error {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		next     int
		firstErr error
	)
	for range clients {
		wg.Go(func() {
			for {
				mu.Lock()
				i := next
				next++
				stop := firstErr != nil
				mu.Unlock()
				if i >= n || stop {
					return
				}
				if err := f(i); err != nil {
					mu.Lock()
					firstErr = cmp.Or(firstErr, err)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return firstErr
}

// rss is one sample of a process's resident memory, from /proc/PID/status:
// anonymous pages (heaps, stacks) and file pages (the binary's code,
// mapped files).
type rss struct{ total, anon, file int64 }

// idleRSS samples the process's resident memory once a second for d and
// returns the sample of median total and the last one.
func idleRSS(pid int, d time.Duration) (median, last rss, err error) {
	var samples []rss
	for deadline := time.Now().Add(d); time.Now().Before(deadline); {
		time.Sleep(time.Second)
		r, err := readRSS(pid)
		if err != nil {
			return rss{}, rss{}, err
		}
		samples = append(samples, r)
	}
	if len(samples) == 0 {
		return rss{}, rss{}, errors.New("no samples: -idle is under 1s")
	}
	last = samples[len(samples)-1]
	slices.SortFunc(samples, func(a, b rss) int { return cmp.Compare(a.total, b.total) })
	return samples[len(samples)/2], last, nil
}

func readRSS(pid int) (rss, error) {
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return rss{}, err
	}
	defer f.Close()
	var r rss
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		switch name {
		case "VmRSS":
			r.total = kb << 10
		case "RssAnon":
			r.anon = kb << 10
		case "RssFile":
			r.file = kb << 10
		}
	}
	if r.total == 0 {
		return rss{}, errors.New("no VmRSS in /proc status")
	}
	return r, sc.Err()
}

// runCLI runs a command of the binary and returns its combined output.
func runCLI(bin string, args ...string) (string, error) {
	out, err := exec.Command(bin, args...).CombinedOutput()
	return string(out), err
}
