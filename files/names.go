package files

import (
	"crypto/rand"
	"net/url"
	"strings"

	"github.com/monobase/monobase/db"
)

// URL returns the public path of a stored file whatever the storage:
// /files/<collection name>/<recordId>/<name>, with ?thumb=WxH when thumb is
// set and download=1 when download is true.
func URL(c *db.Collection, recordID, name, thumb string, download bool) string {
	u := "/files/" + url.PathEscape(c.Name) + "/" + url.PathEscape(recordID) + "/" + url.PathEscape(name)
	q := url.Values{}
	if thumb != "" {
		q.Set("thumb", thumb)
	}
	if download {
		q.Set("download", "1")
	}
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

const randomAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// randomString returns n characters of [a-z0-9] from crypto/rand.
func randomString(n int) string {
	out := make([]byte, 0, n)
	var buf [32]byte
	for len(out) < n {
		_, _ = rand.Read(buf[:]) // never fails (crypto/rand panics instead)
		for _, b := range buf {
			// 252 = 7*36: reject the tail so every character is equally likely.
			if b < 252 && len(out) < n {
				out = append(out, randomAlphabet[int(b)%len(randomAlphabet)])
			}
		}
	}
	return string(out)
}

// NormalizeName turns an uploaded file's original name into a safe stored
// name: the base lower-cased with every run of characters outside
// [a-z0-9_-] replaced by "_", cut to 100 characters (a random part is added
// when fewer than 3 remain), then "_" and 10 random [a-z0-9] characters,
// then the cleaned extension (or one derived from contentType when the
// name has none): "My Photo.JPG" gives "my_photo_ab12cd34ef.jpg".
func NormalizeName(original, contentType string) string {
	if len(original) > 300 {
		original = original[len(original)-300:]
	}
	// Browsers on Windows may send a full path.
	if i := strings.LastIndexAny(original, `/\`); i >= 0 {
		original = original[i+1:]
	}
	base, ext := splitExt(original)
	ext = cleanExt(ext)
	if ext == "" {
		ext = extensionFor(contentType)
	}

	var b strings.Builder
	underscore := false
	for _, r := range strings.ToLower(base) {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_'
		if !ok {
			underscore = true
			continue
		}
		if underscore && b.Len() > 0 {
			b.WriteByte('_')
		}
		underscore = false
		b.WriteRune(r)
	}
	clean := strings.Trim(b.String(), "_-")
	if len(clean) > 100 {
		clean = strings.TrimRight(clean[:100], "_-")
	}
	if len(clean) < 3 {
		clean += randomString(10)
	}
	return clean + "_" + randomString(10) + ext
}

// splitExt splits a name into base and extension (with its dot). A short
// secondary extension is kept with the primary one ("a.tar.gz" gives ".tar.gz").
func splitExt(name string) (base, ext string) {
	i := strings.LastIndexByte(name, '.')
	if i <= 0 {
		return name, ""
	}
	base, ext = name[:i], name[i:]
	if j := strings.LastIndexByte(base, '.'); j > 0 && len(base)-j <= 4 && isAlnum(base[j+1:]) && !isDigits(base[j+1:]) {
		base, ext = base[:j], base[j:]+ext
	}
	return base, ext
}

func isAlnum(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// cleanExt lower-cases ext and keeps only [a-z0-9] and inner dots; it
// returns "" when nothing usable is left and keeps at most 20 characters.
func cleanExt(ext string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(ext) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' {
			b.WriteRune(r)
		}
	}
	parts := strings.FieldsFunc(b.String(), func(r rune) bool { return r == '.' })
	out := ""
	if len(parts) > 0 {
		out = "." + strings.Join(parts, ".")
	}
	if len(out) > 20 {
		out = "." + strings.Trim(out[len(out)-20:], ".")
	}
	if out == "." {
		return ""
	}
	return out
}
