package abuse

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// uploadAttacks lists the cases of this group (harness_test.go runs them).
func uploadAttacks() []attack {
	return []attack{
		{"upload_html-declared-as-png", htmlAsPNG},
		{"upload_over-the-default-max-size", overDefaultSize},
		{"upload_thumbnails-of-a-huge-16-bit-png", hugePNGThumbs},
	}
}

// uploadCollection creates a public collection name with a FILE field
// "file" (extra options merged in) and returns its id.
func uploadCollection(t *testing.T, s *server, name string, file map[string]any) string {
	t.Helper()
	f := map[string]any{"name": "file", "type": "FILE", "maxSelect": 1}
	for k, v := range file {
		f[k] = v
	}
	r := s.Admin(`mutation($in: CollectionInput!) { createCollection(input: $in) { id } }`, map[string]any{"in": map[string]any{
		"name": name, "listRule": "", "viewRule": "", "createRule": "",
		"fields": []any{map[string]any{"name": "title", "type": "TEXT"}, f},
	}})
	id, _ := r.Field("createCollection", "id").(string)
	if id == "" {
		t.Fatalf("no collection id: %s", r.Body)
	}
	return id
}

// uploadOne creates a record of the collection whose create mutation is
// mutation, with the file f, anonymously.
func uploadOne(s *server, mutation string, f multipartFile) *reply {
	return s.Multipart("", `{"query":"mutation($f: Upload) { `+mutation+`(input: {title: \"t\", file: $f}) { id file { name url } } }","variables":{"f":null}}`,
		map[string][]string{"0": {"variables.f"}}, map[string]multipartFile{"0": f})
}

// assertRefusedField checks a BAD_USER_INPUT naming field with code, and
// that the collection's storage folder holds no file.
func assertRefusedField(t *testing.T, s *server, r *reply, collID, field, code string) {
	t.Helper()
	refused(t, r, http.StatusOK, "BAD_USER_INPUT")
	if len(r.JSON.Errors) > 0 {
		fields, _ := r.JSON.Errors[0].Extensions["fields"].(map[string]any)
		fe, _ := fields[field].(map[string]any)
		if fe["code"] != code {
			t.Errorf("extensions.fields = %v, want %s: %s", fields, field, code)
		}
	}
	_ = filepath.Walk(filepath.Join(s.Dir, "storage", collID), func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			t.Errorf("a refused upload was stored: %s", p)
		}
		return nil
	})
}

func htmlAsPNG(t *testing.T, s *server) {
	id := uploadCollection(t, s, "upload_html", map[string]any{"mimeTypes": []string{"image/png"}})
	r := uploadOne(s, "createUploadHtml", multipartFile{Name: "cat.png", ContentType: "image/png",
		Data: []byte("<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>")})
	assertRefusedField(t, s, r, id, "file", "invalid_mime_type")
}

func overDefaultSize(t *testing.T, s *server) {
	id := uploadCollection(t, s, "upload_sizes", nil)
	r := uploadOne(s, "createUploadSize", multipartFile{Name: "big.bin", ContentType: "application/octet-stream",
		Data: make([]byte, 5<<20+1)}) // PocketBase's default maximum is 5 MiB
	assertRefusedField(t, s, r, id, "file", "file_too_large")
}

// hugePNGThumbs uploads a ~0.5 MB PNG of 7240×7240 16-bit RGBA (420 MB
// decoded) and asks for its thumbnail six times at once: each answer must
// be quick (the original, since the image is over the decode budget) and
// the server's memory must stay bounded.
func hugePNGThumbs(t *testing.T, s *server) {
	uploadCollection(t, s, "upload_thumbs", map[string]any{"thumbs": []string{"100x100"}})
	img := hugePNG(t, 7240, 7240)
	r := uploadOne(s, "createUploadThumb", multipartFile{Name: "huge.png", ContentType: "image/png", Data: img})
	url, _ := r.Field("createUploadThumb", "file", "url").(string)
	if url == "" {
		t.Fatalf("upload failed: %s", tail(r.Body, 512))
	}
	const n = 6
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := http.Client{Timeout: 30 * time.Second}
			start := time.Now()
			res, err := c.Get(s.URL + url + "?thumb=100x100")
			if err != nil {
				errs <- err.Error()
				return
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			switch d := time.Since(start); {
			case d > maxReplyTime:
				errs <- "answered in " + d.String()
			case res.StatusCode != http.StatusOK || !bytes.Equal(body, img):
				errs <- "not the original: status " + res.Status
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	// Once more through the harness's checks (its first bytes: the answer
	// must stay under the harness's size bound).
	req, _ := http.NewRequest(http.MethodGet, s.URL+url+"?thumb=100x100", nil)
	req.Header.Set("Range", "bytes=0-99")
	if r := s.Do(req); r.Status != http.StatusPartialContent || !bytes.Equal(r.Body, img[:100]) {
		t.Errorf("status %d, %d bytes", r.Status, len(r.Body))
	}
	if rss := s.peakRSS(t); rss > maxServerRSS {
		t.Errorf("peak RSS %d MiB, want under %d MiB", rss>>20, maxServerRSS>>20)
	}
}

// hugePNG returns a valid PNG of w×h 16-bit RGBA pixels, all zero: tiny
// once compressed, 8·w·h bytes once decoded.
func hugePNG(t *testing.T, w, h int) []byte {
	var idat bytes.Buffer
	z, err := zlib.NewWriterLevel(&idat, zlib.BestSpeed)
	if err != nil {
		t.Fatal(err)
	}
	row := make([]byte, 1+8*w) // filter byte "none", then the pixels
	for range h {
		_, _ = z.Write(row)
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		_ = binary.Write(&b, binary.BigEndian, uint32(len(data)))
		crc := crc32.NewIEEE()
		crc.Write([]byte(typ))
		crc.Write(data)
		b.WriteString(typ)
		b.Write(data)
		_ = binary.Write(&b, binary.BigEndian, crc.Sum32())
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = 16, 6 // 16 bits per sample, RGBA
	chunk("IHDR", ihdr)
	chunk("IDAT", idat.Bytes())
	chunk("IEND", nil)
	return b.Bytes()
}
