package dynschema

import (
	"encoding/json"
	"math"
	"strconv"

	"github.com/monobase/monobase/internal/jsonstr"
)

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte { return jsonstr.AppendString(b, s) }

// appendKey appends "key": .
func appendKey(b []byte, k string) []byte {
	b = appendString(b, k)
	return append(b, ':')
}

// jsonKey returns "key": as a string, for keys written many times.
func jsonKey(k string) string { return string(appendKey(make([]byte, 0, len(k)+3), k)) }

// appendFloat appends f as JSON (null for NaN and infinities), formatted
// like encoding/json.
func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	abs := math.Abs(f)
	fmt := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		fmt = 'e'
	}
	b = strconv.AppendFloat(b, f, fmt, -1, 64)
	if fmt == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// appendJSON appends any JSON-encodable value with encoding/json.
func appendJSON(b []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return appendString(b, v)
	case float64:
		return appendFloat(b, v)
	case bool:
		return strconv.AppendBool(b, v)
	case json.RawMessage:
		if json.Valid(v) {
			return append(b, v...)
		}
		return append(b, "null"...)
	}
	out, err := json.Marshal(v)
	if err != nil {
		return append(b, "null"...)
	}
	return append(b, out...)
}
