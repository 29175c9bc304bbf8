package server

// This file starts the settings groups that the server applies itself at
// start (settings.limits) and checks that every stored secret can be read
// with the key the server was given (MONOBASE_ENCRYPTION_KEY).

import (
	"context"
	"errors"
	"fmt"

	"github.com/monobase/monobase/backup"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/dynschema"
	"github.com/monobase/monobase/files"
	"github.com/monobase/monobase/mail"
	"github.com/monobase/monobase/querycost"
	"github.com/monobase/monobase/secrets"
)

// applyLimits puts the stored settings.limits in force on engine; while
// none are saved the engine keeps the limits it was built with. Stored
// limits that are not valid (edited by hand) are logged and left out.
func (c *ServeCommand) applyLimits(ctx context.Context, d *db.DB, engine *dynschema.Engine) error {
	s, err := querycost.LoadLimitSettings(ctx, d, engine.LimitSettings())
	if errors.Is(err, querycost.ErrInvalidLimits) {
		c.logger().Error("the defaults apply until settings.limits are saved again", "err", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("load the limits: %w", err)
	}
	if err := engine.SetLimits(s); err != nil {
		return fmt.Errorf("apply the limits: %w", err)
	}
	return nil
}

// checkSecrets returns an error when a secret stored in the settings
// (smtp.password, s3.secret, backups.s3.secret) cannot be read: encrypted
// at rest while the server has no key or another one. The collections'
// OAuth2 client secrets were checked by db.Open. Other errors of these
// groups are left to the code that reads them.
func checkSecrets(ctx context.Context, d *db.DB) error {
	_, errMail := mail.Load(ctx, d)
	_, errS3 := files.LoadS3Settings(ctx, d)
	_, errBackups := backup.LoadSettings(ctx, d)
	for _, err := range []error{errMail, errS3, errBackups} {
		if errors.Is(err, secrets.ErrNoKey) || errors.Is(err, secrets.ErrWrongKey) {
			return fmt.Errorf("a stored secret cannot be read: %w", err)
		}
	}
	return nil
}
