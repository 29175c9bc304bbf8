package dynschema

import (
	"strings"
)

// collNames are the GraphQL names derived from one collection (docs/api.md "Application
// API"): for "posts" the type Post, the single query post and
// the list query posts.
type collNames struct {
	Type   string // Post
	Single string // post, or postById when singular == plural
	List   string // posts
	// Base is the camelCase singular used for mutation and subscription
	// names (createPost, postChanged) and for derived types.
	Base string
}

// validName reports whether s is a valid GraphQL name (/[_A-Za-z][_0-9A-Za-z]*/)
// that does not start with the reserved "__".
func validName(s string) bool {
	if s == "" || strings.HasPrefix(s, "__") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// namesFor derives the GraphQL names of a collection from its name and its
// overrides. The overrides replace the single and list names; the type name
// is then the PascalCase of the single override.
func namesFor(name, singleOverride, listOverride string) collNames {
	words := strings.Split(name, "_")
	var nonEmpty []string
	for _, w := range words {
		if w != "" {
			nonEmpty = append(nonEmpty, w)
		}
	}
	if len(nonEmpty) == 0 {
		nonEmpty = []string{name}
	}
	singWords := append([]string(nil), nonEmpty...)
	singWords[len(singWords)-1] = singularize(singWords[len(singWords)-1])

	n := collNames{
		Base: camel(singWords),
		List: camel(nonEmpty),
	}
	if singleOverride != "" {
		n.Base = lowerFirst(singleOverride)
	}
	if listOverride != "" {
		n.List = listOverride
	}
	n.Type = upperFirst(n.Base)
	n.Single = n.Base
	if singleOverride != "" {
		n.Single = singleOverride
	}
	if n.Single == n.List {
		n.Single += "ById"
	}
	return n
}

// camel joins words as camelCase: the first word keeps its first letter in
// lower case, the others get an upper-case first letter.
func camel(words []string) string {
	var b strings.Builder
	for i, w := range words {
		if i == 0 {
			b.WriteString(lowerFirst(w))
		} else {
			b.WriteString(upperFirst(w))
		}
	}
	return b.String()
}

// pascal turns a field or collection name into PascalCase, splitting at "_".
func pascal(name string) string {
	var b strings.Builder
	for _, w := range strings.Split(name, "_") {
		b.WriteString(upperFirst(w))
	}
	return b.String()
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	if c := s[0]; c >= 'a' && c <= 'z' {
		return string(c-'a'+'A') + s[1:]
	}
	return s
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	if c := s[0]; c >= 'A' && c <= 'Z' {
		return string(c-'A'+'a') + s[1:]
	}
	return s
}

// irregular plural → singular.
var irregular = map[string]string{
	"people": "person", "men": "man", "women": "woman", "children": "child",
	"mice": "mouse", "geese": "goose", "feet": "foot", "teeth": "tooth",
	"oxen": "ox", "dice": "die", "indices": "index", "vertices": "vertex",
	"matrices": "matrix", "criteria": "criterion", "phenomena": "phenomenon",
	"wives": "wife", "knives": "knife", "lives": "life", "wolves": "wolf",
	"halves": "half", "shelves": "shelf", "leaves": "leaf", "thieves": "thief",
	"loaves": "loaf", "calves": "calf", "selves": "self", "elves": "elf",
	"movies": "movie", "cookies": "cookie", "zombies": "zombie", "ties": "tie",
	"pies": "pie", "lies": "lie", "hippies": "hippie", "rookies": "rookie",
	"heroes": "hero", "potatoes": "potato", "tomatoes": "tomato", "echoes": "echo",
	"vetoes": "veto", "torpedoes": "torpedo",
	"analyses": "analysis", "crises": "crisis", "theses": "thesis",
	"diagnoses": "diagnosis", "bases": "base", "cases": "case",
	"quizzes": "quiz", "statuses": "status", "campuses": "campus",
	"viruses": "virus", "buses": "bus", "bonuses": "bonus", "censuses": "census",
	"focuses": "focus", "geniuses": "genius", "surpluses": "surplus",
	"syllabuses": "syllabus", "apparatuses": "apparatus", "consensuses": "consensus",
	"aliases": "alias", "atlases": "atlas", "canvases": "canvas", "gases": "gas",
	"biases": "bias", "lenses": "lens",
}

// uncountable words (and words already singular) stay as they are.
var uncountable = map[string]bool{
	"news": true, "status": true, "series": true, "species": true, "equipment": true,
	"information": true, "rice": true, "money": true, "fish": true, "sheep": true,
	"deer": true, "data": true, "metadata": true, "media": true, "analytics": true,
	"feedback": true, "staff": true, "software": true, "hardware": true,
	"moose": true, "aircraft": true, "bison": true, "corps": true, "means": true,
	"chassis": true, "physics": true, "mathematics": true, "economics": true,
	"ethics": true, "politics": true, "gps": true, "sms": true, "bus": true,
	"gas": true, "alias": true, "canvas": true, "atlas": true, "lens": true,
	"bias": true, "campus": true, "virus": true, "bonus": true, "census": true,
	"focus": true, "genius": true, "axis": true, "basis": true, "thesis": true,
	"crisis": true, "analysis": true, "diagnosis": true, "auth": true,
}

// singularize returns the English singular of one lower-case word, with a
// small rule set that covers the usual collection names (posts, categories,
// boxes, people, statuses). Unknown words ending in a consonant + "s" lose
// the "s"; words that do not look plural are returned unchanged.
func singularize(word string) string {
	lw := strings.ToLower(word)
	if uncountable[lw] {
		return word
	}
	if s, ok := irregular[lw]; ok {
		return keepCase(word, s)
	}
	n := len(lw)
	switch {
	case n > 3 && strings.HasSuffix(lw, "ies"):
		return word[:n-3] + "y"
	case n > 4 && (strings.HasSuffix(lw, "sses") || strings.HasSuffix(lw, "shes") ||
		strings.HasSuffix(lw, "ches") || strings.HasSuffix(lw, "xes") ||
		strings.HasSuffix(lw, "zzes")):
		return word[:n-2]
	case n > 3 && strings.HasSuffix(lw, "xes"):
		return word[:n-2]
	case strings.HasSuffix(lw, "ss"), strings.HasSuffix(lw, "us"), strings.HasSuffix(lw, "is"):
		return word
	case n > 1 && strings.HasSuffix(lw, "s"):
		return word[:n-1]
	}
	return word
}

// keepCase returns s with the first letter in the case of word's.
func keepCase(word, s string) string {
	if word != "" && word[0] >= 'A' && word[0] <= 'Z' {
		return upperFirst(s)
	}
	return s
}
