package transport

import (
	"encoding/json"
	"testing"
)

// TestEncodeWSMessage compares appendWSMessage with encoding/json's
// encoding of the same message.
func TestEncodeWSMessage(t *testing.T) {
	tests := []struct {
		name string
		msg  wsMessage
	}{
		{"next with payload and id", wsMessage{Payload: json.RawMessage(`{"data":{"postChanged":{"action":"CREATE"}}}`), ID: "1", Type: "next"}},
		{"ack without payload or id", wsMessage{Type: "connection_ack"}},
		{"an empty payload is left out", wsMessage{Payload: json.RawMessage{}, Type: "ping"}},
		{"an id that needs escaping", wsMessage{ID: `a"b\c<d>é` + "\n", Type: "complete"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := appendWSMessage(nil, tt.msg.Type, tt.msg.ID, tt.msg.Payload)
			want, _ := json.Marshal(tt.msg)
			if string(got) != string(want) {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		})
	}
}
