package server

import (
	"bufio"
	"context"
	"encoding/json"
	"github.com/monobase/monobase/internal/dbtest"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/monobase/monobase/internal/filestest"
	"github.com/monobase/monobase/internal/s3test"
)

// binProcess is a `monobase serve` process of the binary the test built.
type binProcess struct {
	cmd  *exec.Cmd
	base string        // http://127.0.0.1:port
	logs *syncBuffer   // its stderr (JSON lines)
	done chan struct{} // closed when it has exited
}

// buildBinary builds cmd/monobase into a temporary folder.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "monobase")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/monobase").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startBinary starts `bin serve` on dir at a free loopback port and waits
// until /health answers. The process is killed when the test ends, if it
// still runs.
func startBinary(t *testing.T, bin, dir string) *binProcess {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := &binProcess{base: "http://" + addr, logs: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, "serve", "--dir", dir, "--http", addr, "--log-format", "json")
	p.cmd.Stderr = p.logs
	p.cmd.Env = binEnv(t, dir)
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("server log:\n%s", p.logs.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(p.base + "/health")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case <-p.done:
			t.Fatalf("serve exited: %v\n%s", p.cmd.ProcessState, p.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %v\n%s", err, p.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop ends the process with SIGINT (a graceful shutdown) and waits.
func (p *binProcess) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop within 20 s of SIGINT")
	}
}

// kill ends the process with SIGKILL and waits.
func (p *binProcess) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
}

// logged reports whether a JSON log line has every key and value of want.
func (p *binProcess) logged(want map[string]any) bool {
	sc := bufio.NewScanner(strings.NewReader(p.logs.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) != nil {
			continue
		}
		match := true
		for k, v := range want {
			match = match && line[k] == v
		}
		if match {
			return true
		}
	}
	return false
}

// startLoad starts concurrent writers against base: creates of docs with
// files, updates that replace or add files, deletes, and notes (with a
// file) that a deleted doc takes with it. A writer ends at its first
// transport error (the kill); wait waits for them all and returns how
// many mutations succeeded.
func startLoad(base, admin string) (wait func() int64) {
	var (
		mu   sync.Mutex
		docs []string
		n    atomic.Int64
		wg   sync.WaitGroup
	)
	pick := func() string {
		mu.Lock()
		defer mu.Unlock()
		if len(docs) == 0 {
			return "none"
		}
		return docs[rand.IntN(len(docs))]
	}
	url := base + "/graphql"
	for range 6 {
		wg.Go(func() {
			for {
				var r *gqlResponse
				var err error
				id := pick()
				switch op := rand.IntN(6); {
				case op <= 1 || id == "none":
					r, err = postFiles(url, admin, `mutation($f: [Upload!]) { createDoc(input: {title: "t", files: $f}) { id } }`,
						map[string]any{"f": []any{nil, nil, nil}}, "variables.f.0", "variables.f.1", "variables.f.2")
					if err == nil && len(r.Errors) == 0 {
						mu.Lock()
						docs = append(docs, r.Data["createDoc"].(map[string]any)["id"].(string))
						mu.Unlock()
					}
				case op == 2:
					r, err = postFiles(url, admin, `mutation($id: ID!, $f: [Upload!]) { updateDoc(id: $id, input: {files: $f}) { id } }`,
						map[string]any{"id": id, "f": []any{nil, nil}}, "variables.f.0", "variables.f.1")
				case op == 3:
					r, err = postFiles(url, admin, `mutation($id: ID!, $f: [Upload!]) { updateDoc(id: $id, input: {filesAppend: $f}) { id } }`,
						map[string]any{"id": id, "f": []any{nil}}, "variables.f.0")
				case op == 4:
					r, err = postFiles(url, admin, `mutation($d: ID!, $f: Upload) { createNote(input: {doc: $d, attachment: $f}) { id } }`,
						map[string]any{"d": id, "f": nil}, "variables.f")
				default:
					r, err = postFiles(url, admin, `mutation($id: ID!) { deleteDoc(id: $id) { id } }`, map[string]any{"id": id})
				}
				if err != nil {
					return // the server is gone
				}
				if len(r.Errors) == 0 {
					n.Add(1)
				}
			}
		})
	}
	return func() int64 {
		wg.Wait()
		return n.Load()
	}
}

// TestCrashLeavesNoOrphans builds the binary, runs uploads, replacements
// and deletes from several writers, kills the server with SIGKILL in the
// middle of them, restarts it, waits for the start-up files cleanup, and
// checks that the storage holds exactly the files the records name: none
// lost, none left over. On the local disk and in a bucket of a real S3
// protocol server.
func TestCrashLeavesNoOrphans(t *testing.T) {
	bin := buildBinary(t)
	for _, kind := range []string{"local", "s3"} {
		t.Run(kind, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			up := exec.Command(bin, "superuser", "upsert", "admin@example.com", "admin-password", "--dir", dir)
			up.Env = binEnv(t, dir)
			if out, err := up.CombinedOutput(); err != nil {
				t.Fatalf("superuser upsert: %v\n%s", err, out)
			}
			p := startBinary(t, bin, dir)
			admin := signIn(t, p.base, "admin@example.com", "admin-password")
			mustGQL(t, p.base+"/graphql/admin", admin, `mutation { updateSettings(input: {rateLimits: {enabled: false}}) { rateLimits { enabled } } }`, nil)
			keys := func() []string { return localKeys(t, dir) }
			if kind == "s3" {
				s3, err := s3test.Start("crash")
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s3.Close() })
				useS3(t, p.base, admin, s3, "crash")
				keys = func() []string { return bucketKeys(t, s3.Settings("crash")) }
			}
			data := mustGQL(t, p.base+"/graphql/admin", admin, `mutation { createCollection(input: {name: "docs",
				fields: [{name: "title", type: TEXT}, {name: "files", type: FILE, maxSelect: 10}]}) { id } }`, nil)
			docsID := data["createCollection"].(map[string]any)["id"].(string)
			mustGQL(t, p.base+"/graphql/admin", admin, `mutation($d: String!) { createCollection(input: {name: "notes",
				fields: [{name: "doc", type: RELATION, collection: $d, maxSelect: 1, cascadeDelete: true},
				         {name: "attachment", type: FILE, maxSelect: 1}]}) { id } }`, map[string]any{"d": docsID})

			wait := startLoad(p.base, admin)
			time.Sleep(2 * time.Second)
			p.kill(t)
			t.Logf("%d mutations succeeded before the kill", wait())

			before := storageVersusRecords(t, dir, keys())
			t.Logf("after the kill: %d files named, %d stored that no record names, %d named but missing",
				before.named, len(before.extra), len(before.missing))
			if len(before.missing) > 0 {
				t.Fatalf("files named by committed records are missing after the kill: %v", before.missing)
			}
			if before.named == 0 {
				t.Fatal("the load committed no file before the kill")
			}
			// The start-up cleanup removes what is older than the start (on
			// the backend's clock, rounded down to the second for S3).
			time.Sleep(2500 * time.Millisecond)

			q := startBinary(t, bin, dir)
			within(t, "the start-up files cleanup ends", func() bool {
				return q.logged(map[string]any{"msg": "cron job done", "job": JobFilesCleanup, "trigger": "manual"}) ||
					q.logged(map[string]any{"msg": "cron job failed", "job": JobFilesCleanup})
			})
			if q.logged(map[string]any{"msg": "cron job failed", "job": JobFilesCleanup}) {
				t.Fatalf("the start-up files cleanup failed:\n%s", q.logs.String())
			}
			if len(before.extra) > 0 && !q.logged(map[string]any{"msg": "removed stored files that no record names", "count": float64(len(before.extra))}) {
				t.Errorf("no log line of the %d removals:\n%s", len(before.extra), q.logs.String())
			}
			q.stop(t)
			after := storageVersusRecords(t, dir, keys())
			if len(after.extra) > 0 || len(after.missing) > 0 {
				t.Fatalf("after the restart: stored but not named %v; named but missing %v", after.extra, after.missing)
			}
			t.Logf("after the restart: the %d stored files are exactly those the records name", after.named)
		})
	}
}

// storageReport compares stored keys with the files records name.
type storageReport struct {
	named          int
	extra, missing []string
}

// storageVersusRecords opens the data folder's database (no server runs
// on it) and compares the files its records name with stored.
func storageVersusRecords(t *testing.T, dir string, stored []string) storageReport {
	t.Helper()
	ctx := context.Background()
	d, err := dbtest.Open(t, ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	named := filestest.NamedKeys(t, d)
	rep := storageReport{named: len(named)}
	for _, k := range stored {
		if _, ok := slices.BinarySearch(named, k); !ok && !isThumbOf(k, named) {
			rep.extra = append(rep.extra, k)
		}
	}
	for _, k := range named {
		if _, ok := slices.BinarySearch(stored, k); !ok {
			rep.missing = append(rep.missing, k)
		}
	}
	return rep
}

// isThumbOf reports whether k is a thumbnail ("c/r/thumbs_n/size_n") of
// a named file.
func isThumbOf(k string, named []string) bool {
	parts := strings.Split(k, "/")
	if len(parts) != 4 {
		return false
	}
	name, ok := strings.CutPrefix(parts[2], "thumbs_")
	if !ok {
		return false
	}
	_, found := slices.BinarySearch(named, parts[0]+"/"+parts[1]+"/"+name)
	return found
}
