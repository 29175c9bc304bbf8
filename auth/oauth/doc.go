// Package oauth is Monobase's OAuth2 sign-in on go-pkgz/auth: it resolves
// the providers of an auth collection from its oauth2 options
// (go-pkgz/auth's named providers, its custom OAuth2/OIDC handler for any
// other name, its dev server for `serve --dev`), runs the browser
// redirect flow at /auth/{collection}/{provider}/login and /callback on
// go-pkgz/auth's handlers (Handler), and does the code exchange of
// <user>AuthWithOAuth2 with PKCE through golang.org/x/oauth2, which
// go-pkgz/auth's handlers cannot do (Provider.Exchange). Both flows give a
// User with the same account id; linking it to a record and issuing
// Monobase's own token is the engine's (dynschema). docs/api.md "OAuth2
// sign-in" says which part is go-pkgz/auth's and why.
//
// It knows no GraphQL and imports no Monobase package but db and apperr.
package oauth
