package graph_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/monobase/monobase/internal/s3test"
)

const testS3Mutation = `mutation($t: S3Target!) { testS3(target: $t) }`

// s3Input is the updateSettings input of an S3 group on endpoint.
func s3Input(endpoint, bucket, secret string) map[string]any {
	return map[string]any{"enabled": true, "bucket": bucket, "region": s3test.Region, "endpoint": endpoint,
		"accessKey": s3test.AccessKey, "secret": secret, "forcePathStyle": true}
}

// closedPort returns the address of a port of 127.0.0.1 that nothing
// listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestTestS3(t *testing.T) {
	srv, err := s3test.Start("files", "backups")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	// An S3 endpoint that refuses every request, as a bucket whose keys
	// lack the rights does.
	denied := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		if r.Method != http.MethodHead {
			_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`))
		}
	}))
	t.Cleanup(denied.Close)

	s := newServer(t)
	const secret = s3test.Secret // the test server checks signatures with it
	set := func(t *testing.T, group string, in map[string]any) {
		t.Helper()
		input := map[string]any{group: in}
		if group == "backups" {
			input = map[string]any{"backups": map[string]any{"s3": in}}
		}
		s.mustDo(t, s.rootToken, `mutation($in: SettingsInput!) { updateSettings(input: $in) { s3 { enabled } } }`,
			map[string]any{"in": input}, nil)
	}
	// fail runs testS3 on target and returns its one BAD_USER_INPUT error,
	// checking that the secret is nowhere in the answer.
	fail := func(t *testing.T, target string) gqlError {
		t.Helper()
		res := s.do(t, s.rootToken, testS3Mutation, map[string]any{"t": target})
		raw, _ := json.Marshal(res)
		if strings.Contains(string(raw), secret) {
			t.Fatalf("the secret is in the answer: %s", raw)
		}
		if len(res.Errors) != 1 || res.Errors[0].Extensions.Code != "BAD_USER_INPUT" {
			t.Fatalf("testS3(%s) = %s, want one BAD_USER_INPUT", target, raw)
		}
		t.Logf("testS3(%s): %s", target, res.Errors[0].Message)
		return res.Errors[0]
	}

	t.Run("settings not enabled are BAD_USER_INPUT on target", func(t *testing.T) {
		for target, want := range map[string]string{"FILES": "settings.s3.enabled", "BACKUPS": "settings.backups.s3.enabled"} {
			e := fail(t, target)
			if e.Extensions.Fields["target"].Code != "disabled" || !strings.Contains(e.Message, "not enabled") || !strings.Contains(e.Message, want) {
				t.Errorf("testS3(%s) = %+v", target, e)
			}
		}
	})
	t.Run("incomplete stored settings name their fields", func(t *testing.T) {
		// Stored by hand: updateSettings refuses them.
		if err := s.db.SetParamJSON(context.Background(), "settings.s3", map[string]any{"enabled": true, "bucket": "files"}); err != nil {
			t.Fatal(err)
		}
		e := fail(t, "FILES")
		if e.Extensions.Fields["s3.endpoint"].Code != "required" || e.Extensions.Fields["s3.secret"].Code != "required" {
			t.Fatalf("fields %+v", e.Extensions.Fields)
		}
	})
	t.Run("a reachable bucket passes, and the test object is gone", func(t *testing.T) {
		set(t, "s3", s3Input(srv.URL, "files", secret))
		set(t, "backups", s3Input(srv.URL, "backups", secret))
		for _, target := range []string{"FILES", "BACKUPS"} {
			var out struct{ TestS3 bool }
			s.mustDo(t, s.rootToken, testS3Mutation, map[string]any{"t": target}, &out)
			if !out.TestS3 {
				t.Fatalf("testS3(%s) = false", target)
			}
		}
		for _, bucket := range []string{"files", "backups"} {
			// minio-go, a client independent of Monobase's, lists what is left.
			set := srv.Settings(bucket)
			u, _ := url.Parse(set.Endpoint)
			mc, err := minio.New(u.Host, &minio.Options{Creds: credentials.NewStaticV4(set.AccessKey, set.Secret, ""),
				Region: set.Region, BucketLookup: minio.BucketLookupPath})
			if err != nil {
				t.Fatal(err)
			}
			var left []string
			for o := range mc.ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Recursive: true}) {
				if o.Err != nil {
					t.Fatal(o.Err)
				}
				left = append(left, o.Key)
			}
			if len(left) != 0 {
				t.Fatalf("left in %s: %v", bucket, left)
			}
		}
	})
	t.Run("a missing bucket says so", func(t *testing.T) {
		set(t, "backups", s3Input(srv.URL, "no-such-bucket", secret))
		e := fail(t, "BACKUPS")
		if !strings.Contains(e.Message, `bucket "no-such-bucket" does not exist`) || !strings.Contains(e.Message, "backups") {
			t.Fatalf("message %q", e.Message)
		}
		// The other target is unaffected.
		s.mustDo(t, s.rootToken, testS3Mutation, map[string]any{"t": "FILES"}, nil)
	})
	t.Run("an unreachable endpoint says it cannot be reached", func(t *testing.T) {
		set(t, "s3", s3Input("http://"+closedPort(t), "files", secret))
		e := fail(t, "FILES")
		if !strings.Contains(e.Message, `reach bucket "files"`) || !strings.Contains(e.Message, "connection refused") {
			t.Fatalf("message %q", e.Message)
		}
	})
	t.Run("access denied says so", func(t *testing.T) {
		set(t, "s3", s3Input(denied.URL, "files", secret))
		e := fail(t, "FILES")
		if !strings.Contains(e.Message, "Access Denied") {
			t.Fatalf("message %q", e.Message)
		}
	})
	t.Run("superusers only", func(t *testing.T) {
		s.mustFail(t, "", testS3Mutation, map[string]any{"t": "FILES"}, "UNAUTHENTICATED")
		s.mustFail(t, s.userToken, testS3Mutation, map[string]any{"t": "FILES"}, "FORBIDDEN")
	})
	t.Run("an unknown target is refused by the schema", func(t *testing.T) {
		res := s.do(t, s.rootToken, testS3Mutation, map[string]any{"t": "OTHER"})
		if len(res.Errors) == 0 {
			t.Fatal("testS3(OTHER) passed")
		}
	})
}
