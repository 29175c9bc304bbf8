package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"

	"github.com/monobase/monobase/files"
)

// target is a server under test: Monobase, or PocketBase for comparison.
type target interface {
	Name() string
	// SignIn gets a superuser token.
	SignIn(email, password string) error
	// SetS3 stores the files in the bucket of s (on) or on the local disk.
	SetS3(s files.S3Settings, on bool) error
	// Reset drops the bench collection (its files with it) and creates it
	// again with one public FILE field of at most maxSize bytes.
	Reset(maxSize int) error
	// UploadBody returns a create request with content as the file.
	UploadBody(content []byte) (body []byte, contentType string)
	// Upload sends a create request body and returns the file's URL.
	Upload(body []byte, contentType string) (string, error)
}

const collection = "bench_files"

// monobase drives Monobase's GraphQL API.
type monobase struct {
	base, token string
}

func (m *monobase) Name() string { return "monobase" }

func (m *monobase) admin(query string, vars map[string]any, out any) error {
	b, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	return postGQL(m.base+"/graphql/admin", "application/json", b, m.token, out)
}

func (m *monobase) SignIn(email, password string) error {
	var auth struct{ AuthWithPassword struct{ Token string } }
	if err := m.admin(`mutation($e: String!, $p: String!) { authWithPassword(email: $e, password: $p) { token } }`,
		map[string]any{"e": email, "p": password}, &auth); err != nil {
		return fmt.Errorf("monobase sign-in: %w", err)
	}
	m.token = auth.AuthWithPassword.Token
	// All the load comes from 127.0.0.1: switch the rate limit rules off.
	return m.admin(`mutation { updateSettings(input: {rateLimits: {enabled: false}}) { rateLimits { enabled } } }`, nil, nil)
}

func (m *monobase) SetS3(s files.S3Settings, on bool) error {
	return m.admin(`mutation($s: S3SettingsInput!) { updateSettings(input: {s3: $s}) { s3 { enabled } } }`,
		map[string]any{"s": map[string]any{"enabled": on, "bucket": s.Bucket, "region": s.Region, "endpoint": s.Endpoint,
			"accessKey": s.AccessKey, "secret": s.Secret, "forcePathStyle": s.ForcePathStyle}}, nil)
}

func (m *monobase) Reset(maxSize int) error {
	_ = m.admin(`mutation($n: String!) { deleteCollection(idOrName: $n) }`, map[string]any{"n": collection}, nil)
	return m.admin(`mutation($m: Int!) { createCollection(input: {name: "`+collection+`", listRule: "", viewRule: "",
		createRule: "", deleteRule: "", fields: [{name: "file", type: FILE, maxSelect: 1, maxSize: $m}]}) { id } }`,
		map[string]any{"m": maxSize}, nil)
}

func (m *monobase) UploadBody(content []byte) ([]byte, string) {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	_ = w.WriteField("operations", `{"query":"mutation($f: Upload) { createBenchFile(input: {file: $f}) { file { url } } }","variables":{"f":null}}`)
	_ = w.WriteField("map", `{"0":["variables.f"]}`)
	p, _ := w.CreateFormFile("0", "one.bin")
	_, _ = p.Write(content)
	_ = w.Close()
	return body.Bytes(), w.FormDataContentType()
}

func (m *monobase) Upload(body []byte, contentType string) (string, error) {
	var out struct {
		CreateBenchFile struct{ File struct{ URL string } }
	}
	if err := postGQL(m.base+"/graphql", contentType, body, "", &out); err != nil {
		return "", err
	}
	return m.base + out.CreateBenchFile.File.URL, nil
}

// pocketbase drives PocketBase's REST API (v0.23 and later).
type pocketbase struct {
	base, token string
}

func (p *pocketbase) Name() string { return "pocketbase" }

// call sends a JSON request and decodes a 2xx answer into out.
func (p *pocketbase) call(method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, p.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if p.token != "" {
		req.Header.Set("Authorization", p.token)
	}
	return doJSON(req, out)
}

func (p *pocketbase) SignIn(email, password string) error {
	var out struct{ Token string }
	if err := p.call(http.MethodPost, "/api/collections/_superusers/auth-with-password",
		map[string]string{"identity": email, "password": password}, &out); err != nil {
		return fmt.Errorf("pocketbase sign-in: %w", err)
	}
	p.token = out.Token
	return nil
}

func (p *pocketbase) SetS3(s files.S3Settings, on bool) error {
	return p.call(http.MethodPatch, "/api/settings", map[string]any{"s3": map[string]any{"enabled": on, "bucket": s.Bucket,
		"region": s.Region, "endpoint": s.Endpoint, "accessKey": s.AccessKey, "secret": s.Secret, "forcePathStyle": s.ForcePathStyle}}, nil)
}

func (p *pocketbase) Reset(maxSize int) error {
	_ = p.call(http.MethodDelete, "/api/collections/"+collection, nil, nil)
	return p.call(http.MethodPost, "/api/collections", map[string]any{"name": collection, "type": "base",
		"listRule": "", "viewRule": "", "createRule": "", "deleteRule": "",
		"fields": []map[string]any{{"name": "file", "type": "file", "maxSelect": 1, "maxSize": maxSize}}}, nil)
}

func (p *pocketbase) UploadBody(content []byte) ([]byte, string) {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	f, _ := w.CreateFormFile("file", "one.bin")
	_, _ = f.Write(content)
	_ = w.Close()
	return body.Bytes(), w.FormDataContentType()
}

func (p *pocketbase) Upload(body []byte, contentType string) (string, error) {
	req, err := http.NewRequest(http.MethodPost, p.base+"/api/collections/"+collection+"/records", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", contentType)
	var out struct{ ID, CollectionID, File string }
	if err := doJSON(req, &out); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s/api/files/%s/%s/%s", p.base, out.CollectionID, out.ID, out.File), nil
}

// doJSON sends req and decodes a 2xx JSON answer into out (nil: ignored).
func doJSON(req *http.Request, out any) error {
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return err
	}
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: HTTP %d: %.300s", req.Method, req.URL.Path, res.StatusCode, b)
	}
	if out != nil && len(b) > 0 {
		return json.Unmarshal(b, out)
	}
	return nil
}

// postGQL sends a GraphQL request and fails on a non-200 answer or errors.
func postGQL(url, contentType string, body []byte, token string, out any) error {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", contentType)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	var env struct {
		Data   json.RawMessage
		Errors []any
	}
	if err := doJSON(req, &env); err != nil {
		return err
	}
	if len(env.Errors) > 0 {
		return fmt.Errorf("GraphQL errors: %.300v", env.Errors)
	}
	if out != nil {
		return json.Unmarshal(env.Data, out)
	}
	return nil
}
