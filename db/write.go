package db

// Record writes inside a Tx: Insert, Update and Delete with full
// validation; events are queued for delivery after the commit.

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/lib/pq"
	"github.com/monobase/monobase/apperr"
	"golang.org/x/crypto/bcrypt"
)

// bcryptCost is the cost of password hashes; tests lower it.
var bcryptCost = bcrypt.DefaultCost

// SetPasswordCost sets the bcrypt cost of the password hashes this
// process writes from now on (bcrypt.DefaultCost unless set; clamped to
// bcrypt's range). It is for tools that seed test users into a data
// folder, such as bench/subscribers -seed-owners; the server never calls
// it. A hash records its cost, so any server verifies it.
func SetPasswordCost(cost int) {
	bcryptCost = min(max(cost, bcrypt.MinCost), bcrypt.MaxCost)
}

const validationFailed = "validation failed"

func hashPassword(plain string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(plain), bcryptCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

func writable(c *Collection) error {
	if c == nil {
		return apperr.Wrap(errors.New("write without a collection"), "bad write")
	}
	if c.Type == TypeView {
		return apperr.New(apperr.Invalid, "the view collection %q is read-only", c.Name)
	}
	return nil
}

// isAuthPassword reports whether f is the system password of an auth
// collection (the one with a passwordConfirm input).
func isAuthPassword(c *Collection, f *Field) bool {
	return c.IsAuth() && f.System && f.Name == "password"
}

// checkKeys reports input keys that name no writable field.
func checkKeys(c *Collection, input RecordInput, fe *apperr.FieldErrors) {
	for k := range input {
		if k == "passwordConfirm" && c.IsAuth() {
			continue
		}
		f := c.FieldByName(k)
		switch {
		case f == nil:
			fe.Add(k, "unknown_field", "%s has no field %q", c.Name, k)
		case f.Type == FieldAutodate:
			fe.Add(k, "read_only", "is set automatically")
		}
	}
}

// Insert validates input against c's fields (required, min/max, pattern,
// select values, relation ids exist, email/url format, ...), fills id (or
// checks the client's), created/updated and autodates, hashes passwords, and
// inserts. Bad input returns apperr.Invalid with per-field messages; a
// duplicate id or unique-index clash returns apperr.Invalid on that field.
func (tx *Tx) Insert(c *Collection, input RecordInput) (Record, error) {
	if err := writable(c); err != nil {
		return nil, err
	}
	now := FormatDate(time.Now())
	lim := tx.db.FieldLimits.withDefaults()
	var fe apperr.FieldErrors
	checkKeys(c, input, &fe)
	rec := make(Record, len(c.Fields))
	passwords := map[string]string{}
	idGenerated := false
	for _, f := range c.Fields {
		if _, bad := fe[f.Name]; bad {
			continue
		}
		if f.Type == FieldAutodate {
			if f.OnCreate {
				rec[f.Name] = now
			} else {
				rec[f.Name] = nil
			}
			continue
		}
		v := input[f.Name]
		nv, ferr := normalizeValue(f, v, &lim)
		if ferr != nil {
			fe.Add(f.Name, ferr.Code, "%s", ferr.Message)
			continue
		}
		if isBlank(nv) && f.AutogeneratePattern != "" {
			gen, err := generateFromPattern(f.AutogeneratePattern)
			if err != nil {
				return nil, fmt.Errorf("autogenerate %s: %w", f.Name, err)
			}
			nv = gen
			idGenerated = idGenerated || (f.System && f.Name == "id")
		}
		if nv == nil && f.Type == FieldBool && f.System {
			nv = false // verified, emailVisibility
		}
		if f.Required && isBlank(nv) {
			fe.Add(f.Name, "required", "cannot be blank")
			continue
		}
		if f.Type == FieldPassword && nv != nil {
			passwords[f.Name] = nv.(string)
			if isAuthPassword(c, f) {
				if confirm, _ := input["passwordConfirm"].(string); confirm != nv {
					fe.Add("passwordConfirm", "mismatch", "does not match the password")
				}
			}
		}
		rec[f.Name] = nv
	}
	if len(fe) == 0 {
		tx.checkRelations(c, rec, nil, &fe)
		tx.checkUnique(c, rec, "", idGenerated, &fe)
	}
	if err := fe.Err(validationFailed); err != nil {
		return nil, err
	}
	for name, plain := range passwords {
		h, err := hashPassword(plain)
		if err != nil {
			return nil, err
		}
		rec[name] = h
	}

	cols := make([]string, 0, len(c.Fields))
	marks := make([]string, 0, len(c.Fields))
	args := make([]any, 0, len(c.Fields))
	for _, f := range c.Fields {
		v, err := SQLValue(f, rec[f.Name])
		if err != nil {
			return nil, err
		}
		cols = append(cols, quoteIdent(f.Name))
		marks = append(marks, "?")
		args = append(args, v)
	}
	q := "INSERT INTO " + quoteIdent(c.Name) + " (" + strings.Join(cols, ", ") + ") VALUES (" + strings.Join(marks, ", ") + ")"
	if err := tx.exec(q, args...); err != nil {
		return nil, constraintError(c, err, "insert")
	}
	tx.queue(ActionCreate, c, rec, nil)
	return rec, nil
}

// Update applies patch to the record id of c with the same validation as
// Insert; a missing record is apperr.NotFound.
func (tx *Tx) Update(c *Collection, id string, patch RecordPatch) (Record, error) {
	if err := writable(c); err != nil {
		return nil, err
	}
	old, err := tx.getByID(c, id)
	if err != nil {
		return nil, err
	}
	rec := cloneRecord(old)
	lim := tx.db.FieldLimits.withDefaults()
	var fe apperr.FieldErrors
	checkKeys(c, patch.Set, &fe)
	touched := map[string]bool{}
	passwords := map[string]string{}

	for k, v := range patch.Set {
		f := c.FieldByName(k)
		if f == nil || f.Type == FieldAutodate {
			continue // reported by checkKeys
		}
		if f.System && f.Name == "id" {
			if s, _ := v.(string); s != id {
				fe.Add(k, "read_only", "the id of a record can't change")
			}
			continue
		}
		nv, ferr := normalizeValue(f, v, &lim)
		if ferr != nil {
			fe.Add(k, ferr.Code, "%s", ferr.Message)
			continue
		}
		if f.Required && isBlank(nv) {
			fe.Add(k, "required", "cannot be blank")
			continue
		}
		if f.Type == FieldPassword && nv != nil {
			passwords[k] = nv.(string)
			if isAuthPassword(c, f) {
				if confirm, ok := patch.Set["passwordConfirm"]; ok && confirm != nv {
					fe.Add("passwordConfirm", "mismatch", "does not match the password")
				}
			}
		}
		rec[k] = nv
		touched[k] = true
	}
	for k, delta := range patch.Increment {
		f := c.FieldByName(k)
		if f == nil || f.Type != FieldNumber {
			fe.Add(k, "invalid", "only number fields can be incremented")
			continue
		}
		base, _ := rec[k].(float64)
		nv, ferr := normalizeValue(f, base+delta, &lim)
		if ferr != nil {
			fe.Add(k, ferr.Code, "%s", ferr.Message)
			continue
		}
		rec[k] = nv
		touched[k] = true
	}
	for _, mod := range []struct {
		m      map[string][]string
		remove bool
	}{{patch.Append, false}, {patch.Remove, true}} {
		for k, vals := range mod.m {
			f := c.FieldByName(k)
			if f == nil || !f.Multiple() {
				fe.Add(k, "invalid", "only fields holding several values take append and remove")
				continue
			}
			cur, _ := rec[k].([]string)
			var next []string
			if mod.remove {
				next = slices.DeleteFunc(slices.Clone(cur), func(s string) bool { return slices.Contains(vals, s) })
			} else {
				next = append(slices.Clone(cur), vals...)
			}
			nv, ferr := normalizeValue(f, next, &lim)
			if ferr != nil {
				fe.Add(k, ferr.Code, "%s", ferr.Message)
				continue
			}
			if f.Required && isBlank(nv) {
				fe.Add(k, "required", "cannot be empty")
				continue
			}
			rec[k] = nv
			touched[k] = true
		}
	}
	if len(fe) == 0 {
		tx.checkRelations(c, rec, touched, &fe)
		if touched["email"] {
			tx.checkUnique(c, rec, id, false, &fe)
		}
	}
	if err := fe.Err(validationFailed); err != nil {
		return nil, err
	}
	for name, plain := range passwords {
		h, err := hashPassword(plain)
		if err != nil {
			return nil, err
		}
		rec[name] = h
		if isAuthPassword(c, c.FieldByName(name)) && !touched["tokenKey"] {
			if tk := c.FieldByName("tokenKey"); tk != nil && tk.System {
				gen, err := generateFromPattern(tk.AutogeneratePattern)
				if err != nil {
					return nil, fmt.Errorf("new tokenKey: %w", err)
				}
				rec["tokenKey"] = gen
			}
		}
	}
	now := FormatDate(time.Now())
	for _, f := range c.Fields {
		if f.Type == FieldAutodate && f.OnUpdate {
			rec[f.Name] = now
		}
	}
	if err := tx.writeRow(c, id, rec); err != nil {
		return nil, err
	}
	tx.queue(ActionUpdate, c, rec, old)
	return rec, nil
}

// writeRow stores every column of rec in the row id.
func (tx *Tx) writeRow(c *Collection, id string, rec Record) error {
	sets := make([]string, 0, len(c.Fields))
	args := make([]any, 0, len(c.Fields)+1)
	for _, f := range c.Fields {
		if f.System && f.Name == "id" {
			continue
		}
		v, err := SQLValue(f, rec[f.Name])
		if err != nil {
			return err
		}
		sets = append(sets, quoteIdent(f.Name)+" = ?")
		args = append(args, v)
	}
	args = append(args, id)
	q := "UPDATE " + quoteIdent(c.Name) + " SET " + strings.Join(sets, ", ") + ` WHERE "id" = ?`
	if err := tx.exec(q, args...); err != nil {
		return constraintError(c, err, "update")
	}
	return nil
}

func (tx *Tx) getByID(c *Collection, id string) (Record, error) {
	recs, err := tx.db.queryRecords(tx.ctx, c, `SELECT "r".* FROM `+quoteIdent(c.Name)+` AS "r" WHERE "r"."id" = ?`, id)
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, apperr.New(apperr.NotFound, "%s record %q not found", c.Name, id)
	}
	return recs[0], nil
}

// checkRelations reports relation ids (of the fields in only, or all when
// only is nil) that do not exist in their target collection: one query per
// field.
func (tx *Tx) checkRelations(c *Collection, rec Record, only map[string]bool, fe *apperr.FieldErrors) {
	for _, f := range c.Fields {
		if f.Type != FieldRelation || (only != nil && !only[f.Name]) {
			continue
		}
		var ids []string
		switch v := rec[f.Name].(type) {
		case string:
			ids = []string{v}
		case []string:
			ids = v
		}
		if len(ids) == 0 {
			continue
		}
		target, err := tx.collection(f.Collection)
		if err != nil {
			fe.Add(f.Name, "not_found", "the related collection no longer exists")
			continue
		}
		missing, err := tx.missingID(target, ids)
		if err != nil {
			fe.Add(f.Name, "invalid", "can't check the related records")
			continue
		}
		if missing != "" {
			fe.Add(f.Name, "not_found", "no %s record with id %q", target.Name, missing)
		}
	}
}

// missingID returns the first of ids that names no record of c ("" when
// all exist). It reads the ids only, through prepared statements.
func (tx *Tx) missingID(c *Collection, ids []string) (string, error) {
	if len(ids) == 1 {
		found, err := tx.exists(`SELECT 1 FROM `+quoteIdent(c.Name)+` WHERE "id" = ?`, ids[0])
		if err != nil || found {
			return "", err
		}
		return ids[0], nil
	}
	have := make(map[string]bool, len(ids))
	q := `SELECT "id" FROM ` + quoteIdent(c.Name) + ` WHERE ` + tx.db.sql().inList(`"id"`)
	for start := 0; start < len(ids); start += maxIDsPerQuery {
		chunk := ids[start:min(start+maxIDsPerQuery, len(ids))]
		if err := tx.scanIDs(q, encodeList(chunk), have); err != nil {
			return "", fmt.Errorf("check %s ids: %w", c.Name, err)
		}
	}
	for _, id := range ids {
		if !have[id] {
			return id, nil
		}
	}
	return "", nil
}

// checkUnique reports a taken id (on insert, self == "", when the client
// chose it: a generated id of 15 random characters is left to the primary
// key) and, for auth collections, a taken email (case-insensitive).
func (tx *Tx) checkUnique(c *Collection, rec Record, self string, idGenerated bool, fe *apperr.FieldErrors) {
	if self == "" && !idGenerated {
		// An error here is left to the INSERT, which meets it too.
		if taken, _ := tx.exists(`SELECT 1 FROM `+quoteIdent(c.Name)+` WHERE "id" = ?`, rec.ID()); taken {
			fe.Add("id", "duplicate", "a record with this id already exists")
		}
	}
	if email, _ := rec["email"].(string); c.IsAuth() && email != "" {
		q := `SELECT 1 FROM ` + quoteIdent(c.Name) + ` WHERE ` + tx.db.sql().foldEq(`"email"`) + ` AND "id" != ? LIMIT 1`
		if taken, _ := tx.exists(q, email, self); taken {
			fe.Add("email", "duplicate", "this email is already in use")
		}
	}
}

var uniqueFailedRe = regexp.MustCompile(`UNIQUE constraint failed: ([^()]+?)(?: \(\d+\))?$`)

// isUniqueViolation reports whether err is a unique-constraint failure
// (of either engine).
func isUniqueViolation(err error) bool {
	if pe, ok := errors.AsType[*pq.Error](err); ok {
		return pe.Code == pgUniqueViolation
	}
	return uniqueFailedRe.MatchString(err.Error())
}

// constraintError turns a unique-constraint failure into apperr.Invalid on
// the fields involved; other errors are wrapped.
func constraintError(c *Collection, err error, op string) error {
	if pe, ok := errors.AsType[*pq.Error](err); ok {
		if pe.Code != pgUniqueViolation {
			return fmt.Errorf("%s %s: %w", op, c.Name, err)
		}
		return pgUniqueError(c, pe).Err(validationFailed)
	}
	m := uniqueFailedRe.FindStringSubmatch(err.Error())
	if m == nil {
		return fmt.Errorf("%s %s: %w", op, c.Name, err)
	}
	var fe apperr.FieldErrors
	for _, part := range strings.Split(m[1], ",") {
		part = strings.TrimSpace(part)
		if i := strings.LastIndexByte(part, '.'); i >= 0 {
			part = part[i+1:]
		}
		if strings.HasPrefix(part, "index '") {
			fe.Add("", "duplicate", "the value violates the unique %s", part)
			continue
		}
		fe.Add(part, "duplicate", "this value is already in use")
	}
	return fe.Err(validationFailed)
}

// pgKeyRe matches the detail of a PostgreSQL unique violation:
// Key (col1, col2)=(v1, v2) already exists.
var pgKeyRe = regexp.MustCompile(`^Key \((.+?)\)=\(`)

// pgUniqueError is constraintError's field errors for a PostgreSQL unique
// violation, the same as SQLite's: the primary key and the auth system
// indexes name their column; an index on plain columns names each of them;
// an index on expressions is reported by its name.
func pgUniqueError(c *Collection, pe *pq.Error) apperr.FieldErrors {
	var fe apperr.FieldErrors
	switch name := pe.Constraint; {
	case name == c.Name+"_pkey":
		fe.Add("id", "duplicate", "this value is already in use")
		return fe
	case strings.HasPrefix(name, "_mb_"+c.ID+"_"):
		fe.Add(strings.TrimPrefix(name, "_mb_"+c.ID+"_"), "duplicate", "this value is already in use")
		return fe
	}
	var cols []string
	if m := pgKeyRe.FindStringSubmatch(pe.Detail); m != nil {
		for _, part := range strings.Split(m[1], ", ") {
			col := unquoteIdent(part)
			if c.FieldByName(col) == nil {
				cols = nil
				break
			}
			cols = append(cols, col)
		}
	}
	if cols == nil {
		fe.Add("", "duplicate", "the value violates the unique index '%s'", pe.Constraint)
	}
	for _, col := range cols {
		fe.Add(col, "duplicate", "this value is already in use")
	}
	return fe
}

// Delete deletes the record and returns it as it was. Relations to it are
// handled per their field: cascadeDelete deletes the referencing records,
// otherwise a required single relation refuses the delete (apperr.Invalid)
// and other references are cleared. Missing record: apperr.NotFound.
func (tx *Tx) Delete(c *Collection, id string) (Record, error) {
	if err := writable(c); err != nil {
		return nil, err
	}
	return tx.deleteRec(c, id, map[string]bool{})
}

// deleteRec deletes the record and handles the relations pointing at it:
// cascading deletes, refusing for required relations, clearing others.
func (tx *Tx) deleteRec(c *Collection, id string, visited map[string]bool) (Record, error) {
	visited[c.ID+"/"+id] = true
	rec, err := tx.getByID(c, id)
	if err != nil {
		return nil, err
	}
	var refs []fieldRef
	if s := tx.snapshot(); s != nil {
		refs = s.refs[c.ID]
	}
	for _, ref := range refs {
		rc, f := ref.c, ref.f
		if rc.Type == TypeView {
			continue
		}
		var where string
		if f.Multiple() {
			from, value := tx.db.sql().listValues("r", quoteIdent(f.Name), "v")
			where = `EXISTS (SELECT 1 FROM ` + from + ` WHERE ` + value + ` = ?)`
		} else {
			where = `"r".` + quoteIdent(f.Name) + ` = ?`
		}
		referencing, err := tx.db.queryRecords(tx.ctx, rc, `SELECT "r".* FROM `+quoteIdent(rc.Name)+` AS "r" WHERE `+where, id)
		if err != nil {
			return nil, err
		}
		for _, r := range referencing {
			if visited[rc.ID+"/"+r.ID()] {
				continue
			}
			if f.CascadeDelete {
				if _, err := tx.deleteRec(rc, r.ID(), visited); err != nil {
					return nil, err
				}
				continue
			}
			next := cloneRecord(r)
			if f.Multiple() {
				cur, _ := r[f.Name].([]string)
				next[f.Name] = slices.DeleteFunc(slices.Clone(cur), func(s string) bool { return s == id })
			} else {
				next[f.Name] = nil
			}
			if f.Required && isBlank(next[f.Name]) {
				return nil, apperr.New(apperr.Invalid,
					"can't delete the %s record %q: the %s record %q requires it (%s.%s)", c.Name, id, rc.Name, r.ID(), rc.Name, f.Name)
			}
			now := FormatDate(time.Now())
			for _, af := range rc.Fields {
				if af.Type == FieldAutodate && af.OnUpdate {
					next[af.Name] = now
				}
			}
			if err := tx.writeRow(rc, r.ID(), next); err != nil {
				return nil, err
			}
			tx.queue(ActionUpdate, rc, next, r)
		}
	}
	if err := tx.exec(`DELETE FROM `+quoteIdent(c.Name)+` WHERE "id" = ?`, id); err != nil {
		return nil, fmt.Errorf("delete from %s: %w", c.Name, err)
	}
	if c.IsAuth() {
		if err := deleteAuthState(tx.ctx, tx.Tx.Tx, c, id); err != nil {
			return nil, err
		}
	}
	if err := tx.deleteExternalAuths(c, id); err != nil {
		return nil, err
	}
	tx.queue(ActionDelete, c, rec, rec)
	return rec, nil
}
