package oauth

import (
	"bytes"
	"crypto/sha1" //nolint:gosec // go-pkgz/auth's account ids are sha1 hex digests; not a security use
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/go-pkgz/auth/v2/provider"
	"github.com/go-pkgz/auth/v2/token"
)

// User is what a provider says about the account that signed in.
type User struct {
	Provider string // the provider name of the collection, e.g. "google"
	// ID identifies the account at the provider. For go-pkgz/auth's named
	// providers it is the id go-pkgz/auth derives ("google_" + sha1 of
	// the sub), so both flows link the same account; for the others, the
	// user info's sub (or id).
	ID    string
	Email string
	// EmailVerified: the provider vouches that Email belongs to the
	// account (its email_verified flag, or the provider's policy when
	// it has no such flag).
	EmailVerified bool
	Name          string
	Username      string
	AvatarURL     string
	// Raw is the provider's user info JSON (numbers as json.Number); nil
	// in the redirect flow, which never shows it.
	Raw map[string]any
}

// info is a decoded user info JSON document.
type info map[string]any

// decodeInfo decodes a user info document, keeping numbers exact.
func decodeInfo(body []byte) (info, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("the user info is not a JSON object: %w", err)
	}
	if m == nil {
		return nil, fmt.Errorf("the user info is not a JSON object")
	}
	return info(m), nil
}

// at returns the value at a dotted path (no alternatives), or nil.
func (in info) at(path string) any {
	var cur any = map[string]any(in)
	for _, step := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[step]
	}
	return cur
}

// str returns the value at path as a string: dotted steps into objects,
// "|" between alternatives (the first non-empty one wins). Numbers keep
// their JSON text; objects and lists give "".
func (in info) str(path string) string {
	if path == "" {
		return ""
	}
	for _, alt := range strings.Split(path, "|") {
		var s string
		switch v := in.at(alt).(type) {
		case string:
			s = v
		case json.Number:
			s = v.String()
		case float64:
			s = strconv.FormatFloat(v, 'f', -1, 64)
		case bool:
			s = strconv.FormatBool(v)
		}
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}

// userKeys are the paths (see info.str) of a provider's user info fields.
type userKeys struct {
	email, emailVerified, name, username, avatar string
}

// rawID returns the account id at path, as it is.
func rawID(path string) func(info) string {
	return func(in info) string { return in.str(path) }
}

// pkgzID returns the account id go-pkgz/auth gives its provider name:
// name + "_" + the sha1 of the value at path (token.HashID) as its
// UserData.Value prints it (a number through float64 and %v).
func pkgzID(name, path string) func(info) string {
	return func(in info) string {
		v := in.str(path)
		if v == "" {
			return ""
		}
		if _, isNum := in.at(path).(json.Number); isNum {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				v = fmt.Sprintf("%v", f)
			}
		}
		return name + "_" + token.HashID(sha1.New(), v) //nolint:gosec // see the import
	}
}

// githubID is go-pkgz/auth's github id with Params.GithubNumericID: the
// immutable numeric account id ("gid:" + id), else the login.
func githubID(in info) string {
	if id := in.str("id"); id != "" {
		if _, err := strconv.ParseInt(id, 10, 64); err == nil && id != "0" {
			return "github_" + token.HashID(sha1.New(), "gid:"+id) //nolint:gosec // see the import
		}
	}
	return pkgzID("github", "login")(in)
}

// toUser maps the user info in of the provider s named name.
func (s *spec) toUser(name string, in info) User {
	u := User{
		Provider:  name,
		ID:        s.id(in),
		Email:     in.str(s.keys.email),
		Name:      in.str(s.keys.name),
		Username:  in.str(s.keys.username),
		AvatarURL: in.str(s.keys.avatar),
		Raw:       in,
	}
	u.EmailVerified = s.emailVerified(u.Email, in.str(s.keys.emailVerified))
	return u
}

// emailVerified decides whether the provider vouches for email, given its
// verified flag (flag: "" when it has none).
func (s *spec) emailVerified(email, flag string) bool {
	if email == "" {
		return false
	}
	if flag != "" {
		ok, _ := strconv.ParseBool(flag)
		return ok
	}
	return s.emailTrusted
}

// The token.User attributes that carry what go-pkgz/auth's own mapping
// leaves out (UserAttributes for its named providers; set directly by the
// mapping of the others).
const (
	attrEmail         = "monobase_email"
	attrEmailVerified = "monobase_email_verified"
	attrUsername      = "monobase_username"
)

// userAttributes are the go-pkgz/auth Params.UserAttributes that copy the
// top-level user info keys of s into token.User attributes.
func (s *spec) userAttributes() map[string]string {
	out := map[string]string{}
	for key, attr := range map[string]string{s.keys.email: attrEmail, s.keys.emailVerified: attrEmailVerified, s.keys.username: attrUsername} {
		if key != "" && !strings.ContainsAny(key, ".|") {
			out[key] = attr
		}
	}
	return out
}

// fromToken turns the token.User of go-pkgz/auth's redirect flow into a
// User.
func (s *spec) fromToken(name string, tu *token.User) User {
	u := User{Provider: name, ID: tu.ID, Name: tu.Name, AvatarURL: tu.Picture,
		Email: tu.Email, Username: tu.StrAttr(attrUsername)}
	if e := tu.StrAttr(attrEmail); e != "" {
		u.Email = e
	}
	u.Email = strings.TrimSpace(u.Email)
	u.EmailVerified = s.emailVerified(u.Email, tu.StrAttr(attrEmailVerified))
	return u
}

// mapUserFn is the provider.CustomHandlerOpt.MapUserFn of s: it maps the
// raw user info like toUser and carries the result in a token.User.
func (s *spec) mapUserFn(name string) func(provider.UserData, []byte) token.User {
	return func(_ provider.UserData, raw []byte) token.User {
		in, err := decodeInfo(raw)
		if err != nil {
			return token.User{}
		}
		u := s.toUser(name, in)
		tu := token.User{ID: u.ID, Name: u.Name, Picture: u.AvatarURL, Email: u.Email}
		tu.SetStrAttr(attrUsername, u.Username)
		tu.SetStrAttr(attrEmailVerified, strconv.FormatBool(u.EmailVerified))
		return tu
	}
}
