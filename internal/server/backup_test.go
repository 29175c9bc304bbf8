package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// backupServer is a server with a superuser and an open collection
// "notes" (title TEXT, doc FILE).
type backupServer struct {
	srv   *ServeCommand
	dir   string
	base  string
	admin string // the superuser's token
}

func newBackupServer(t *testing.T) *backupServer {
	t.Helper()
	dir := t.TempDir()
	mustCLI(t, "--dir", dir, "superuser", "upsert", "admin@example.com", "admin-password")
	srv, _ := startServer(t, dir)
	s := &backupServer{srv: srv, dir: dir, base: srv.URL()}
	s.admin = signIn(t, s.base, "admin@example.com", "admin-password")
	mustGQL(t, s.base+"/graphql/admin", s.admin, `mutation { createCollection(input: {name: "notes",
		listRule: "", viewRule: "", createRule: "", updateRule: "", deleteRule: "",
		fields: [{name: "title", type: TEXT}, {name: "doc", type: FILE, maxSelect: 1}]}) { id } }`, nil)
	return s
}

func (s *backupServer) adminGQL(t *testing.T, query string, vars map[string]any) *gqlResponse {
	t.Helper()
	return gql(t, s.base+"/graphql/admin", s.admin, query, vars)
}

// titles returns every note's title.
func (s *backupServer) titles(t *testing.T) map[string]bool {
	t.Helper()
	data := mustGQL(t, s.base+"/graphql", "", `{ notes(limit: 1000) { title } }`, nil)
	out := map[string]bool{}
	for _, n := range data["notes"].([]any) {
		title, _ := n.(map[string]any)["title"].(string)
		if out[title] {
			t.Fatalf("title %q twice", title)
		}
		out[title] = true
	}
	return out
}

// postMultipart sends a GraphQL multipart request with one file in the
// variable fileVar and returns the status and body.
func postMultipart(t *testing.T, url, token, query string, vars map[string]any, fileVar, filename string, content []byte) (int, []byte) {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	ops, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	_ = w.WriteField("operations", string(ops))
	_ = w.WriteField("map", `{"0": ["variables.`+fileVar+`"]}`)
	part, _ := w.CreateFormFile("0", filename)
	_, _ = part.Write(content)
	_ = w.Close()
	req, _ := http.NewRequest(http.MethodPost, url, &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res.StatusCode, raw
}

func httpGet(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, b
}

func TestBackupUnderWriteLoadRestores(t *testing.T) {
	s := newBackupServer(t)

	// A note with a file, before the backup.
	status, raw := postMultipart(t, s.base+"/graphql", "",
		`mutation($f: Upload) { createNote(input: {title: "with file", doc: $f}) { id doc { url } } }`,
		map[string]any{"f": nil}, "f", "report.txt", []byte("the report, before the backup"))
	var created struct {
		Data struct {
			CreateNote struct {
				ID  string
				Doc struct{ URL string }
			}
		}
	}
	if err := json.Unmarshal(raw, &created); err != nil || created.Data.CreateNote.Doc.URL == "" {
		t.Fatalf("upload: %d %s", status, raw)
	}
	fileURL := s.base + created.Data.CreateNote.Doc.URL

	// The write load: notes created one after another through the
	// application API. committed holds the titles whose create returned;
	// late those sent after createBackup returned.
	var (
		mu          sync.Mutex
		committed   []string
		late        []string
		backupDone  atomic.Bool
		stop        = make(chan struct{})
		writerEnded = make(chan struct{})
	)
	go func() {
		defer close(writerEnded)
		client := &http.Client{Timeout: 10 * time.Second}
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			title := fmt.Sprintf("load-%04d", i)
			after := backupDone.Load()
			body, _ := json.Marshal(map[string]any{"query": `mutation($t: String) { createNote(input: {title: $t}) { id } }`,
				"variables": map[string]any{"t": title}})
			res, err := client.Post(s.base+"/graphql", "application/json", bytes.NewReader(body))
			if err != nil {
				continue
			}
			raw, _ := io.ReadAll(res.Body)
			res.Body.Close()
			ok := res.StatusCode == 200 && !bytes.Contains(raw, []byte(`"errors"`))
			mu.Lock()
			if ok {
				committed = append(committed, title)
			}
			if after {
				late = append(late, title)
			}
			n := len(late)
			mu.Unlock()
			if n >= 20 {
				return
			}
		}
	}()
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(committed) }
	for deadline := time.Now().Add(10 * time.Second); count() < 30; {
		if time.Now().After(deadline) {
			t.Fatal("the write load did not get going")
		}
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	before := append([]string(nil), committed...)
	mu.Unlock()
	data := mustGQL(t, s.base+"/graphql/admin", s.admin, `mutation { createBackup(name: "load.zip") { name size modified } }`, nil)
	backupDone.Store(true)
	select {
	case <-writerEnded:
	case <-time.After(20 * time.Second):
		close(stop)
		<-writerEnded
	}
	b := data["createBackup"].(map[string]any)
	if b["name"] != "load.zip" || b["size"].(float64) <= 0 {
		t.Fatalf("createBackup = %v", b)
	}
	if len(late) == 0 {
		t.Fatal("no write after the backup")
	}

	// Changes after the backup: the file's note deleted, a collection
	// added. A subscriber is connected.
	mustGQL(t, s.base+"/graphql", "", `mutation($id: ID!) { deleteNote(id: $id) { id } }`, map[string]any{"id": created.Data.CreateNote.ID})
	if res, _ := httpGet(t, fileURL); res.StatusCode != http.StatusNotFound {
		t.Fatalf("file after its note was deleted: %d", res.StatusCode)
	}
	mustGQL(t, s.base+"/graphql/admin", s.admin, `mutation { createCollection(input: {name: "late", listRule: "",
		fields: [{name: "x", type: TEXT}]}) { id } }`, nil)
	conn := dialGraphQLWS(t, s.srv.Addr())
	if err := conn.WriteJSON(map[string]any{"type": "connection_init", "payload": map[string]any{}}); err != nil {
		t.Fatal(err)
	}
	var ack struct{ Type string }
	if err := conn.ReadJSON(&ack); err != nil || ack.Type != "connection_ack" {
		t.Fatalf("ack: %v %q", err, ack.Type)
	}
	_ = conn.WriteJSON(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{
		"query": "subscription { noteChanged { action } }"}})

	// Requests sent while the restore runs wait at the gate or finish
	// before the swap: none fails.
	var during struct {
		sync.Mutex
		ok     int
		failed []string
	}
	restoring := make(chan struct{})
	duringEnded := make(chan struct{})
	go func() {
		defer close(duringEnded)
		for i := 0; ; i++ {
			select {
			case <-restoring:
				return
			default:
			}
			body, _ := json.Marshal(map[string]any{"query": `mutation($t: String) { createNote(input: {title: $t}) { id } }`,
				"variables": map[string]any{"t": fmt.Sprintf("during-%d", i)}})
			res, err := http.Post(s.base+"/graphql", "application/json", bytes.NewReader(body))
			var raw []byte
			if err == nil {
				raw, _ = io.ReadAll(res.Body)
				res.Body.Close()
			}
			during.Lock()
			if err != nil || res.StatusCode != 200 || bytes.Contains(raw, []byte(`"errors"`)) {
				during.failed = append(during.failed, fmt.Sprintf("%v %s", err, raw))
			} else {
				during.ok++
			}
			during.Unlock()
		}
	}()
	data = mustGQL(t, s.base+"/graphql/admin", s.admin, `mutation { restoreBackup(name: "load.zip") }`, nil)
	close(restoring)
	<-duringEnded
	if data["restoreBackup"] != true {
		t.Fatalf("restoreBackup = %v", data)
	}
	t.Run("requests during the restore do not fail", func(t *testing.T) {
		if len(during.failed) > 0 || during.ok == 0 {
			t.Fatalf("%d succeeded, failed: %v", during.ok, during.failed)
		}
	})

	t.Run("open sockets end with 1001", func(t *testing.T) {
		for {
			_, _, err := conn.ReadMessage()
			if err == nil {
				continue
			}
			if !websocket.IsCloseError(err, websocket.CloseGoingAway) {
				t.Fatalf("socket ended with %v, want close 1001", err)
			}
			return
		}
	})
	t.Run("every note committed before the backup is there, none sent after it", func(t *testing.T) {
		got := s.titles(t)
		for _, title := range before {
			if !got[title] {
				t.Errorf("note %q committed before the backup is missing", title)
			}
		}
		for _, title := range late {
			if got[title] {
				t.Errorf("note %q sent after the backup is there", title)
			}
		}
		for title := range got {
			if title != "with file" && !strings.HasPrefix(title, "load-") && !strings.HasPrefix(title, "during-") {
				t.Errorf("unexpected note %q", title)
			}
		}
		if !got["with file"] {
			t.Error("the note with a file is missing")
		}
		t.Logf("%d notes committed before the backup, %d restored, %d sent after it", len(before), len(got), len(late))
	})
	t.Run("the database passes PRAGMA integrity_check", func(t *testing.T) {
		checkDataFile(t, s.dir)
	})
	t.Run("the file matches its record again", func(t *testing.T) {
		res, body := httpGet(t, fileURL)
		if res.StatusCode != 200 || string(body) != "the report, before the backup" {
			t.Fatalf("GET file: %d %q", res.StatusCode, body)
		}
	})
	t.Run("the schema was reloaded from the restored data", func(t *testing.T) {
		if names := collectionNames(t, s.base, s.admin); contains(names, "late") || !contains(names, "notes") {
			t.Fatalf("collections = %v", names)
		}
		r := gql(t, s.base+"/graphql", "", `{ lates { id } }`, nil)
		if r.errCode() != "GRAPHQL_VALIDATION_FAILED" {
			t.Fatalf("query of a collection made after the backup: %+v", r.Errors)
		}
	})
	t.Run("writes go on after the restore", func(t *testing.T) {
		mustGQL(t, s.base+"/graphql", "", `mutation { createNote(input: {title: "after restore"}) { id } }`, nil)
		if !s.titles(t)["after restore"] {
			t.Fatal("the new note is missing")
		}
	})
}
