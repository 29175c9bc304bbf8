package migrate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/db"
)

// The operations of a JSON migration.
const (
	OpUpsertCollections = "upsertCollections"
	OpDeleteCollection  = "deleteCollection"
	OpCreateRecord      = "createRecord"
	OpUpdateRecord      = "updateRecord"
	OpDeleteRecord      = "deleteRecord"
)

// File is a JSON migration.
type File struct {
	Up   []Op `json:"up"`
	Down []Op `json:"down"`
}

// Op is one operation of a JSON migration (see the package doc).
type Op struct {
	Op          string           `json:"op"`
	Collections []*db.Collection `json:"collections,omitempty"` // upsertCollections
	Collection  string           `json:"collection,omitempty"`  // the others: an id or name
	ID          string           `json:"id,omitempty"`          // updateRecord, deleteRecord (createRecord: optional)
	Record      map[string]any   `json:"record,omitempty"`      // createRecord, updateRecord
}

// nameRe is what a migration name may be: it is also a file name.
var nameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$`)

// checkName returns an error when name can't be a migration's name.
func checkName(name string) error {
	if !nameRe.MatchString(name) {
		return fmt.Errorf("migrate: %q is not a migration name: 1 to 200 letters, digits, _, . or -, starting with a letter or digit", name)
	}
	return nil
}

// ReadFile reads and checks the JSON migration at path: unknown keys,
// unknown operations and missing arguments are errors naming the file.
func ReadFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	var f File
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("migrate: %s: not a migration ({\"up\": [...], \"down\": [...]}): %w", path, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("migrate: %s: data after the migration's object", path)
	}
	for dir, ops := range map[string][]Op{"up": f.Up, "down": f.Down} {
		for i, op := range ops {
			if err := op.check(); err != nil {
				return nil, fmt.Errorf("migrate: %s: %s[%d]: %w", path, dir, i, err)
			}
		}
	}
	return &f, nil
}

func (op *Op) check() error {
	switch op.Op {
	case OpUpsertCollections:
		if len(op.Collections) == 0 {
			return errors.New(`upsertCollections needs "collections"`)
		}
		return nil
	case OpDeleteCollection, OpCreateRecord:
	case OpUpdateRecord, OpDeleteRecord:
		if op.ID == "" {
			return fmt.Errorf(`%s needs "id"`, op.Op)
		}
	default:
		return fmt.Errorf("unknown op %q: want %s, %s, %s, %s or %s", op.Op,
			OpUpsertCollections, OpDeleteCollection, OpCreateRecord, OpUpdateRecord, OpDeleteRecord)
	}
	if op.Collection == "" {
		return fmt.Errorf(`%s needs "collection"`, op.Op)
	}
	return nil
}

// run runs ops in order on tx; the error names the failing operation.
func run(ctx context.Context, tx *Tx, ops []Op) error {
	for i, op := range ops {
		var err error
		switch op.Op {
		case OpUpsertCollections:
			_, err = tx.SaveCollections(op.Collections...)
		case OpDeleteCollection:
			err = tx.DeleteCollection(op.Collection)
		case OpCreateRecord:
			rec := op.Record
			if op.ID != "" {
				rec = withID(rec, op.ID)
			}
			_, err = tx.CreateRecord(op.Collection, rec)
		case OpUpdateRecord:
			_, err = tx.UpdateRecord(op.Collection, op.ID, op.Record)
		case OpDeleteRecord:
			err = tx.DeleteRecord(op.Collection, op.ID)
		default:
			err = op.check()
		}
		if err != nil {
			return fmt.Errorf("op %d (%s): %w", i, op.Op, err)
		}
	}
	return nil
}

func withID(rec map[string]any, id string) map[string]any {
	out := make(map[string]any, len(rec)+1)
	for k, v := range rec {
		out[k] = v
	}
	out["id"] = id
	return out
}

// Create writes an empty JSON migration (up and down with no operations)
// named <unix seconds of now>_<name> into dir, creating dir, and returns
// its path. name is lower-cased, other characters than letters, digits
// and _ become _. It fails when the file exists or name is empty.
func Create(dir, name string, now time.Time) (string, error) {
	slug := slugify(name)
	if slug == "" {
		return "", apperr.New(apperr.Invalid, "a migration needs a name of letters, digits or _")
	}
	full := fmt.Sprintf("%d_%s", now.Unix(), slug)
	if err := checkName(full); err != nil {
		return "", err
	}
	data, err := encode(&fileOut{Up: []opOut{}, Down: []opOut{}})
	if err != nil {
		return "", err
	}
	return writeNew(dir, full, data)
}

// slugify lower-cases name and turns runs of other characters than
// letters, digits and _ into one _.
func slugify(name string) string {
	var b strings.Builder
	under := false
	for _, r := range strings.ToLower(strings.TrimSpace(name)) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '_' {
			b.WriteRune(r)
			under = r == '_'
			continue
		}
		if !under && b.Len() > 0 {
			b.WriteByte('_')
			under = true
		}
	}
	return strings.Trim(b.String(), "_")
}

// writeNew writes data to dir/name.json, which must not exist, through a
// temporary file so that the folder never holds half a migration.
func writeNew(dir, name string, data []byte) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("migrate: create %s: %w", dir, err)
	}
	path := filepath.Join(dir, name+".json")
	tmp, err := os.CreateTemp(dir, "."+name+".*")
	if err != nil {
		return "", fmt.Errorf("migrate: write %s: %w", path, err)
	}
	_, werr := tmp.Write(data)
	if err := errors.Join(werr, tmp.Sync(), tmp.Close()); err != nil {
		_ = os.Remove(tmp.Name())
		return "", fmt.Errorf("migrate: write %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		_ = os.Remove(tmp.Name())
		return "", fmt.Errorf("migrate: write %s: %w", path, err)
	}
	// Link, unlike rename, refuses to replace a file that exists.
	if err := os.Link(tmp.Name(), path); err != nil {
		_ = os.Remove(tmp.Name())
		return "", fmt.Errorf("migrate: write %s: %w", path, err)
	}
	_ = os.Remove(tmp.Name())
	return path, nil
}

// fileOut is File as it is written: definitions without their timestamps.
type fileOut struct {
	Up   []opOut `json:"up"`
	Down []opOut `json:"down"`
}

type opOut struct {
	Op          string   `json:"op"`
	Collections []defOut `json:"collections,omitempty"`
	Collection  string   `json:"collection,omitempty"`
}

// defOut is a collection definition without created and updated, which
// differ on every data folder (the outer fields hide the embedded ones).
type defOut struct {
	*db.Collection
	Created *struct{} `json:"created,omitempty"`
	Updated *struct{} `json:"updated,omitempty"`
}

func encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("migrate: encode: %w", err)
	}
	return buf.Bytes(), nil
}
