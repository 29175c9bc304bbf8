package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	auth := []string{"-admin-email", "a@example.com", "-admin-password", "secret-pass"}
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "defaults with credentials", args: auth},
		{name: "loopback IPv4", args: append([]string{"-url", "http://127.0.0.2:9000"}, auth...)},
		{name: "loopback IPv6", args: append([]string{"-url", "http://[::1]:8090"}, auth...)},
		{name: "localhost", args: append([]string{"-url", "http://localhost:8090/"}, auth...)},
		{name: "a private address is refused", args: append([]string{"-url", "http://192.168.1.10:8090"}, auth...), wantErr: "loopback addresses only"},
		{name: "a public name is refused", args: append([]string{"-url", "http://example.com"}, auth...), wantErr: "loopback addresses only"},
		{name: "a name resolving elsewhere is refused", args: append([]string{"-url", "http://127.0.0.1.example.com"}, auth...), wantErr: "loopback addresses only"},
		{name: "credentials are required", args: nil, wantErr: "-admin-email and -admin-password"},
		{name: "unknown scenario", args: append([]string{"-scenarios", "byid,nope"}, auth...), wantErr: `unknown scenario "nope"`},
		{name: "bad clients", args: append([]string{"-clients", "1,x"}, auth...), wantErr: "-clients"},
		{name: "unbounded duration is refused", args: append([]string{"-duration", "1h"}, auth...), wantErr: "-duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseFlags(tt.args)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				if len(cfg.clients) == 0 || len(cfg.scenarios) == 0 || cfg.duration != 5*time.Second {
					t.Errorf("config = %+v", cfg)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}
