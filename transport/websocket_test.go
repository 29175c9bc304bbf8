package transport

import (
	"encoding/json"
	"testing"
)

// wsTestType and wsTestMsg mirror gqlgen's message structs (same fields,
// tags and a TextMarshaler type), to compare appendWSMessage with
// encoding/json.
type wsTestType string

func (t wsTestType) MarshalText() ([]byte, error) { return []byte(t), nil }

type wsTestMsg struct {
	Payload json.RawMessage `json:"payload,omitempty"`
	ID      string          `json:"id,omitempty"`
	Type    wsTestType      `json:"type"`
	noOp    bool
}

func TestEncodeWSMessage(t *testing.T) {
	tests := []struct {
		name string
		msg  any
	}{
		{"next with payload and id", &wsTestMsg{Payload: json.RawMessage(`{"data":{"postChanged":{"action":"CREATE"}}}`), ID: "1", Type: "next"}},
		{"ack without payload or id", &wsTestMsg{Type: "connection_ack"}},
		{"an empty payload is left out", &wsTestMsg{Payload: json.RawMessage{}, Type: "ping"}},
		{"an id that needs escaping", &wsTestMsg{ID: `a"b\c<d>é`, Type: "complete"}},
		{"another value", map[string]any{"type": "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := appendWSMessage(nil, tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := json.Marshal(tt.msg)
			if string(got) != string(want) {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		})
	}
}

// TestTakeStartIDChecksTheOperation: the id of the last subscribe message
// routes only the operation read from that message, and only once.
func TestTakeStartIDChecksTheOperation(t *testing.T) {
	g := &gorillaConn{startID: "7", startQuery: "subscription { a }", started: true}
	if _, ok := g.takeStartID("subscription { b }"); ok {
		t.Error("another operation's query got the route")
	}
	g = &gorillaConn{startID: "7", startQuery: "subscription { a }", started: true}
	if id, ok := g.takeStartID("subscription { a }"); !ok || id != "7" {
		t.Errorf("got %q %v, want 7", id, ok)
	}
	if _, ok := g.takeStartID("subscription { a }"); ok {
		t.Error("the id was handed out twice")
	}
}
