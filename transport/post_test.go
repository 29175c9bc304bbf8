package transport

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/99designs/gqlgen/graphql"
)

var paramBodies = []string{
	`{"query":"{ posts { id } }"}`,
	`{"query":"query($id: ID!) { post(id: $id) { id } }","variables":{"id":"abc"}}`,
	`  {"query" : "{ a }" , "operationName" : null , "variables" : null , "extensions" : {} }  `,
	`{"query":"query Q { a }\n","operationName":"Q","variables":{"n":1,"f":-1.5e3,"z":0,"b":true,"c":false,"nil":null,"l":[1,"x",[],{}],"o":{"p":{"q":"r"}}}}`,
	`{"query":"tab\there \"quoted\" back\\slash \/ \u00e9 \ud83d\ude00 \u0000"}`,
	`{"query":"é ünïcödé 🚀"}`,
	`{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"abc"}}}`,
	`{}`,
	`{"variables":{"a":1,"a":2}}`,
	// refused by the fast path: encoding/json decides
	`{"Query":"{ a }"}`,
	`{"query":"{ a }","other":1}`,
	`{"query":"{ a }"} trailing`,
	`{"query":1}`,
	`{"variables":[1]}`,
	`{"variables":"x"}`,
	`{"query":"\ud83d"}`,
	`{"query":"bad \x"}`,
	"{\"query\":\"\xff\"}",
	`{"variables":{"n":01}}`,
	`{"variables":{"n":1.}}`,
	`{"variables":{"n":-}}`,
	`{"query":"{ a }",}`,
	`[]`,
	`null`,
	``,
}

func TestDecodeParamsAgreesWithEncodingJSON(t *testing.T) {
	for _, body := range paramBodies {
		t.Run(body, func(t *testing.T) { checkDecodeParams(t, []byte(body)) })
	}
	t.Run("the fast path takes the bodies clients send", func(t *testing.T) {
		for _, body := range paramBodies[:9] {
			if !decodeParams([]byte(body), &graphql.RawParams{}) {
				t.Errorf("%s left to encoding/json", body)
			}
		}
	})
}

func checkDecodeParams(t *testing.T, body []byte) {
	t.Helper()
	var got graphql.RawParams
	if !decodeParams(body, &got) {
		return // encoding/json decides
	}
	var want graphql.RawParams
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&want); err != nil {
		t.Fatalf("decoded %q, which encoding/json refuses: %v", body, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\n got  %#v\n want %#v", body, got, want)
	}
}

func FuzzDecodeParams(f *testing.F) {
	for _, body := range paramBodies {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) { checkDecodeParams(t, body) })
}
