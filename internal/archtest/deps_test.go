package archtest

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// root is the module root, relative to this package's folder.
var root = filepath.Join("..", "..")

// belowEngine are the package patterns that must know no GraphQL. A folder
// that does not exist yet is skipped with a note.
var belowEngine = []string{
	"./db/...", "./access/...", "./auth/...", "./files/...",
	"./subscriptions/...", "./ratelimit/...", "./apperr/...",
	"./backup/...", "./cron/...", "./cors/...", "./metrics/...", "./logs/...",
	"./hook/...", "./migrate/...",
}

// graphQLModules are the import path prefixes of the GraphQL libraries.
var graphQLModules = []string{"github.com/99designs/gqlgen", "github.com/vektah/gqlparser"}

// depsOf returns, for each package matched by patterns, its transitive
// (non-test) dependencies, from one `go list` run; it fails t when go list
// fails.
func depsOf(t *testing.T, patterns ...string) map[string][]string {
	t.Helper()
	args := append([]string{"list", "-f", `{{.ImportPath}} {{join .Deps " "}}`}, patterns...)
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	deps := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) > 0 {
			deps[f[0]] = f[1:]
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read go list output: %v", err)
	}
	return deps
}

// graphQLDeps returns the dependencies in deps that are GraphQL packages.
func graphQLDeps(deps []string) []string {
	var bad []string
	for _, d := range deps {
		for _, m := range graphQLModules {
			if d == m || strings.HasPrefix(d, m+"/") {
				bad = append(bad, d)
			}
		}
	}
	return bad
}

func TestNoGraphQLBelowTheEngine(t *testing.T) {
	var patterns []string
	for _, p := range belowEngine {
		dir := filepath.Join(root, strings.TrimSuffix(p, "/..."))
		if _, err := os.Stat(dir); os.IsNotExist(err) {
			t.Logf("%s does not exist yet: not checked", p)
			continue
		}
		patterns = append(patterns, p)
	}
	deps := depsOf(t, patterns...)
	if len(deps) < len(patterns) {
		t.Fatalf("go list matched %d packages for %d patterns: %v", len(deps), len(patterns), patterns)
	}
	for pkg, d := range deps {
		if bad := graphQLDeps(d); len(bad) > 0 {
			t.Errorf("%s depends on GraphQL packages %v: move the GraphQL part up to the engine", pkg, bad)
		}
	}
}

// The check above must be able to fail: the engine does depend on gqlgen.
func TestGraphQLDepsAreSeen(t *testing.T) {
	deps := depsOf(t, "./dynschema")
	if len(deps) != 1 {
		t.Fatalf("go list ./dynschema: %d packages, want 1", len(deps))
	}
	for _, d := range deps {
		if len(graphQLDeps(d)) == 0 {
			t.Fatal("dynschema shows no GraphQL dependency: the dependency check sees nothing")
		}
	}
}
