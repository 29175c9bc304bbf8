package files

import (
	"bytes"
	"image/color"
	"io"
	"strings"
	"testing"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/db"
)

func TestDetectContentType(t *testing.T) {
	img := encodePNG(t, halves(4, 4, red, blue, false))
	tests := []struct {
		scenario string
		head     []byte
		name     string
		want     string
	}{
		{"a PNG is a PNG whatever its name", img, "x.txt", "image/png"},
		{"HTML named .png stays HTML", []byte("<!DOCTYPE html><script>alert(1)</script>"), "x.png", "text/html"},
		{"SVG is known by its extension", []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>`), "x.svg", "image/svg+xml"},
		{"JSON text by extension", []byte(`{"a":1}`), "data.json", "application/json"},
		{"text claiming a binary type stays text", []byte("just text"), "x.exe", "text/plain"},
		{"unknown binary without extension", []byte{0, 1, 2, 3, 0xfe}, "blob", "application/octet-stream"},
		{"a zip named .png stays a zip", []byte("PK\x03\x04\x14\x00\x00\x00"), "x.png", "application/zip"},
		{"a zip named .docx is a Word file", []byte("PK\x03\x04\x14\x00\x00\x00"), "x.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
		{"binary named .svg stays binary", []byte{0, 1, 2, 3, 0xfe}, "x.svg", "application/octet-stream"},
		{"binary named .jpg stays binary", []byte{0, 1, 2, 3, 0xfe}, "x.jpg", "application/octet-stream"},
		{"webp is sniffed", solidWebP(2, 2, color.NRGBA(red)), "x", "image/webp"},
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			if got := detectContentType(tt.head, tt.name); got != tt.want {
				t.Fatalf("detectContentType = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCheckUpload(t *testing.T) {
	png := encodePNG(t, halves(8, 8, red, blue, false))
	html := []byte("<html><body>hi</body></html>")
	big := bytes.Repeat([]byte("a"), int(DefaultMaxSize)+1)
	tests := []struct {
		scenario string
		field    db.Field
		name     string
		content  []byte
		size     int64 // declared; -1 means the real size
		code     string
	}{
		{"a small file with no limits passes", db.Field{Name: "doc"}, "a.txt", []byte("hi"), -1, ""},
		{"over the default 5 MiB fails", db.Field{Name: "doc"}, "a.txt", big, -1, "file_too_large"},
		{"over maxSize fails", db.Field{Name: "doc", MaxSize: 10}, "a.txt", []byte("01234567890"), -1, "file_too_large"},
		{"exactly maxSize passes", db.Field{Name: "doc", MaxSize: 10}, "a.txt", []byte("0123456789"), -1, ""},
		{"a declared size smaller than the content is not trusted", db.Field{Name: "doc", MaxSize: 10}, "a.txt", []byte("01234567890"), 1, "file_too_large"},
		{"an allowed type passes", db.Field{Name: "img", MimeTypes: []string{"image/png"}}, "a.png", png, -1, ""},
		{"a wildcard type passes", db.Field{Name: "img", MimeTypes: []string{"image/*"}}, "a.png", png, -1, ""},
		{"an alias spelling passes", db.Field{Name: "img", MimeTypes: []string{"image/jpg"}}, "a.jpg", encodeJPEG(t, halves(8, 8, red, blue, false)), -1, ""},
		{"HTML disguised as PNG fails", db.Field{Name: "img", MimeTypes: []string{"image/png"}}, "a.png", html, -1, "invalid_mime_type"},
		{"a type not listed fails", db.Field{Name: "img", MimeTypes: []string{"image/jpeg", "image/gif"}}, "a.png", png, -1, "invalid_mime_type"},
		{"SVG matches image/svg+xml", db.Field{Name: "img", MimeTypes: []string{"image/svg+xml"}}, "logo.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"></svg>`), -1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			up := upload(tt.name, tt.content)
			if tt.size >= 0 {
				up.Size = tt.size
			}
			err := CheckUpload(&tt.field, up)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
			} else {
				e := apperr.As(err)
				if e == nil || e.Code != apperr.Invalid {
					t.Fatalf("err = %v, want BAD_USER_INPUT", err)
				}
				fe, ok := e.Fields[tt.field.Name]
				if !ok || fe.Code != tt.code || !strings.Contains(fe.Message, tt.name) {
					t.Fatalf("fields = %+v, want %s on %s naming the file", e.Fields, tt.code, tt.field.Name)
				}
			}
			// The upload is rewound for the caller.
			got, _ := io.ReadAll(up.File)
			if !bytes.Equal(got, tt.content) {
				t.Fatalf("upload not rewound: read %d bytes of %d", len(got), len(tt.content))
			}
		})
	}
}
