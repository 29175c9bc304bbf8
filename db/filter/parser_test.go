package filter

import (
	"reflect"
	"strings"
	"testing"

	"github.com/monobase/monobase/apperr"
)

func TestParsePrintsBack(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"equality", "title = 'abc'", "title = 'abc'"},
		{"double quotes become single", `title = "abc"`, "title = 'abc'"},
		{"escapes", `title = 'it\'s \\ \"x\" \n\t' || title = "say \"hi\""`, `title = 'it\'s \\ "x" \n\t' || title = 'say "hi"'`},
		{"unknown escapes are kept", `title ~ '50\%'`, `title ~ '50\\%'`},
		{"every operator", "a = 1 && a != 1 && a > 1 && a >= 1 && a < 1 && a <= 1 && a ~ 'x' && a !~ 'x'",
			"a = 1 && a != 1 && a > 1 && a >= 1 && a < 1 && a <= 1 && a ~ 'x' && a !~ 'x'"},
		{"every any-of operator", "a ?= 1 && a ?!= 1 && a ?> 1 && a ?>= 1 && a ?< 1 && a ?<= 1 && a ?~ 'x' && a ?!~ 'x'",
			"a ?= 1 && a ?!= 1 && a ?> 1 && a ?>= 1 && a ?< 1 && a ?<= 1 && a ?~ 'x' && a ?!~ 'x'"},
		{"no spaces", "a>=-1&&b!='x'||c?!~\"y\"", "(a >= -1 && b != 'x') || c ?!~ 'y'"},
		{"and binds tighter", "a = 1 || b = 2 && c = 3", "a = 1 || (b = 2 && c = 3)"},
		{"parentheses", "(a = 1 || b = 2) && c = 3", "(a = 1 || b = 2) && c = 3"},
		{"redundant parentheses", "((a = 1))", "a = 1"},
		{"numbers", "a = 12 && b = -3.25 && c = 0.5 && d = 007", "a = 12 && b = -3.25 && c = 0.5 && d = 7"},
		{"keywords", "a = true && b = FALSE && c != null && d = Null", "a = true && b = false && c != null && d = null"},
		{"literal on the left", "'x' = title", "'x' = title"},
		{"comments", "a = 1 // first\n// whole line\n&& b = 2 // last", "a = 1 && b = 2"},
		{"relation path and modifier", "author.team.name:lower = 'x'", "author.team.name:lower = 'x'"},
		{"request", "@request.auth.id != '' && @request.body.title:isset = true && @request.query.q = @request.headers.x_token",
			"@request.auth.id != '' && @request.body.title:isset = true && @request.query.q = @request.headers.x_token"},
		{"method and context", "@request.method = 'GET' && @request.context != 'oauth2'", "@request.method = 'GET' && @request.context != 'oauth2'"},
		{"collection with alias", "@collection.users:u.email:lower ?= 'x'", "@collection.users:u.email:lower ?= 'x'"},
		{"macros", "created > @now && @hour < 12 && updated >= @todayStart", "created > @now && @hour < 12 && updated >= @todayStart"},
		{"back relation", "comments_via_post.body ?~ 'nice'", "comments_via_post.body ?~ 'nice'"},
		{"modifiers", "tags:each ?= 'a' && tags:length > 1 && @request.body.title:changed = false",
			"tags:each ?= 'a' && tags:length > 1 && @request.body.title:changed = false"},
		{"function", "geoDistance(loc.lon, loc.lat, 13.4, -52) < 25", "geoDistance(loc.lon, loc.lat, 13.4, -52) < 25"},
		{"json index", "meta.items.0.name = 'x'", "meta.items.0.name = 'x'"},
		{"unicode in strings", "title = 'héllo wörld ✓'", "title = 'héllo wörld ✓'"},
		{"empty is true", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := Parse(c.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", c.in, err)
			}
			if got := String(e); got != c.want {
				t.Fatalf("String(Parse(%q))\n got %s\nwant %s", c.in, got, c.want)
			}
			again, err := Parse(String(e))
			if err != nil || !equalExpr(e, again) {
				t.Fatalf("printed form %q parses to a different AST (%v)", String(e), err)
			}
		})
	}
}

func TestParseAST(t *testing.T) {
	e, err := Parse(`author = @request.auth.id && (status = "published" || views >= -2.5) && tags:each ?= true`)
	if err != nil {
		t.Fatal(err)
	}
	want := &Group{Op: And, Items: []Expr{
		&Compare{Left: &Ident{Parts: []string{"author"}, Pos: 0}, Op: Eq, Right: &Ident{Parts: []string{"@request", "auth", "id"}, Pos: 9}, Pos: 7},
		&Group{Op: Or, Items: []Expr{
			&Compare{Left: &Ident{Parts: []string{"status"}, Pos: 30}, Op: Eq, Right: &Literal{Value: "published", Pos: 39}, Pos: 37},
			&Compare{Left: &Ident{Parts: []string{"views"}, Pos: 54}, Op: Gte, Right: &Literal{Value: -2.5, Pos: 63}, Pos: 60},
		}},
		&Compare{Left: &Ident{Parts: []string{"tags"}, Modifier: "each", Pos: 72}, Op: AnyEq, Right: &Literal{Value: true, Pos: 85}, Pos: 82},
	}}
	if !reflect.DeepEqual(e, want) {
		t.Fatalf("got  %#v\nwant %#v", e, want)
	}
	c, err := Parse("@collection.users:u.email = null")
	if err != nil {
		t.Fatal(err)
	}
	id := c.(*Compare).Left.(*Ident)
	if !reflect.DeepEqual(id.Parts, []string{"@collection", "users:u", "email"}) || id.Modifier != "" {
		t.Fatalf("collection ident = %#v", id)
	}
	if lit := c.(*Compare).Right.(*Literal); lit.Value != nil {
		t.Fatalf("null literal = %#v", lit)
	}
	call, err := Parse("geoDistance(a, b, 1, 2) > 3")
	if err != nil {
		t.Fatal(err)
	}
	if cl, ok := call.(*Compare).Left.(*Call); !ok || cl.Name != "geoDistance" || len(cl.Args) != 4 {
		t.Fatalf("call = %#v", call.(*Compare).Left)
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, in, msg string
		pos           int
	}{
		{"dangling and", "title = 'a' && && b = 1", `filter: unexpected "&&" at position 16`, 16},
		{"missing right operand", "title = ", "filter: unexpected end of input at position 9", 9},
		{"missing operator", "title 'a'", "filter: unexpected string 'a' at position 7", 7},
		{"unknown operator", "title == 'a'", `filter: unexpected "=" at position 8`, 8},
		{"single ampersand", "a = 1 & b = 2", `filter: unexpected "&" at position 7`, 7},
		{"unterminated string", "title = 'abc", "filter: unterminated string at position 9", 9},
		{"unterminated double quoted string", `title = "abc\"`, "filter: unterminated string at position 9", 9},
		{"unclosed parenthesis", "(a = 1 || b = 2", "filter: unexpected end of input at position 16", 16},
		{"extra parenthesis", "a = 1)", `filter: unexpected ")" at position 6`, 6},
		{"empty parentheses", "() && a = 1", `filter: unexpected ")" at position 2`, 2},
		{"bad number", "a = 1.2.3", `filter: invalid number "1.2.3" at position 5`, 5},
		{"number with letters", "a = 12abc", `filter: invalid number "12abc" at position 5`, 5},
		{"trailing dot", "a = 1.", `filter: invalid number "1." at position 5`, 5},
		{"lone minus", "a = -", `filter: unexpected "-" at position 5`, 5},
		{"single slash", "a = 1 / 2", `filter: unexpected "/" at position 7`, 7},
		{"unknown character", "a = 1 # x", `filter: unexpected "#" at position 7`, 7},
		{"unicode outside strings", "a = 1 && ä = 2", `filter: unexpected "ä" at position 10`, 10},
		{"unknown modifier", "title:upper = 'a'", `filter: unknown modifier ":upper" in "title:upper" at position 1`, 1},
		{"empty path part", "author..name = 1", `filter: invalid identifier "author..name" at position 1`, 1},
		{"trailing dot in identifier", "author. = 1", `filter: invalid identifier "author." at position 1`, 1},
		{"colon in the middle", "a:each.b = 1", `filter: invalid identifier "a:each.b" at position 1`, 1},
		{"unknown macro", "created > @later", `filter: unknown identifier "@later" at position 11`, 11},
		{"random in a filter", "@random = 1", `filter: unknown identifier "@random" at position 1`, 1},
		{"unknown request key", "@request.cookies.x = 1", `filter: unknown identifier "@request.cookies.x" at position 1`, 1},
		{"request without key", "@request.auth = 1", `filter: invalid identifier "@request.auth" at position 1`, 1},
		{"collection without field", "@collection.users = 1", `filter: invalid identifier "@collection.users" at position 1`, 1},
		{"macro with modifier", "@now:lower = 1", `filter: invalid identifier "@now:lower" at position 1`, 1},
		{"unknown function", "strftime('%Y') = '2024'", `filter: unknown function "strftime" at position 1`, 1},
		{"wrong arity", "geoDistance(1, 2, 3) < 1", "filter: geoDistance expects 4 arguments, got 3 at position 1", 1},
		{"function without comma", "geoDistance(1 2, 3, 4) < 1", "filter: unexpected \"2\" at position 15", 15},
		{"only a comment", "// nothing", "filter: empty expression at position 11", 11},
		{"only spaces", "   ", "filter: empty expression at position 4", 4},
		{"two comparisons without join", "a = 1 b = 2", `filter: unexpected "b" at position 7`, 7},
		{"position counts bytes", "title = 'é' &&", "filter: unexpected end of input at position 16", 16},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := Parse(c.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %s, want error", c.in, String(e))
			}
			ae := apperr.As(err)
			if ae == nil || ae.Code != apperr.Invalid {
				t.Fatalf("want *apperr.Error BAD_USER_INPUT, got %T %v", err, err)
			}
			if ae.Message != c.msg || ae.Pos != c.pos {
				t.Fatalf("got %q (Pos %d)\nwant %q (Pos %d)", ae.Message, ae.Pos, c.msg, c.pos)
			}
		})
	}
}

func TestParseLimits(t *testing.T) {
	t.Run("200 comparisons are fine", func(t *testing.T) {
		src := strings.TrimSuffix(strings.Repeat("a = 1 || ", MaxExprs), " || ")
		if _, err := Parse(src); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("201 comparisons are too many", func(t *testing.T) {
		src := strings.TrimSuffix(strings.Repeat("a=1||", MaxExprs+1), "||")
		_, err := Parse(src)
		if ae := apperr.As(err); ae == nil || !strings.Contains(ae.Message, "too many expressions (max 200)") || ae.Pos != 5*MaxExprs+2 {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("3500 characters are fine", func(t *testing.T) {
		src := "title = '" + strings.Repeat("é", MaxLength-10) + "'"
		if n := len([]rune(src)); n != MaxLength {
			t.Fatalf("test input has %d characters", n)
		}
		if _, err := Parse(src); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("3501 characters are too long", func(t *testing.T) {
		src := "title = '" + strings.Repeat("x", MaxLength-9) + "'"
		_, err := Parse(src)
		if ae := apperr.As(err); ae == nil || ae.Message != "filter: too long (max 3500 characters) at position 3501" {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("nesting up to MaxDepth", func(t *testing.T) {
		src := strings.Repeat("(", MaxDepth) + "a = 1" + strings.Repeat(")", MaxDepth)
		e, err := Parse(src)
		if err != nil || String(e) != "a = 1" {
			t.Fatalf("got %v, %v", e, err)
		}
	})
	t.Run("deeper nesting is refused", func(t *testing.T) {
		for _, n := range []int{MaxDepth + 1, 1500} {
			src := strings.Repeat("(", n) + "a = 1" + strings.Repeat(")", n)
			_, err := Parse(src)
			if ae := apperr.As(err); ae == nil || ae.Code != apperr.Invalid || ae.Pos != MaxDepth+1 ||
				!strings.Contains(ae.Message, "too deeply nested (max 32 levels of parentheses)") {
				t.Fatalf("%d levels: got %v", n, err)
			}
		}
	})
}

func TestParseSort(t *testing.T) {
	items, err := ParseSort(" -created, title ,+author.name,@random,title:lower")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range items {
		s := it.Ident.String()
		if it.Desc {
			s = "-" + s
		}
		got = append(got, s)
	}
	if want := "-created title author.name @random title:lower"; strings.Join(got, " ") != want {
		t.Fatalf("got %v, want %s", got, want)
	}
	if items, err := ParseSort("  "); err != nil || items != nil {
		t.Fatalf("empty sort: %v, %v", items, err)
	}
	for _, c := range []struct{ in, msg string }{
		{"title,", "filter: unexpected end of input at position 7"},
		{",title", `filter: unexpected "," at position 1`},
		{"title desc", `filter: unexpected "desc" at position 7`},
		{"--title", `filter: unexpected "-" at position 2`},
		{"@request.auth.id", `filter: cannot sort by "@request.auth.id" at position 1`},
		{"@now", `filter: cannot sort by "@now" at position 1`},
		{"title; DROP TABLE posts", `filter: unexpected ";" at position 6`},
		{"'title'", "filter: unexpected string 'title' at position 1"},
	} {
		if _, err := ParseSort(c.in); err == nil || apperr.As(err) == nil || apperr.As(err).Message != c.msg {
			t.Errorf("ParseSort(%q) = %v, want %q", c.in, err, c.msg)
		}
	}
}

func TestParseCached(t *testing.T) {
	a, err := ParseCached("views > 1 && title = 'cached'")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := ParseCached("views > 1 && title = 'cached'")
	if a != b {
		t.Fatal("the second call parsed again")
	}
	if _, err := ParseCached("views >"); err == nil {
		t.Fatal("want an error")
	}
	if _, ok := parsed.get("views >"); ok {
		t.Fatal("errors must not be cached")
	}
	for i := range CacheSize + 10 {
		if _, err := ParseCached("n = " + strings.Repeat("1", 1+i%50) + "." + strings.Repeat("2", 1+i/50)); err != nil {
			t.Fatal(err)
		}
	}
	parsed.mu.Lock()
	n := len(parsed.items)
	parsed.mu.Unlock()
	if n != CacheSize {
		t.Fatalf("cache holds %d entries, want %d", n, CacheSize)
	}
}

func TestWalk(t *testing.T) {
	e, _ := Parse("a = 1 && (b.c ?= @request.auth.id || geoDistance(x, y, 1, 2) < 3)")
	var idents []string
	compares := 0
	Walk(e, func(n any) bool {
		switch n := n.(type) {
		case *Ident:
			idents = append(idents, n.String())
		case *Compare:
			compares++
		}
		return true
	})
	if compares != 3 || strings.Join(idents, " ") != "a b.c @request.auth.id x y" {
		t.Fatalf("compares %d, idents %v", compares, idents)
	}
}

// equalExpr compares two ASTs, positions aside.
func equalExpr(a, b Expr) bool {
	switch a := a.(type) {
	case *Group:
		b, ok := b.(*Group)
		if !ok || a.Op != b.Op || len(a.Items) != len(b.Items) {
			return false
		}
		for i := range a.Items {
			if !equalExpr(a.Items[i], b.Items[i]) {
				return false
			}
		}
		return true
	case *Not:
		b, ok := b.(*Not)
		return ok && equalExpr(a.X, b.X)
	case *Compare:
		b, ok := b.(*Compare)
		return ok && a.Op == b.Op && equalOperand(a.Left, b.Left) && equalOperand(a.Right, b.Right)
	}
	return false
}

func equalOperand(a, b Operand) bool {
	switch a := a.(type) {
	case *Ident:
		b, ok := b.(*Ident)
		return ok && a.Modifier == b.Modifier && reflect.DeepEqual(a.Parts, b.Parts)
	case *Literal:
		b, ok := b.(*Literal)
		return ok && a.Value == b.Value
	case *Call:
		b, ok := b.(*Call)
		if !ok || a.Name != b.Name || len(a.Args) != len(b.Args) {
			return false
		}
		for i := range a.Args {
			if !equalOperand(a.Args[i], b.Args[i]) {
				return false
			}
		}
		return true
	}
	return false
}

// FuzzParse checks that Parse never panics, fails only with positioned
// BAD_USER_INPUT errors, and that printing a parsed filter parses back to
// an equal AST. Seeds are in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"author = @request.auth.id && (status = 'published' || public = true)",
		`title ~ "a\"b" // c`, "geoDistance(a.b, c, -1.5, 2) <= 10", "@collection.x:y.z:lower ?!~ null",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		e, err := Parse(src)
		if err != nil {
			ae := apperr.As(err)
			if ae == nil || ae.Code != apperr.Invalid || ae.Pos < 1 || ae.Pos > len(src)+1 && ae.Pos != MaxLength+1 {
				t.Fatalf("Parse(%q): bad error %#v", src, err)
			}
			return
		}
		printed := String(e)
		if len(printed) > MaxLength {
			return // escapes can make the printed form longer than the limit
		}
		again, err := Parse(printed)
		if err != nil {
			t.Fatalf("Parse(%q) printed %q which fails: %v", src, printed, err)
		}
		if !equalExpr(e, again) {
			t.Fatalf("Parse(%q) printed %q which parses to %q", src, printed, String(again))
		}
		if _, err := ParseSort(src); err != nil && apperr.As(err) == nil {
			t.Fatalf("ParseSort(%q): %v", src, err)
		}
	})
}
