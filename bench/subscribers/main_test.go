package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/monobase/monobase/db"
)

func TestCheckLocalURL(t *testing.T) {
	tests := []struct {
		url string
		ok  bool
	}{
		{"ws://127.0.0.1:8090/graphql", true},
		{"wss://127.0.0.1/graphql", true},
		{"ws://localhost:8090/graphql", false},
		{"ws://10.0.0.1:8090/graphql", false},
		{"ws://127.0.0.2:8090/graphql", false},
		{"ws://[::1]:8090/graphql", false},
		{"http://127.0.0.1:8090/graphql", false},
		{"ws://127.0.0.1.example.com/graphql", false},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			err := checkLocalURL(tt.url)
			if (err == nil) != tt.ok {
				t.Errorf("checkLocalURL = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestHTTPURL(t *testing.T) {
	tests := []struct{ ws, suffix, want string }{
		{"ws://127.0.0.1:8090/graphql", "", "http://127.0.0.1:8090/graphql"},
		{"ws://127.0.0.1:8090/graphql", "/admin", "http://127.0.0.1:8090/graphql/admin"},
		{"wss://127.0.0.1/graphql/", "/admin", "https://127.0.0.1/graphql/admin"},
	}
	for _, tt := range tests {
		if got := httpURL(tt.ws, tt.suffix); got != tt.want {
			t.Errorf("httpURL(%q, %q) = %q, want %q", tt.ws, tt.suffix, got, tt.want)
		}
	}
}

func TestSources(t *testing.T) {
	t.Run("connections spread round-robin over 127.0.0.1..K", func(t *testing.T) {
		seen := map[string]int{}
		for i := range 30 {
			seen[sourceAddr(i, 3).IP.String()]++
		}
		want := map[string]int{"127.0.0.1": 10, "127.0.0.2": 10, "127.0.0.3": 10}
		for ip, n := range want {
			if seen[ip] != n {
				t.Errorf("%s used %d times, want %d (all: %v)", ip, seen[ip], n, seen)
			}
		}
		if sourceAddr(5, 1) != nil {
			t.Error("one source should leave the choice to the kernel")
		}
	})
	tests := []struct {
		name    string
		args    []string
		sources int
	}{
		{"up to 20,000 subscribers use one address", []string{"-n", "20000"}, 1},
		{"more use one address per 20,000", []string{"-n", "50000"}, 3},
		{"an explicit count wins", []string{"-n", "50000", "-sources", "8"}, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseFlags(tt.args, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.sources != tt.sources {
				t.Errorf("sources = %d, want %d", cfg.sources, tt.sources)
			}
		})
	}
}

func TestParseFlagsRefuses(t *testing.T) {
	for _, args := range [][]string{
		{"-url", "ws://example.com/graphql"},
		{"-n", "0"},
		{"-admin-email", "a@b.c"},
		{"-sources", "300"},
		{"extra"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			if _, err := parseFlags(args, io.Discard); err == nil {
				t.Error("accepted")
			}
		})
	}
}

func TestParseVmRSS(t *testing.T) {
	status := "Name:\tmonobase\nVmPeak:\t  999 kB\nVmRSS:\t   51234 kB\nThreads:\t9\n"
	got, err := parseVmRSS(status)
	if err != nil || got != 51234*1024 {
		t.Errorf("parseVmRSS = %d, %v; want %d", got, err, 51234*1024)
	}
	if _, err := parseVmRSS("Name:\tx\n"); err == nil {
		t.Error("a status without VmRSS was accepted")
	}
	if _, err := parseVmRSS("VmRSS:\t12 MB\n"); err == nil {
		t.Error("an unexpected unit was accepted")
	}
}

func TestAlreadyExists(t *testing.T) {
	tests := []struct {
		name string
		errs []gqlError
		want bool
	}{
		{"message says so", []gqlError{{Message: `collection "posts" already exists`}}, true},
		{"BAD_USER_INPUT on the name", []gqlError{{Message: "invalid input", Extensions: map[string]any{"fields": map[string]any{"name": map[string]any{"code": "unique"}}}}}, true},
		{"another error", []gqlError{{Message: "FORBIDDEN"}}, false},
		{"no errors", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := alreadyExists(tt.errs); got != tt.want {
				t.Errorf("alreadyExists = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestReceivedBeforeTheWriteAnswered(t *testing.T) {
	st := newStats()
	st.received("warm00000000001", timeAt(-1)) // during warm-up: not counted
	st.measuring.Store(true)
	st.warm.Store("warm00000000001", struct{}{})
	t0 := timeAt(0)
	st.sent.Store("known0000000001", t0)
	st.received("known0000000001", timeAt(5))  // matched at once
	st.received("early0000000001", timeAt(7))  // its write has not answered yet
	st.received("warm00000000001", timeAt(9))  // a late warm-up event: ignored
	st.received("stray0000000001", timeAt(11)) // never ours
	st.sent.Store("early0000000001", timeAt(1))
	st.resolvePending()
	if got := st.delivered.Load(); got != 2 {
		t.Errorf("delivered = %d, want 2", got)
	}
	if got := st.unmatched.Load(); got != 1 {
		t.Errorf("unmatched = %d, want 1", got)
	}
	if got := st.lat.Count(); got != 2 {
		t.Errorf("latencies = %d, want 2", got)
	}
	if got, want := st.lat.Max(), timeAt(6).Sub(t0); got != want {
		t.Errorf("max latency = %v, want %v (7ms received - 1ms sent)", got, want)
	}
}

func timeAt(ms int) time.Time {
	return time.Unix(1700000000, 0).Add(time.Duration(ms) * time.Millisecond)
}

func TestFastNextID(t *testing.T) {
	tests := []struct {
		name, msg, id string
		ok            bool
	}{
		{"an event as the server writes it",
			`{"payload":{"data":{"postChanged":{"action":"CREATE","record":{"id":"abc123def456ghi"}}}},"id":"1","type":"next"}`, "abc123def456ghi", true},
		{"an event with errors takes the slow path",
			`{"payload":{"data":null,"errors":[{"message":"x"}]},"id":"1","type":"next"}`, "", false},
		{"another message type", `{"id":"1","type":"complete"}`, "", false},
		{"type not last", `{"type":"next","id":"1","payload":{"data":{"postChanged":{"record":{"id":"a"}}}}}`, "", false},
		{"an escaped id", `{"payload":{"data":{"postChanged":{"record":{"id":"a\"b"}}}},"type":"next"}`, "", false},
		{"no record", `{"payload":{"data":{"postChanged":{"action":"CREATE"}}},"id":"1","type":"next"}`, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, ok := fastNextID([]byte(tt.msg))
			if id != tt.id || ok != tt.ok {
				t.Errorf("fastNextID = %q, %v; want %q, %v", id, ok, tt.id, tt.ok)
			}
		})
	}
}

func TestParseStatCPU(t *testing.T) {
	stat := "4242 (mono base) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 75 0 0 20 0 9 0 100 1000 100 18446744073709551615"
	got, err := parseStatCPU(stat)
	if err != nil || got != 3250*time.Millisecond {
		t.Errorf("parseStatCPU = %v, %v; want 3.25s (325 ticks)", got, err)
	}
	if _, err := parseStatCPU("4242 (x) S 1"); err == nil {
		t.Error("a short line was accepted")
	}
}

// TestSeedOwners: -seed-owners creates the missing owners in a data
// folder with password hashes a server verifies, and a second run creates
// none.
func TestSeedOwners(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	var out strings.Builder
	if err := seedOwners(ctx, dir, 7, &out); err != nil {
		t.Fatal(err)
	}
	if err := seedOwners(ctx, dir, 9, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "seed: 7 owners created, 0 were there") ||
		!strings.Contains(out.String(), "seed: 2 owners created, 7 were there") {
		t.Fatalf("output %q", out.String())
	}
	d, err := db.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	users, err := d.Collection("users")
	if err != nil {
		t.Fatal(err)
	}
	recs, err := d.Find(ctx, &db.Query{Collection: users, Alias: "r", Columns: []string{"email", "password"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 9 {
		t.Fatalf("%d users, want 9", len(recs))
	}
	for _, r := range recs {
		hash := fmt.Sprint(r["password"])
		if err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(ownerPassword)); err != nil {
			t.Fatalf("%v: the hash %q does not verify: %v", r["email"], hash, err)
		}
	}
}

// TestOwnerStatsShared: a shared memo may reach every owner once; an
// owner's memo only its owner.
func TestOwnerStatsShared(t *testing.T) {
	o := &ownerStats{}
	o.ownerOf.Store("shared", anyOwner)
	o.ownerOf.Store("mine", 1)
	for _, d := range []ownerDelivery{{"shared", 0}, {"shared", 1}, {"shared", 1}, {"mine", 1}, {"mine", 2}} {
		o.record(d.id, d.client)
	}
	if wrong, dup := o.check(); wrong != 1 || dup != 1 {
		t.Fatalf("wrong %d, dup %d; want 1 and 1", wrong, dup)
	}
}
