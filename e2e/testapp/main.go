// Command testapp is a Monobase app built on the root package for the
// end-to-end tests (e2e/framework.test.mjs): the same command line as
// monobase, plus custom GraphQL root fields resolved in Go.
package main

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"

	"github.com/monobase/monobase"
)

// note is the result of addNote: a struct read through its json tags.
type note struct {
	ID     int      `json:"id"`
	Text   string   `json:"text"`
	Tags   []string `json:"tags"`
	Secret string   `json:"-"`
}

const sdl = `
extend type Query {
  hello(name: String!): String!
  stats: Stats!
  whoami: String!
  notes(tag: String): [Note!]!
}
extend type Mutation {
  addNote(input: NoteInput!): Note!
}
extend type Subscription {
  countdown(from: Int!): Int!
}
"""Counts kept by the app."""
type Stats { notes: Int! level: Level! latest: String }
enum Level { LOW HIGH }
type Note { id: ID! text: String! tags: [String!]! }
input NoteInput { text: String! tags: [String!] = [] }
`

func main() {
	app := monobase.New(monobase.Config{})
	var mu sync.Mutex
	var notes []note
	app.ExtendSchema(sdl, monobase.Resolvers{
		"Query.hello": func(ctx context.Context, args map[string]any) (any, error) {
			return "hi " + args["name"].(string), nil
		},
		"Query.stats": func(ctx context.Context, args map[string]any) (any, error) {
			mu.Lock()
			defer mu.Unlock()
			level := "LOW"
			if len(notes) > 1 {
				level = "HIGH"
			}
			out := map[string]any{"notes": len(notes), "level": level, "latest": nil}
			if len(notes) > 0 {
				out["latest"] = notes[len(notes)-1].Text
			}
			return out, nil
		},
		"Query.whoami": func(ctx context.Context, args map[string]any) (any, error) {
			switch v := monobase.Viewer(ctx); {
			case monobase.IsSuperuser(ctx):
				return "superuser", nil
			case v != nil:
				return "user " + v.ID(), nil
			}
			return "anonymous", nil
		},
		"Query.notes": func(ctx context.Context, args map[string]any) (any, error) {
			mu.Lock()
			defer mu.Unlock()
			tag, _ := args["tag"].(string)
			out := []note{}
			for _, n := range notes {
				if tag == "" || strings.Contains(strings.Join(n.Tags, ","), tag) {
					out = append(out, n)
				}
			}
			return out, nil
		},
		"Mutation.addNote": func(ctx context.Context, args map[string]any) (any, error) {
			in := args["input"].(map[string]any)
			text := in["text"].(string)
			if strings.TrimSpace(text) == "" {
				return nil, errors.New("text must not be empty")
			}
			n := note{Text: text, Tags: []string{}, Secret: "never sent"}
			for _, t := range in["tags"].([]any) {
				n.Tags = append(n.Tags, t.(string))
			}
			mu.Lock()
			defer mu.Unlock()
			n.ID = len(notes) + 1
			notes = append(notes, n)
			return n, nil
		},
		"Subscription.countdown": func(ctx context.Context, args map[string]any) (any, error) {
			from := args["from"].(int)
			if from < 0 || from > 100 {
				return nil, errors.New("from must be between 0 and 100")
			}
			ch := make(chan int)
			go func() {
				defer close(ch)
				for i := from; i >= 0; i-- {
					select {
					case ch <- i:
					case <-ctx.Done():
						return
					}
				}
			}()
			return (<-chan int)(ch), nil
		},
	})
	if err := app.Start(); err != nil {
		os.Exit(monobase.ExitCode(err))
	}
}
