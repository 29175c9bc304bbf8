package graph_test

import (
	"encoding/json"
	"strings"
	"testing"
)

const opsSettingsQuery = `{ settings { limits { maxDepth maxComplexity maxLimit maxBodySize maxBatch introspection }
  s3 { enabled bucket region endpoint accessKey secretSet forcePathStyle }
  backups { cron maxKeep s3 { enabled secretSet } } } }`

func TestSettingsLimitsS3Backups(t *testing.T) {
	s := newServer(t)
	get := func() string {
		t.Helper()
		var out struct{ Settings json.RawMessage }
		s.mustDo(t, s.rootToken, opsSettingsQuery, nil, &out)
		return string(out.Settings)
	}
	const defaults = `{"limits":{"maxDepth":12,"maxComplexity":5000,"maxLimit":1000,"maxBodySize":33554432,"maxBatch":20,"introspection":true},` +
		`"s3":{"enabled":false,"bucket":"","region":"","endpoint":"","accessKey":"","secretSet":false,"forcePathStyle":false},` +
		`"backups":{"cron":"","maxKeep":3,"s3":{"enabled":false,"secretSet":false}}}`
	if got := get(); got != defaults {
		t.Fatalf("defaults:\n%s\nwant\n%s", got, defaults)
	}
	// Without a Limiter (WithLimits) the group is stored and read back.
	s.mustDo(t, s.rootToken, `mutation { updateSettings(input: {
		limits: {maxDepth: 8, maxBatch: 4, introspection: false},
		s3: {enabled: true, bucket: "b-1", region: "auto", endpoint: "https://s3.example.com", accessKey: "ak", secret: "top-secret-1"},
		backups: {cron: "@daily", maxKeep: 9}}) { limits { maxDepth } } }`, nil, nil)
	got := get()
	for _, want := range []string{`"maxDepth":8`, `"maxBatch":4`, `"maxComplexity":5000`, `"introspection":false`, `"bucket":"b-1"`, `"secretSet":true`, `"cron":"@daily"`, `"maxKeep":9`} {
		if !strings.Contains(got, want) {
			t.Errorf("after the update %s lacks %s", got, want)
		}
	}
	if strings.Contains(got, "top-secret-1") {
		t.Fatal("the s3 secret is in the output")
	}
	t.Run("a refused change saves no group", func(t *testing.T) {
		e := s.mustFail(t, s.rootToken, `mutation { updateSettings(input: {meta: {appName: "Changed"},
			limits: {maxLimit: 0}, backups: {cron: "61 * * * *"}}) { limits { maxLimit } } }`, nil, "BAD_USER_INPUT")
		if e.Extensions.Fields["limits.maxLimit"].Code == "" || e.Extensions.Fields["backups.cron"].Code == "" {
			t.Fatalf("fields %+v", e.Extensions.Fields)
		}
		if after := get(); after != got {
			t.Fatalf("changed:\n%s\nwas\n%s", after, got)
		}
		var meta struct {
			Settings struct{ Meta struct{ AppName string } }
		}
		s.mustDo(t, s.rootToken, `{ settings { meta { appName } } }`, nil, &meta)
		if meta.Settings.Meta.AppName == "Changed" {
			t.Fatal("meta was saved although the update was refused")
		}
	})
	t.Run("superusers only", func(t *testing.T) {
		s.mustFail(t, "", `{ settings { limits { maxDepth } } }`, nil, "UNAUTHENTICATED")
		s.mustFail(t, s.userToken, `{ settings { s3 { bucket } } }`, nil, "FORBIDDEN")
		s.mustFail(t, s.userToken, `mutation { updateSettings(input: {limits: {maxDepth: 3}}) { limits { maxDepth } } }`, nil, "FORBIDDEN")
	})
}
