package server

import (
	"errors"
	"flag"
	"io"
	"reflect"
	"runtime/debug"
	"strings"
	"testing"
)

func TestCommandLine(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantErr    error // nil: success
		wantStdout string
		wantStderr string
	}{
		{name: "no command prints usage", args: nil, wantErr: errUsage, wantStderr: "Usage:"},
		{name: "help prints usage", args: []string{"help"}, wantStdout: "superuser upsert EMAIL PASSWORD"},
		{name: "-h prints usage", args: []string{"-h"}, wantErr: flag.ErrHelp, wantStderr: "Commands:"},
		{name: "version", args: []string{"version"}, wantStdout: "monobase dev ("},
		{name: "unknown command", args: []string{"launch"}, wantErr: errUsage, wantStderr: `unknown command "launch"`},
		{name: "superuser without action", args: []string{"superuser"}, wantErr: errUsage, wantStderr: "missing action"},
		{name: "superuser upsert without password", args: []string{"superuser", "upsert", "a@b.c"}, wantErr: errUsage, wantStderr: "needs EMAIL and PASSWORD"},
		{name: "superuser unknown action", args: []string{"superuser", "promote", "a@b.c"}, wantErr: errUsage, wantStderr: `unknown action "promote"`},
		{name: "schema import without file", args: []string{"schema", "import"}, wantErr: errUsage, wantStderr: "exactly one FILE"},
		{name: "schema export with --delete-missing", args: []string{"schema", "export", "--delete-missing"}, wantErr: errUsage, wantStderr: "for import"},
		{name: "serve -h", args: []string{"serve", "-h"}, wantErr: flag.ErrHelp, wantStderr: "-http"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, err := runCLI(t, tt.args...)
			if tt.wantErr == nil && err != nil {
				t.Fatalf("err = %v", err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(stdout, tt.wantStdout) {
				t.Errorf("stdout %q lacks %q", stdout, tt.wantStdout)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr %q lacks %q", stderr, tt.wantStderr)
			}
		})
	}
}

func TestParseInterspersed(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantPos []string
		wantDir string
		wantDel bool
	}{
		{name: "flags first", args: []string{"--dir", "d", "import", "f"}, wantPos: []string{"import", "f"}, wantDir: "d"},
		{name: "flags last", args: []string{"import", "f", "--delete-missing", "--dir=d"}, wantPos: []string{"import", "f"}, wantDir: "d", wantDel: true},
		{name: "flags between", args: []string{"import", "--delete-missing", "f"}, wantPos: []string{"import", "f"}, wantDel: true},
		{name: "after -- everything is positional", args: []string{"upsert", "--", "-weird@x", "--dir"}, wantPos: []string{"upsert", "-weird@x", "--dir"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			dir := fs.String("dir", "", "")
			del := fs.Bool("delete-missing", false, "")
			pos, err := parseInterspersed(fs, tt.args)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(pos, tt.wantPos) || *dir != tt.wantDir || *del != tt.wantDel {
				t.Errorf("pos=%v dir=%q del=%v, want %v %q %v", pos, *dir, *del, tt.wantPos, tt.wantDir, tt.wantDel)
			}
		})
	}
}

func TestDisplayHost(t *testing.T) {
	tests := map[string]string{
		"127.0.0.1:8090": "127.0.0.1:8090",
		"[::]:8090":      "127.0.0.1:8090",
		"0.0.0.0:80":     "127.0.0.1:80",
		"localhost:9000": "localhost:9000",
		"[::1]:8090":     "[::1]:8090",
	}
	for in, want := range tests {
		t.Run(in, func(t *testing.T) {
			if got := displayHost(in); got != want {
				t.Errorf("displayHost(%q) = %q, want %q", in, got, want)
			}
		})
	}
}

func TestTuneGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	t.Run("without GOGC the binary collects less often", func(t *testing.T) {
		debug.SetGCPercent(100)
		tuneGC(func(string) string { return "" })
		if got := debug.SetGCPercent(100); got != defaultGCPercent {
			t.Fatalf("GC percent = %d, want %d", got, defaultGCPercent)
		}
	})
	t.Run("GOGC set by the user wins", func(t *testing.T) {
		debug.SetGCPercent(100)
		tuneGC(func(k string) string {
			if k == "GOGC" {
				return "50"
			}
			return ""
		})
		if got := debug.SetGCPercent(100); got != 100 {
			t.Fatalf("GC percent = %d, want it left alone (100)", got)
		}
	})
}
