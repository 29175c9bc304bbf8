package logs

import (
	"context"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/internal/jsonstr"
)

// entry is what the request path and the slog handler queue: plain
// values, encoded by the writer goroutine.
type entry struct {
	created time.Time
	level   slog.Level

	// A request (record false).
	status           int
	execTime         time.Duration
	method, uri      string
	remoteAddr       string // host:port; "" when addresses are not kept
	userIP           string // "" : the host of remoteAddr
	authColl, authID string // "" : a guest; authID "" : ids are not kept
	opType, opName   string
	errText          string

	// A slog record (record true): its message and attributes (JSON).
	record  bool
	message string
	data    string
}

// Bounds of what one entry keeps.
const (
	maxMessage = 512
	maxURL     = 2048
)

// writer turns entries into rows and writes them in batches. The text of
// a batch's rows (messages and data) is encoded into one buffer and made
// one string at flush, which the rows then slice: no allocation per row.
type writer struct {
	s     *Service
	batch []db.LogEntry
	spans []span // per row of batch: where its message and data are in buf
	buf   []byte
}

// span locates a row's message and data in the writer's buffer.
type span struct{ msg, data [2]int }

func newWriter(s *Service) *writer {
	return &writer{s: s, batch: make([]db.LogEntry, 0, s.cfg.BatchSize),
		spans: make([]span, 0, s.cfg.BatchSize), buf: make([]byte, 0, 256*s.cfg.BatchSize)}
}

// add encodes e into the batch, writing the batch once it is full.
func (w *writer) add(e *entry) {
	var sp span
	sp.msg[0] = len(w.buf)
	if e.record {
		w.buf = append(w.buf, truncate(e.message, maxMessage)...)
		sp.msg[1], sp.data[0] = len(w.buf), len(w.buf)
		w.buf = append(w.buf, e.data...)
	} else {
		w.buf = appendMessage(w.buf, e)
		sp.msg[1], sp.data[0] = len(w.buf), len(w.buf)
		w.buf = appendData(w.buf, e)
	}
	sp.data[1] = len(w.buf)
	w.batch = append(w.batch, db.LogEntry{Created: e.created, Level: int(e.level)})
	w.spans = append(w.spans, sp)
	if len(w.batch) >= w.s.cfg.BatchSize {
		w.flush()
	}
}

// flush writes the batch in one transaction; on failure its entries are
// counted as lost and a warning is logged.
func (w *writer) flush() {
	if len(w.batch) == 0 {
		return
	}
	text := string(w.buf)
	for i, sp := range w.spans {
		w.batch[i].Message = text[sp.msg[0]:sp.msg[1]]
		w.batch[i].Data = text[sp.data[0]:sp.data[1]]
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	err := w.s.store.InsertLogs(ctx, w.batch)
	cancel()
	if err != nil {
		n := w.s.failed.Add(int64(len(w.batch)))
		w.s.warn("request logs: write failed; entries are lost", "err", err, "lost", n)
	}
	clear(w.batch)
	w.batch, w.spans = w.batch[:0], w.spans[:0]
	if cap(w.buf) > 4<<20 {
		w.buf = make([]byte, 0, 256*w.s.cfg.BatchSize) // after a burst of large entries
	}
	w.buf = w.buf[:0]
}

// appendMessage appends a request's message: its method and path.
func appendMessage(b []byte, e *entry) []byte {
	start := len(b)
	path, _, _ := strings.Cut(e.uri, "?")
	b = append(b, e.method...)
	b = append(b, ' ')
	b = append(b, path...)
	if len(b)-start > maxMessage {
		b = b[:start+len(truncate(string(b[start:]), maxMessage))]
	}
	return b
}

// appendData appends a request's data: a JSON object.
func appendData(b []byte, e *entry) []byte {
	b = append(b, `{"method":`...)
	b = appendString(b, e.method)
	b = append(b, `,"url":`...)
	b = appendString(b, truncate(redactQuery(e.uri), maxURL))
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(e.status), 10)
	b = append(b, `,"execTime":`...)
	b = strconv.AppendFloat(b, float64(e.execTime.Microseconds())/1000, 'f', -1, 64)
	if e.remoteAddr != "" {
		host, _, err := net.SplitHostPort(e.remoteAddr)
		if err != nil {
			host = e.remoteAddr
		}
		user := e.userIP
		if user == "" {
			user = host
		}
		b = append(b, `,"remoteIp":`...)
		b = appendString(b, host)
		b = append(b, `,"userIp":`...)
		b = appendString(b, user)
	}
	b = append(b, `,"auth":`...)
	switch {
	case e.authColl == "":
		b = appendString(b, "guest")
	case e.authID == "":
		b = appendString(b, "auth")
	default:
		b = append(b, '"')
		b = appendText(b, e.authColl)
		b = append(b, ':')
		b = appendText(b, e.authID)
		b = append(b, '"')
	}
	if e.opType != "" {
		b = append(b, `,"operation":"`...)
		b = appendText(b, e.opType)
		if e.opName != "" {
			b = append(b, ' ')
			b = appendText(b, e.opName)
		}
		b = append(b, '"')
	}
	if e.errText != "" {
		b = append(b, `,"error":`...)
		b = appendString(b, e.errText)
	}
	return append(b, '}')
}

// redactQuery replaces the values of token parameters (file and backup
// download tokens) in uri's query by "REDACTED".
func redactQuery(uri string) string {
	i := strings.IndexByte(uri, '?')
	if i < 0 || !strings.Contains(uri[i:], "token=") {
		return uri
	}
	parts := strings.Split(uri[i+1:], "&")
	for j, p := range parts {
		if k, _, ok := strings.Cut(p, "="); ok && strings.EqualFold(k, "token") {
			parts[j] = k + "=REDACTED"
		}
	}
	return uri[:i+1] + strings.Join(parts, "&")
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// appendString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte { return jsonstr.AppendString(b, s) }

// appendText appends s escaped for the inside of a JSON string.
func appendText(b []byte, s string) []byte { return jsonstr.AppendText(b, s) }
