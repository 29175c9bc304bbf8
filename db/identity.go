package db

import (
	"context"
	"strings"

	"github.com/monobase/monobase/apperr"
)

// FindAuthRecordByIdentity returns the record of the auth collection c whose
// identity field equals identity, trying fields in order (the collection's
// passwordAuth.identityFields; empty means ["email"]). EMAIL fields compare
// without case. It returns apperr.NotFound when no field matches,
// apperr.Invalid when c is not an auth collection or a field is not one
// of its TEXT or EMAIL fields.
func (d *DB) FindAuthRecordByIdentity(ctx context.Context, c *Collection, fields []string, identity string) (Record, error) {
	if c == nil || !c.IsAuth() {
		return nil, apperr.New(apperr.Invalid, "not an auth collection")
	}
	if len(fields) == 0 {
		fields = []string{"email"}
	}
	identity = strings.TrimSpace(identity)
	for _, name := range fields {
		f := c.FieldByName(name)
		if f == nil || (f.Type != FieldText && f.Type != FieldEmail) {
			return nil, apperr.New(apperr.Invalid, "%s has no identity field %q", c.Name, name)
		}
		if identity == "" {
			continue
		}
		cond := `"r".` + quoteIdent(name) + ` = ?`
		if f.Type == FieldEmail {
			cond = d.sql().foldEq(`"r".` + quoteIdent(name))
		}
		recs, err := d.queryRecords(ctx, c, `SELECT "r".* FROM `+quoteIdent(c.Name)+` AS "r" WHERE `+cond+` LIMIT 1`, identity)
		if err != nil {
			return nil, err
		}
		if len(recs) == 1 {
			return recs[0], nil
		}
	}
	return nil, apperr.New(apperr.NotFound, "no %s record with that identity", c.Name)
}
