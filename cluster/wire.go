package cluster

// The wire format of the messages between nodes: JSON, small enough for a
// PostgreSQL NOTIFY payload (8000 bytes) or else replaced by a reference
// to a row of _events (PostgreSQL) or by the record's id (NATS).

import (
	"encoding/json"
	"fmt"

	"github.com/monobase/monobase/db"
)

// The message kinds.
const (
	kindRecord   = "r" // a record change
	kindSchema   = "s" // the collections changed (trigger on _collections)
	kindSettings = "p" // _params changed (trigger on _params)
	kindRef      = "x" // a record change stored in _events (too big to notify)
)

// maxNotify is the most bytes a NOTIFY payload may have (PostgreSQL's
// limit is 8000), with room for the channel's framing.
const maxNotify = 7900

// message is one message between nodes.
type message struct {
	Node   string                     `json:"n,omitempty"` // the sending node (own echoes are ignored)
	Kind   string                     `json:"k"`
	Action db.Action                  `json:"a,omitempty"`
	Coll   string                     `json:"c,omitempty"` // the collection id
	ID     string                     `json:"i,omitempty"` // the record id when Record was left out (re-read it)
	Record map[string]json.RawMessage `json:"r,omitempty"`
	Old    map[string]json.RawMessage `json:"o,omitempty"`
	Ref    int64                      `json:"x,omitempty"` // the _events row of a kindRef
}

// secretFields never leave the database in an event: receivers read the
// auth record again when they need them (token revocation).
var secretFields = []string{"password", "tokenKey"}

// encodeEvent returns the message of ev sent by node.
func encodeEvent(node string, ev db.RecordEvent) ([]byte, error) {
	type out struct {
		Node   string    `json:"n"`
		Kind   string    `json:"k"`
		Action db.Action `json:"a"`
		Coll   string    `json:"c"`
		Record db.Record `json:"r,omitempty"`
		Old    db.Record `json:"o,omitempty"`
	}
	m := out{Node: node, Kind: kindRecord, Action: ev.Action, Coll: ev.Collection.ID,
		Record: withoutSecrets(ev.Collection, ev.Record), Old: withoutSecrets(ev.Collection, ev.Old)}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode the %s event of %s: %w", ev.Action, ev.Collection.Name, err)
	}
	return b, nil
}

// idOnly returns the message of ev without its records: receivers read the
// record again (NATS messages over the server's max payload).
func idOnly(node string, ev db.RecordEvent) []byte {
	b, _ := json.Marshal(message{Node: node, Kind: kindRecord, Action: ev.Action, Coll: ev.Collection.ID, ID: ev.Record.ID()})
	return b
}

// withoutSecrets returns r without the fields of secretFields of an auth
// collection (r itself when there are none).
func withoutSecrets(c *db.Collection, r db.Record) db.Record {
	if r == nil || !c.IsAuth() {
		return r
	}
	out := make(db.Record, len(r))
	for k, v := range r {
		out[k] = v
	}
	for _, k := range secretFields {
		delete(out, k)
	}
	return out
}

// decodeRecord turns the JSON of a record of c back into its canonical Go
// values (db.Record): numbers float64, multiple fields []string, geo
// points db.GeoPoint, JSON fields what encoding/json decodes.
func decodeRecord(c *db.Collection, raw map[string]json.RawMessage) (db.Record, error) {
	if raw == nil {
		return nil, nil
	}
	out := make(db.Record, len(raw))
	for k, v := range raw {
		f := c.FieldByName(k)
		val, err := decodeValue(f, v)
		if err != nil {
			return nil, fmt.Errorf("decode %s.%s: %w", c.Name, k, err)
		}
		out[k] = val
	}
	// Multiple fields are never nil in a db.Record.
	for _, f := range c.Fields {
		if f.Multiple() && out[f.Name] == nil {
			if _, ok := raw[f.Name]; ok {
				out[f.Name] = []string{}
			}
		}
	}
	return out, nil
}

// decodeValue decodes the JSON value of field f (nil: not a field).
func decodeValue(f *db.Field, v json.RawMessage) (any, error) {
	if string(v) == "null" {
		return nil, nil
	}
	var err error
	switch {
	case f == nil || f.Type == db.FieldJSON:
		var x any
		err = json.Unmarshal(v, &x)
		return x, err
	case f.Multiple():
		var x []string
		err = json.Unmarshal(v, &x)
		return x, err
	case f.Type == db.FieldNumber:
		var x float64
		err = json.Unmarshal(v, &x)
		return x, err
	case f.Type == db.FieldBool:
		var x bool
		err = json.Unmarshal(v, &x)
		return x, err
	case f.Type == db.FieldGeoPoint:
		var x db.GeoPoint
		err = json.Unmarshal(v, &x)
		return x, err
	}
	var x string
	err = json.Unmarshal(v, &x)
	return x, err
}
