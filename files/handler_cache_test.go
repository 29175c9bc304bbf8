package files

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestHandlerHTTPCaching(t *testing.T) {
	forEachBackend(t, func(t *testing.T, kind string) {
		fx := newFixture(t, kind)
		srv := fx.server(t)
		ctx := context.Background()
		coverKey := fx.posts.ID + "/" + fx.postID + "/" + fx.cover
		info, err := fx.store.Backend().Stat(ctx, coverKey)
		if err != nil {
			t.Fatal(err)
		}
		size := len(fx.coverBytes)
		first := get(t, srv, fx.postURL(fx.cover))
		etag, lastMod := first.header.Get("ETag"), first.header.Get("Last-Modified")

		t.Run("ETag and Last-Modified are the stored object's", func(t *testing.T) {
			if etag == "" || etag != info.ETag || !strings.HasPrefix(etag, `"`) {
				t.Fatalf("ETag %q, stored %q", etag, info.ETag)
			}
			lm, err := http.ParseTime(lastMod)
			if err != nil || !lm.Equal(info.ModTime.Truncate(time.Second)) {
				t.Fatalf("Last-Modified %q (%v), stored %v", lastMod, err, info.ModTime)
			}
			if first.header.Get("Accept-Ranges") != "bytes" || first.header.Get("Content-Length") != strconv.Itoa(size) {
				t.Fatalf("Accept-Ranges %q, Content-Length %q", first.header.Get("Accept-Ranges"), first.header.Get("Content-Length"))
			}
		})
		t.Run("If-None-Match with the ETag is 304 without a body", func(t *testing.T) {
			r := get(t, srv, fx.postURL(fx.cover), "If-None-Match", `"other", `+etag)
			if r.status != http.StatusNotModified || len(r.body) != 0 || r.header.Get("ETag") != etag {
				t.Fatalf("status %d, %d bytes, ETag %q", r.status, len(r.body), r.header.Get("ETag"))
			}
			if r := get(t, srv, fx.postURL(fx.cover), "If-None-Match", `"other"`); r.status != 200 {
				t.Fatalf("another ETag: status %d", r.status)
			}
		})
		t.Run("If-Modified-Since the Last-Modified is 304, an earlier date is 200", func(t *testing.T) {
			if r := get(t, srv, fx.postURL(fx.cover), "If-Modified-Since", lastMod); r.status != http.StatusNotModified {
				t.Fatalf("status %d", r.status)
			}
			earlier := info.ModTime.Add(-time.Hour).UTC().Format(http.TimeFormat)
			if r := get(t, srv, fx.postURL(fx.cover), "If-Modified-Since", earlier); r.status != 200 || !bytes.Equal(r.body, fx.coverBytes) {
				t.Fatalf("earlier: status %d", r.status)
			}
		})
		t.Run("ranges", func(t *testing.T) {
			for _, tt := range []struct{ header, want string }{
				{"bytes=1-3", "1-3"},
				{"bytes=-4", fmt.Sprintf("%d-%d", size-4, size-1)},
				{fmt.Sprintf("bytes=%d-", size-2), fmt.Sprintf("%d-%d", size-2, size-1)},
				{"bytes=10-999999", fmt.Sprintf("10-%d", size-1)},
			} {
				r := get(t, srv, fx.postURL(fx.cover), "Range", tt.header)
				var a, b int
				fmt.Sscanf(tt.want, "%d-%d", &a, &b)
				if r.status != http.StatusPartialContent || r.header.Get("Content-Range") != fmt.Sprintf("bytes %s/%d", tt.want, size) ||
					!bytes.Equal(r.body, fx.coverBytes[a:b+1]) {
					t.Fatalf("%s: status %d, Content-Range %q, %d bytes", tt.header, r.status, r.header.Get("Content-Range"), len(r.body))
				}
			}
		})
		t.Run("several ranges, a range past the end and a malformed one are 416", func(t *testing.T) {
			for _, h := range []string{"bytes=0-1,3-4", "bytes=0-1, 0-1", fmt.Sprintf("bytes=%d-", size), "bytes=abc", "bytes=5-2"} {
				r := get(t, srv, fx.postURL(fx.cover), "Range", h)
				if r.status != http.StatusRequestedRangeNotSatisfiable || bytes.Contains(r.body, fx.coverBytes[:8]) {
					t.Fatalf("%s: status %d, body %q", h, r.status, r.body)
				}
			}
			r := get(t, srv, fx.postURL(fx.cover), "Range", "bytes=0-1,3-4")
			if r.header.Get("Content-Range") != fmt.Sprintf("bytes */%d", size) {
				t.Fatalf("Content-Range %q", r.header.Get("Content-Range"))
			}
		})
		t.Run("preconditions come before ranges", func(t *testing.T) {
			if r := get(t, srv, fx.postURL(fx.cover), "Range", "bytes=0-1,3-4", "If-None-Match", etag); r.status != http.StatusNotModified {
				t.Fatalf("several ranges, matching ETag: status %d", r.status)
			}
			// A stale If-Range asks for the whole file, whatever the ranges.
			r := get(t, srv, fx.postURL(fx.cover), "Range", "bytes=0-1,3-4", "If-Range", `"stale"`)
			if r.status != 200 || !bytes.Equal(r.body, fx.coverBytes) {
				t.Fatalf("stale If-Range: status %d, %d bytes", r.status, len(r.body))
			}
			r = get(t, srv, fx.postURL(fx.cover), "Range", "bytes=1-3", "If-Range", etag)
			if r.status != http.StatusPartialContent || !bytes.Equal(r.body, fx.coverBytes[1:4]) {
				t.Fatalf("current If-Range: status %d", r.status)
			}
		})
		t.Run("HEAD has the validators and the length, no body", func(t *testing.T) {
			r := do(t, http.MethodHead, srv.URL+fx.postURL(fx.cover))
			if r.status != 200 || len(r.body) != 0 || r.header.Get("ETag") != etag || r.header.Get("Last-Modified") != lastMod ||
				r.header.Get("Content-Length") != strconv.Itoa(size) {
				t.Fatalf("status %d, %d bytes, headers %v", r.status, len(r.body), r.header)
			}
			if r := do(t, http.MethodHead, srv.URL+fx.postURL(fx.cover), "If-None-Match", etag); r.status != http.StatusNotModified {
				t.Fatalf("conditional HEAD: status %d", r.status)
			}
		})
		t.Run("Cache-Control is public only for a public rule's plain files", func(t *testing.T) {
			public := "public, max-age=2592000, stale-while-revalidate=86400"
			private := "private, max-age=2592000, stale-while-revalidate=86400"
			for _, tt := range []struct {
				scenario, path string
				header         []string
				want           string
			}{
				{"a public rule", fx.postURL(fx.cover), nil, public},
				{"a public rule's thumbnail", fx.store.URL(fx.posts, fx.postID, fx.cover, "100x100", false), nil, public},
				{"a protected field, with a file token", fx.postURL(fx.secret) + "?token=" + fx.ownerToken, nil, private},
				{"a view rule that is not public", fx.noteURL(fx.doc), []string{"Authorization", "Bearer " + fx.ownerToken}, private},
				{"a hidden field", fx.noteURL(fx.hidden), []string{"Authorization", "Bearer " + fx.superToken}, private},
			} {
				r := get(t, srv, tt.path, tt.header...)
				if r.status != 200 || r.header.Get("Cache-Control") != tt.want {
					t.Fatalf("%s: status %d, Cache-Control %q, want %q", tt.scenario, r.status, r.header.Get("Cache-Control"), tt.want)
				}
				if vary := r.header.Get("Vary"); (tt.want == private) != strings.Contains(vary, "Authorization") {
					t.Fatalf("%s: Vary %q", tt.scenario, vary)
				}
			}
			fx := newFixture(t, kind)
			fx.closeViews(t)
			r := get(t, fx.server(t), fx.postURL(fx.cover), "Authorization", "Bearer "+fx.superToken)
			if r.status != 200 || r.header.Get("Cache-Control") != private {
				t.Fatalf("a superusers-only rule: status %d, Cache-Control %q", r.status, r.header.Get("Cache-Control"))
			}
		})
		t.Run("a thumbnail has its own validators", func(t *testing.T) {
			url := fx.store.URL(fx.posts, fx.postID, fx.cover, "50x25", false)
			r := get(t, srv, url)
			tinfo, err := fx.store.Backend().Stat(ctx, thumbKey(coverKey, "50x25"))
			if err != nil {
				t.Fatal(err)
			}
			tetag := r.header.Get("ETag")
			if r.status != 200 || tetag == "" || tetag == etag || tetag != tinfo.ETag {
				t.Fatalf("status %d, thumb ETag %q, stored %q, original %q", r.status, tetag, tinfo.ETag, etag)
			}
			if lm, err := http.ParseTime(r.header.Get("Last-Modified")); err != nil || !lm.Equal(tinfo.ModTime.Truncate(time.Second)) {
				t.Fatalf("thumb Last-Modified %q, stored %v", r.header.Get("Last-Modified"), tinfo.ModTime)
			}
			if r := get(t, srv, url, "If-None-Match", tetag); r.status != http.StatusNotModified {
				t.Fatalf("thumb with its ETag: status %d", r.status)
			}
			if r := get(t, srv, url, "If-None-Match", etag); r.status != 200 {
				t.Fatalf("thumb with the original's ETag: status %d", r.status)
			}
			if r := get(t, srv, fx.postURL(fx.cover), "If-None-Match", tetag); r.status != 200 {
				t.Fatalf("original with the thumb's ETag: status %d", r.status)
			}
			if r := get(t, srv, url, "Range", "bytes=0-3"); r.status != http.StatusPartialContent || string(r.body) != "\x89PNG" {
				t.Fatalf("thumb range: status %d, body %q", r.status, r.body)
			}
		})
	})
}
